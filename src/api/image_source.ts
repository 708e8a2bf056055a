/**
 * Where `predict`'s image inputs come from in Node: a path or `file:` URL is read from the file
 * system (imported on first use). The browser build swaps this module for ./image_source.browser.ts
 * (package.json `browser`), which fetches URLs and draws the browser's image objects.
 */
import type { RawImage } from './images.js';

/** The bytes of the image a path or URL names. */
export async function readImageBytes(input: string | URL, what: string): Promise<Uint8Array> {
  const { readFile } = await import('node:fs/promises');
  try {
    return new Uint8Array(await readFile(input));
  } catch (err) {
    throw new Error(`cannot read image '${what}': ${(err as Error).message}`, { cause: err });
  }
}

/**
 * The pixels of a host image object (the browser's ImageBitmap, <img>, <canvas>, <video>,
 * ImageData), or null when `input` is none of them. Node has none.
 */
export function hostImagePixels(_input: object, _channels: 1 | 3): RawImage | null {
  return null;
}
