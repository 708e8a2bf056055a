/**
 * JSON as Python's `json` module reads and writes it: besides standard JSON, the bare literals
 * `NaN`, `Infinity` and `-Infinity` (what `json.dump` writes for non-finite floats by default, and
 * what `json.load`, hence pycocotools' loadRes, reads back). JavaScript's JSON.parse rejects them
 * and JSON.stringify writes `null` for them.
 */

/** Placeholder strings standing for the literals while JSON.parse/stringify run. */
const TOKENS: Record<string, number> = {
  NaN: Number.NaN,
  Infinity: Number.POSITIVE_INFINITY,
  '-Infinity': Number.NEGATIVE_INFINITY,
};
const MARK = '\u0000vg-non-finite:';

/**
 * Rewrites the bare literals outside strings into placeholder strings; null when there are none
 * (the text is then parsed as it is, so error positions stay exact).
 */
function rewriteLiterals(text: string): string | null {
  if (!/NaN|Infinity/.test(text)) return null;
  let out = '';
  let last = 0;
  let replaced = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      // Skip the string, honouring escapes.
      for (i++; i < text.length && text.charCodeAt(i) !== 0x22; i++) {
        if (text.charCodeAt(i) === 0x5c /* \ */) i++;
      }
      continue;
    }
    if (c !== 0x4e /* N */ && c !== 0x49 /* I */ && c !== 0x2d /* - */) continue;
    for (const literal of ['-Infinity', 'Infinity', 'NaN']) {
      if (text.startsWith(literal, i)) {
        out += `${text.slice(last, i)}"\\u0000vg-non-finite:${literal}"`;
        i += literal.length - 1;
        last = i + 1;
        replaced = true;
        break;
      }
    }
  }
  return replaced ? out + text.slice(last) : null;
}

/** Parses JSON text that may hold Python's NaN / Infinity / -Infinity literals. */
export function parsePythonJson(text: string): unknown {
  const rewritten = rewriteLiterals(text);
  if (rewritten === null) return JSON.parse(text);
  return JSON.parse(rewritten, (_key, value: unknown) =>
    typeof value === 'string' && value.startsWith(MARK) ? TOKENS[value.slice(MARK.length)] : value,
  );
}

/** JSON text as Python's `json.dumps` writes it: non-finite numbers as NaN / Infinity / -Infinity. */
export function stringifyPythonJson(value: unknown, indent?: number): string {
  let nonFinite = false;
  const text = JSON.stringify(
    value,
    (_key, v: unknown) => {
      if (typeof v === 'number' && !Number.isFinite(v)) {
        nonFinite = true;
        return `${MARK}${Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity'}`;
      }
      return v;
    },
    indent,
  );
  if (!nonFinite) return text;
  return text.replace(/"\\u0000vg-non-finite:(NaN|Infinity|-Infinity)"/g, '$1');
}
