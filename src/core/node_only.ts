/**
 * The one error of every Node-only function in the browser build (the `*.browser.ts` twins that
 * package.json `browser` puts in place of Node-only modules).
 */
export function nodeOnly(what: string, hint = ''): never {
  throw new Error(`${what} needs Node: not available in the browser${hint ? ` (${hint})` : ''}`);
}
