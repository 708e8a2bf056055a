/**
 * COCO run-length encoding of binary masks, bit-compatible with pycocotools (common/maskApi.c).
 *
 * An {@link Rle} covers an image of `h` rows and `w` columns, scanned in COLUMN-MAJOR order
 * (down the first column, then the second, ...). `counts` alternates run lengths of 0s and 1s,
 * starting with 0s (a mask starting with a 1 has a leading 0 count). The counts sum to h*w.
 *
 * The compressed string form (`{"size": [h, w], "counts": "..."}` in COCO JSON) stores each count,
 * from the fourth on as a difference to the count two places before, in a LEB128-like code of
 * 5 data bits per character, character codes 48..111.
 */

/** A run-length-encoded binary mask; counts are column-major runs starting with 0s. */
export interface Rle {
  readonly h: number;
  readonly w: number;
  readonly counts: Uint32Array;
}

/** Error for an RLE that cannot describe a mask (bad characters, wrong total, bad size). */
export class RleError extends Error {
  override name = 'RleError';
}

function checkSize(h: number, w: number, what: string): void {
  if (!Number.isInteger(h) || !Number.isInteger(w) || h < 0 || w < 0) {
    throw new RleError(`${what}: size must be two non-negative integers [h, w], got [${h}, ${w}]`);
  }
}

/**
 * Encodes a binary mask. `mask` holds h*w values (non-zero = foreground) in row-major order
 * `[h, w]` (the default) or column-major order (`order: 'col'`, pycocotools' Fortran layout).
 */
export function encodeMask(
  mask: ArrayLike<number>,
  h: number,
  w: number,
  order: 'row' | 'col' = 'row',
): Rle {
  checkSize(h, w, 'encodeMask');
  const n = h * w;
  if (mask.length !== n) {
    throw new RleError(`encodeMask: mask has ${mask.length} values, expected h*w = ${n}`);
  }
  const runs: number[] = [];
  let prev = 0;
  let run = 0;
  for (let x = 0; x < w; x++) {
    for (let y = 0; y < h; y++) {
      const v = (order === 'row' ? mask[y * w + x] : mask[x * h + y]) !== 0 ? 1 : 0;
      if (v !== prev) {
        runs.push(run);
        run = 0;
        prev = v;
      }
      run++;
    }
  }
  runs.push(run);
  return { h, w, counts: Uint32Array.from(runs) };
}

/** Decodes to a row-major `[h, w]` Uint8Array of 0/1. Throws if the runs overflow h*w. */
export function decodeMask(rle: Rle): Uint8Array {
  const { h, w, counts } = rle;
  const out = new Uint8Array(h * w);
  let pos = 0;
  let v = 0;
  for (let j = 0; j < counts.length; j++) {
    const c = counts[j];
    if (pos + c > h * w) {
      throw new RleError(`decodeMask: runs exceed the mask size ${h}x${w} (invalid RLE)`);
    }
    if (v) {
      for (let k = pos; k < pos + c; k++) {
        const y = k % h;
        out[y * w + (k - y) / h] = 1;
      }
    }
    pos += c;
    v ^= 1;
  }
  return out;
}

/** Foreground pixel count (sum of the odd-indexed runs), as maskApi's rleArea. */
export function rleArea(rle: Rle): number {
  let a = 0;
  const c = rle.counts;
  for (let j = 1; j < c.length; j += 2) a += c[j];
  return a;
}

/**
 * Tight box `[x, y, w, h]` of the foreground, as pycocotools 2.0.11's rleToBbox (which fixed the
 * older implementation's column-crossing test). An RLE with fewer than two runs gives [0,0,0,0].
 * Arithmetic is unsigned 32-bit as in C (a mask whose foreground runs are all empty wraps).
 */
export function rleToBbox(rle: Rle): [number, number, number, number] {
  const h = rle.h >>> 0;
  const w = rle.w >>> 0;
  const c = rle.counts;
  const m = c.length - (c.length % 2);
  if (m === 0) return [0, 0, 0, 0];
  let xs = w;
  let ys = h;
  let xe = 0;
  let ye = 0;
  let cc = 0;
  for (let j = 0; j < m; j++) {
    const start = cc;
    cc = (cc + c[j]) >>> 0;
    if (j % 2 === 0 || c[j] === 0) continue;
    const yStart = start % h;
    const xStart = (start - yStart) / h;
    const yEnd = (cc - 1) % h;
    const xEnd = (cc - 1 - yEnd) / h;
    if (xStart < xs) xs = xStart;
    if (xEnd > xe) xe = xEnd;
    if (xStart < xEnd) {
      ys = 0;
      ye = h - 1;
    } else {
      if (yStart < ys) ys = yStart;
      if (yEnd > ye) ye = yEnd;
    }
  }
  return [xs, ys, (xe - xs + 1) >>> 0, (ye - ys + 1) >>> 0];
}

