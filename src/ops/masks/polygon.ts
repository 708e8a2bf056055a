/**
 * Polygon and box rasterisation to COCO RLE, pixel-identical to pycocotools (maskApi.c
 * rleFrPoly / rleFrBbox): the outline is upsampled 5x, walked with integer DDA steps, and the
 * crossings of the pixel-column centres give the run boundaries.
 */
import { type Rle, RleError } from './rle.js';

/** C `(int)(v)` for the doubles used here: truncation toward zero. */
const truncInt = (v: number): number => Math.trunc(v);

/**
 * Rasterises one polygon `[x1, y1, x2, y2, ...]` (pixel coordinates, x right, y down) on an
 * h x w canvas. An odd trailing coordinate is ignored, as in pycocotools (`len(p)/2` points).
 */
export function rleFromPolygon(xy: ArrayLike<number>, h: number, w: number): Rle {
  const k = Math.floor(xy.length / 2);
  if (k === 0) throw new RleError('rleFromPolygon: polygon has no points');
  for (let i = 0; i < 2 * k; i++) {
    if (!Number.isFinite(xy[i])) {
      throw new RleError(`rleFromPolygon: coordinate ${i} is ${xy[i]}, expected a finite number`);
    }
  }
  const scale = 5;
  const x = new Int32Array(k + 1);
  const y = new Int32Array(k + 1);
  for (let j = 0; j < k; j++) x[j] = truncInt(scale * xy[j * 2] + 0.5);
  x[k] = x[0];
  for (let j = 0; j < k; j++) y[j] = truncInt(scale * xy[j * 2 + 1] + 0.5);
  y[k] = y[0];
  let m = 0;
  for (let j = 0; j < k; j++)
    m += Math.max(Math.abs(x[j] - x[j + 1]), Math.abs(y[j] - y[j + 1])) + 1;
  const u = new Int32Array(m);
  const v = new Int32Array(m);
  m = 0;
  for (let j = 0; j < k; j++) {
    let xs = x[j];
    let xe = x[j + 1];
    let ys = y[j];
    let ye = y[j + 1];
    const dx = Math.abs(xe - xs);
    const dy = Math.abs(ys - ye);
    const flip = (dx >= dy && xs > xe) || (dx < dy && ys > ye);
    if (flip) {
      let t = xs;
      xs = xe;
      xe = t;
      t = ys;
      ys = ye;
      ye = t;
    }
    const s = dx >= dy ? (ye - ys) / dx : (xe - xs) / dy;
    if (dx >= dy) {
      for (let d = 0; d <= dx; d++) {
        const t = flip ? dx - d : d;
        u[m] = t + xs;
        v[m] = truncInt(ys + s * t + 0.5);
        m++;
      }
    } else {
      for (let d = 0; d <= dy; d++) {
        const t = flip ? dy - d : d;
        v[m] = t + ys;
        u[m] = truncInt(xs + s * t + 0.5);
        m++;
      }
    }
  }
  // Points where the outline crosses a column centre, downsampled to pixel units.
  const n = m;
  const bx: number[] = [];
  const by: number[] = [];
  for (let j = 1; j < n; j++) {
    if (u[j] === u[j - 1]) continue;
    let xd = u[j] < u[j - 1] ? u[j] : u[j] - 1;
    xd = (xd + 0.5) / scale - 0.5;
    if (Math.floor(xd) !== xd || xd < 0 || xd > w - 1) continue;
    let yd = v[j] < v[j - 1] ? v[j] : v[j - 1];
    yd = (yd + 0.5) / scale - 0.5;
    if (yd < 0) yd = 0;
    else if (yd > h) yd = h;
    yd = Math.ceil(yd);
    bx.push(xd);
    by.push(yd);
  }
  // Column-major pixel indices of the boundaries, sorted, turned into run lengths.
  const a = new Uint32Array(bx.length + 1);
  for (let j = 0; j < bx.length; j++) a[j] = (bx[j] * h + by[j]) >>> 0;
  a[bx.length] = (h * w) >>> 0;
  a.sort();
  let p = 0;
  for (let j = 0; j < a.length; j++) {
    const t = a[j];
    a[j] = (a[j] - p) >>> 0;
    p = t;
  }
  const b: number[] = [];
  let j = 0;
  b.push(a[j++]);
  while (j < a.length) {
    if (a[j] > 0) b.push(a[j++]);
    else {
      j++;
      if (j < a.length) b[b.length - 1] += a[j++];
    }
  }
  return { h, w, counts: Uint32Array.from(b) };
}

/** Rasterises a box `[x, y, w, h]` as its 4-corner polygon (maskApi's rleFrBbox). */
export function rleFromBbox(bb: ArrayLike<number>, h: number, w: number): Rle {
  const xs = bb[0];
  const xe = xs + bb[2];
  const ys = bb[1];
  const ye = ys + bb[3];
  return rleFromPolygon([xs, ys, xs, ye, xe, ye, xe, ys], h, w);
}
