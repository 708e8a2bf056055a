/**
 * IoU of boxes and of RLE masks with COCO crowd semantics (maskApi.c bbIou / rleIou): against a
 * crowd ground truth the IoU is intersection / area(detection). Results are written into a
 * caller-provided Float64Array laid out `[numDt, numGt]` row-major (pycocotools returns the same
 * matrix as `iou[d, g]`).
 */
import { type Rle, rleArea, rleToBbox } from './rle.js';

/** C's fmin/fmax (maskApi.c uses them): a NaN argument yields the other one. */
function fmin(a: number, b: number): number {
  return Number.isNaN(a) ? b : Number.isNaN(b) ? a : Math.min(a, b);
}
function fmax(a: number, b: number): number {
  return Number.isNaN(a) ? b : Number.isNaN(b) ? a : Math.max(a, b);
}

/**
 * Box IoU. `dt` and `gt` are flat `[x, y, w, h]` arrays (4 numbers per box); `iscrowd[g]` non-zero
 * marks a crowd GT. Writes `out[d * numGt + g]`; boxes that do not overlap give 0.
 */
export function bboxIou(
  dt: ArrayLike<number>,
  gt: ArrayLike<number>,
  iscrowd: ArrayLike<number> | null,
  out: Float64Array = new Float64Array((dt.length / 4) * (gt.length / 4)),
): Float64Array {
  const m = dt.length / 4;
  const n = gt.length / 4;
  for (let g = 0; g < n; g++) {
    const gx = gt[g * 4];
    const gy = gt[g * 4 + 1];
    const gw = gt[g * 4 + 2];
    const gh = gt[g * 4 + 3];
    const ga = gw * gh;
    const crowd = iscrowd !== null && iscrowd[g] !== 0;
    for (let d = 0; d < m; d++) {
      const dx = dt[d * 4];
      const dy = dt[d * 4 + 1];
      const dw = dt[d * 4 + 2];
      const dh = dt[d * 4 + 3];
      const o = d * n + g;
      out[o] = 0;
      const iw = fmin(dw + dx, gw + gx) - fmax(dx, gx);
      if (iw <= 0) continue;
      const ih = fmin(dh + dy, gh + gy) - fmax(dy, gy);
      if (ih <= 0) continue;
      const da = dw * dh;
      const i = iw * ih;
      out[o] = i / (crowd ? da : da + ga - i);
    }
  }
  return out;
}

/** Intersection and union pixel counts of two RLEs of the same size. */
export function rleIntersectionUnion(a: Rle, b: Rle): { intersection: number; union: number } {
  const A = a.counts;
  const B = b.counts;
  let ca = A.length ? A[0] : 0;
  let cb = B.length ? B[0] : 0;
  let va = false;
  let vb = false;
  let ia = 1;
  let ib = 1;
  let inter = 0;
  let union = 0;
  let ct = 1;
  while (ct > 0) {
    const c = ca < cb ? ca : cb;
    if (va || vb) {
      union += c;
      if (va && vb) inter += c;
    }
    ct = 0;
    ca -= c;
    if (!ca && ia < A.length) {
      ca = A[ia++];
      va = !va;
    }
    ct += ca;
    cb -= c;
    if (!cb && ib < B.length) {
      cb = B[ib++];
      vb = !vb;
    }
    ct += cb;
  }
  return { intersection: inter, union };
}

/**
 * Mask IoU as pycocotools: pairs whose tight boxes do not overlap are 0 without decoding; pairs
 * of different canvas sizes are -1; crowd GT uses the detection's area as denominator.
 * `dtBoxes`/`gtBoxes` may pass precomputed {@link rleToBbox} boxes (flat, 4 per mask).
 */
export function rleIou(
  dt: readonly Rle[],
  gt: readonly Rle[],
  iscrowd: ArrayLike<number> | null,
  out: Float64Array = new Float64Array(dt.length * gt.length),
  dtBoxes?: ArrayLike<number>,
  gtBoxes?: ArrayLike<number>,
): Float64Array {
  const m = dt.length;
  const n = gt.length;
  const db = dtBoxes ?? dt.flatMap((r) => rleToBbox(r));
  const gb = gtBoxes ?? gt.flatMap((r) => rleToBbox(r));
  bboxIou(db, gb, iscrowd, out);
  for (let g = 0; g < n; g++) {
    const crowd = iscrowd !== null && iscrowd[g] !== 0;
    for (let d = 0; d < m; d++) {
      const o = d * n + g;
      if (!(out[o] > 0)) continue;
      if (dt[d].h !== gt[g].h || dt[d].w !== gt[g].w) {
        out[o] = -1;
        continue;
      }
      const { intersection, union } = rleIntersectionUnion(dt[d], gt[g]);
      const denom = intersection === 0 ? 1 : crowd ? rleArea(dt[d]) : union;
      out[o] = intersection / denom;
    }
  }
  return out;
}