/**
 * Union (default) or intersection of RLEs of one size, as maskApi's rleMerge. Zero RLEs give an
 * empty 0x0 RLE; RLEs of different sizes are an error (maskApi silently returns an empty RLE).
 */
export function mergeRles(rles: readonly Rle[], intersect = false): Rle {
  if (rles.length === 0) return { h: 0, w: 0, counts: new Uint32Array(0) };
  const { h, w } = rles[0];
  if (rles.length === 1) return { h, w, counts: rles[0].counts.slice() };
  let cnts: number[] = Array.from(rles[0].counts);
  for (let i = 1; i < rles.length; i++) {
    const B = rles[i];
    if (B.h !== h || B.w !== w) {
      throw new RleError(`mergeRles: RLE ${i} is ${B.h}x${B.w}, RLE 0 is ${h}x${w}`);
    }
    const A = cnts;
    const out: number[] = [];
    let ca = A.length ? A[0] : 0;
    let cb = B.counts.length ? B.counts[0] : 0;
    let v = 0;
    let va = 0;
    let vb = 0;
    let a = 1;
    let b = 1;
    let cc = 0;
    let ct = 1;
    while (ct > 0) {
      const c = Math.min(ca, cb);
      cc += c;
      ct = 0;
      ca -= c;
      if (!ca && a < A.length) {
        ca = A[a++];
        va ^= 1;
      }
      ct += ca;
      cb -= c;
      if (!cb && b < B.counts.length) {
        cb = B.counts[b++];
        vb ^= 1;
      }
      ct += cb;
      const vp = v;
      v = intersect ? va & vb : va | vb;
      if (v !== vp || ct === 0) {
        out.push(cc);
        cc = 0;
      }
    }
    cnts = out;
  }
  return { h, w, counts: Uint32Array.from(cnts) };
}

/** Compressed COCO string of an RLE (maskApi's rleToString). */
export function rleToString(rle: Rle): string {
  const c = rle.counts;
  const chars: number[] = [];
  for (let i = 0; i < c.length; i++) {
    // Counts are below 2^32, differences above -2^32: exact in doubles; shift by division.
    let x = c[i] - (i > 2 ? c[i - 2] : 0);
    let more = true;
    while (more) {
      let ch = x & 0x1f; // low 5 bits of the two's complement value
      x = Math.floor(x / 32);
      more = ch & 0x10 ? x !== -1 : x !== 0;
      if (more) ch |= 0x20;
      chars.push(ch + 48);
    }
  }
  return String.fromCharCode(...chars);
}

/**
 * Parses the compressed COCO string form (maskApi's rleFrString). Throws {@link RleError} on a
 * character outside 48..111, a truncated final count, or a count outside 0..2^32-1.
 */
export function rleFromString(s: string, h: number, w: number): Rle {
  checkSize(h, w, 'rleFromString');
  const counts: number[] = [];
  let p = 0;
  while (p < s.length) {
    let x = 0;
    let more = true;
    let mul = 1;
    while (more) {
      if (p >= s.length) {
        throw new RleError(`compressed RLE counts end inside a value at character ${p}`);
      }
      const code = s.charCodeAt(p) - 48;
      if (code < 0 || code > 63) {
        throw new RleError(
          `compressed RLE counts contain an invalid character '${s[p]}' at position ${p}`,
        );
      }
      x += (code & 0x1f) * mul;
      mul *= 32;
      more = (code & 0x20) !== 0;
      p++;
      if (!more && code & 0x10) x -= mul; // sign-extend
    }
    const m = counts.length;
    if (m > 2) x += counts[m - 2];
    if (x < 0 || x > 0xffffffff) {
      throw new RleError(`compressed RLE count ${m} decodes to ${x}, outside 0..2^32-1`);
    }
    counts.push(x);
  }
  return { h, w, counts: Uint32Array.from(counts) };
}

/** Builds an RLE from COCO's uncompressed form (`counts` = list of run lengths). */
export function rleFromCounts(counts: ArrayLike<number>, h: number, w: number): Rle {
  checkSize(h, w, 'rleFromCounts');
  const out = new Uint32Array(counts.length);
  for (let i = 0; i < counts.length; i++) {
    const c = counts[i];
    if (!Number.isInteger(c) || c < 0 || c > 0xffffffff) {
      throw new RleError(`uncompressed RLE count ${i} is ${c}; counts must be integers >= 0`);
    }
    out[i] = c;
  }
  return { h, w, counts: out };
}

/** Throws {@link RleError} unless the runs sum to exactly h*w. `what` names the entry. */
export function checkRleTotal(rle: Rle, what: string): void {
  let total = 0;
  for (let i = 0; i < rle.counts.length; i++) total += rle.counts[i];
  if (total !== rle.h * rle.w) {
    throw new RleError(
      `${what}: RLE runs sum to ${total}, but size [${rle.h}, ${rle.w}] has ${rle.h * rle.w} pixels`,
    );
  }
}
