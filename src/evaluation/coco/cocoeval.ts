/**
 * COCO detection / instance-segmentation evaluation that reproduces pycocotools' COCOeval
 * (PythonAPI/pycocotools/cocoeval.py, 2.0.11) number for number:
 *
 * evaluate()   per image and category: detections sorted by score with a STABLE sort and capped
 *              at maxDets[-1]; ground truth sorted with ignored (crowd or out-of-area) last;
 *              greedy matching per IoU threshold (best IoU >= min(t, 1-1e-10); a crowd GT can
 *              absorb many detections; a detection matched to an ignored GT is ignored; an
 *              unmatched detection outside the area range is ignored).
 * accumulate() per category / area / maxDets: detections of all images (in sorted image-id
 *              order) stable-sorted by score, cumulative TP/FP, precision made monotone, and
 *              sampled at 101 recall thresholds with a left `searchsorted`.
 * summarize()  the 12 statistics: means of the entries > -1 (numpy's pairwise summation order).
 *
 * Data are kept in typed arrays; detection states are one byte per (area, threshold, dt).
 */
import { bboxIou, rleIou } from '../../ops/masks/iou.js';
import { rleFromBbox } from '../../ops/masks/polygon.js';
import { type Rle, rleToBbox } from '../../ops/masks/rle.js';
import { segmentationToRle } from '../../ops/masks/coco_segmentation.js';
import type { AnnotationArrays, CocoGroundTruth, ImageId } from './dataset.js';
import { CocoFormatError } from './dataset.js';
import { type CocoEvalParams, defaultParams, type IouType, STAT_DEFINITIONS } from './params.js';

/** numpy `np.spacing(1)`: the gap from 1.0 to the next double. */
const EPS = 2.220446049250313e-16;

/** Detection state codes per (area range, IoU threshold). */
const FP = 0;
const TP = 1;
const IGNORED = 2;

/** numpy's pairwise summation (float64 `add.reduce` on a contiguous array). */
export function pairwiseSum(a: ArrayLike<number>, start = 0, n = a.length): number {
  if (n < 8) {
    let res = 0;
    for (let i = 0; i < n; i++) res += a[start + i];
    return res;
  }
  if (n <= 128) {
    const r = [0, 0, 0, 0, 0, 0, 0, 0];
    for (let j = 0; j < 8; j++) r[j] = a[start + j];
    let i = 8;
    for (; i < n - (n % 8); i += 8) for (let j = 0; j < 8; j++) r[j] += a[start + i + j];
    let res = r[0] + r[1] + (r[2] + r[3]) + (r[4] + r[5] + (r[6] + r[7]));
    for (; i < n; i++) res += a[start + i];
    return res;
  }
  let n2 = Math.floor(n / 2);
  n2 -= n2 % 8;
  return pairwiseSum(a, start, n2) + pairwiseSum(a, start + n2, n - n2);
}

/** Mean of the entries > -1, or -1 when there are none (COCOeval `_summarize`). */
export function meanValid(values: readonly number[]): number {
  const v = values.filter((x) => x > -1);
  return v.length === 0 ? -1 : pairwiseSum(v) / v.length;
}

/**
 * Order of numpy's `argsort(-scores, kind='mergesort')` as a comparator (ties: 0, the caller
 * breaks them by position): higher scores first, +Infinity before every finite score, -Infinity
 * after, and NaN last (numpy sorts NaN to the end).
 */
export function byDescendingScore(a: number, b: number): number {
  const an = Number.isNaN(a);
  const bn = Number.isNaN(b);
  if (an || bn) return an === bn ? 0 : an ? 1 : -1;
  return a > b ? -1 : a < b ? 1 : 0;
}

export class CocoEval {
  readonly params: CocoEvalParams;
  /** Evaluated image ids (sorted) and their ground-truth indices. */
  readonly imgIds: ImageId[];
  private readonly imgSel: Int32Array;
  readonly T: number;
  readonly R: number;
  readonly K: number;
  readonly A: number;
  readonly M: number;
  /** Precision `[T, R, K, A, M]`, -1 where a setting has no ground truth. */
  precision: Float64Array;
  /** Maximum recall `[T, K, A, M]`, -1 where a setting has no ground truth. */
  recall: Float64Array;
  /** Score at each precision sample `[T, R, K, A, M]`. */
  scores: Float64Array;
  /** The 12 statistics (after {@link summarize}). */
  stats: number[] = [];

  // evaluate() output, grouped by category then image.
  private catEntryStart = new Int32Array(0);
  private entryD = new Int32Array(0);
  private entryStateOffset = new Float64Array(0);
  private entryDtStart = new Int32Array(0);
  private sortedDt = new Int32Array(0);
  private states = new Uint8Array(0);
  private npig = new Int32Array(0);
  private evaluated = false;
  private accumulated = false;

  constructor(
    readonly gt: CocoGroundTruth,
    readonly dt: AnnotationArrays,
    iouType: IouType = 'segm',
    params: Partial<CocoEvalParams> = {},
  ) {
    this.params = { ...defaultParams(iouType), ...params, iouType };
    this.params.maxDets = [...this.params.maxDets].sort((a, b) => a - b);
    if (this.params.areaRng.length !== this.params.areaRngLbl.length) {
      throw new Error('CocoEval: areaRng and areaRngLbl must have the same length');
    }
    let sel: number[];
    if (this.params.imgIds) {
      const idx = new Set<number>();
      for (const id of this.params.imgIds) {
        const i = gt.imgIndex.get(id);
        if (i === undefined)
          throw new CocoFormatError(`params.imgIds: image id ${id} is not in the ground truth`);
        idx.add(i);
      }
      sel = [...idx].sort((a, b) => a - b);
    } else {
      sel = gt.imgIds.map((_, i) => i);
    }
    this.imgSel = Int32Array.from(sel);
    this.imgIds = sel.map((i) => gt.imgIds[i]);
    this.T = this.params.iouThrs.length;
    this.R = this.params.recThrs.length;
    this.K = gt.catIds.length;
    this.A = this.params.areaRng.length;
    this.M = this.params.maxDets.length;
    this.precision = new Float64Array(this.T * this.R * this.K * this.A * this.M).fill(-1);
    this.recall = new Float64Array(this.T * this.K * this.A * this.M).fill(-1);
    this.scores = new Float64Array(this.T * this.R * this.K * this.A * this.M).fill(-1);
  }

  /** Buckets annotations by (evaluated image position, category): CSR start + items. */
  private bucket(
    ann: AnnotationArrays,
    imgPos: Int32Array,
  ): { start: Int32Array; items: Int32Array } {
    const NI = this.imgSel.length;
    const K = this.K;
    // key = cat * NI + image position: category-major, images in sorted-id order.
    const start = new Int32Array(NI * K + 1);
    for (let i = 0; i < ann.count; i++) {
      const p = imgPos[ann.img[i]];
      if (p >= 0) start[ann.cat[i] * NI + p + 1]++;
    }
    for (let i = 0; i < NI * K; i++) start[i + 1] += start[i];
    const fill = start.slice(0, NI * K);
    const items = new Int32Array(start[NI * K]);
    for (let i = 0; i < ann.count; i++) {
      const p = imgPos[ann.img[i]];
      if (p >= 0) items[fill[ann.cat[i] * NI + p]++] = i;
    }
    return { start, items };
  }

  /** Per-image, per-category matching (COCOeval.evaluate + evaluateImg). */
  evaluate(): void {
    const { gt, dt, T, K, A } = this;
    const p = this.params;
    const NI = this.imgSel.length;
    const imgPos = new Int32Array(gt.imgIds.length).fill(-1);
    this.imgSel.forEach((g, i) => (imgPos[g] = i));
    const G = this.bucket(gt.annotations, imgPos);
    const D = this.bucket(dt, imgPos);
    const maxDet = p.maxDets[p.maxDets.length - 1];
    const gta = gt.annotations;
    const thr = Float64Array.from(p.iouThrs, (t) => Math.min(t, 1 - 1e-10));
    const segm = p.iouType === 'segm';
    const gtRle: (Rle | undefined)[] = segm ? new Array(gta.count) : [];
    const dtRle: (Rle | undefined)[] = segm ? new Array(dt.count) : [];
    const gtRleOf = (i: number): Rle => {
      let r = gtRle[i];
      if (!r) {
        const im = gta.img[i];
        const s = gta.segmentation[i];
        if (s === undefined)
          throw new CocoFormatError(`${gta.describe(i)}: no 'segmentation' for segm evaluation`);
        r = gtRle[i] = segmentationToRle(s, gt.heights[im], gt.widths[im], gta.describe(i));
      }
      return r;
    };
    const dtRleOf = (i: number): Rle => {
      let r = dtRle[i];
      if (!r) {
        const im = dt.img[i];
        const s = dt.segmentation[i];
        const box = dt.bbox.subarray(i * 4, i * 4 + 4);
        if (s === undefined && !box.every(Number.isFinite)) {
          // pycocotools would rasterise a polygon of NaN/inf corners (undefined in its C code).
          throw new CocoFormatError(
            `${dt.describe(i)}: segm evaluation of a box-only result needs a finite bbox, got [${Array.from(box).join(', ')}]`,
          );
        }
        r = dtRle[i] =
          s === undefined
            ? rleFromBbox(box, gt.heights[im], gt.widths[im])
            : segmentationToRle(s, gt.heights[im], gt.widths[im], dt.describe(i));
      }
      return r;
    };

    // Pass 1: sizes.
    let numEntries = 0;
    let numSortedDt = 0;
    for (let key = 0; key < NI * K; key++) {
      const nd = D.start[key + 1] - D.start[key];
      const ng = G.start[key + 1] - G.start[key];
      if (nd === 0 && ng === 0) continue;
      numEntries++;
      numSortedDt += Math.min(nd, maxDet);
    }
    this.catEntryStart = new Int32Array(K + 1);
    this.entryD = new Int32Array(numEntries);
    this.entryStateOffset = new Float64Array(numEntries);
    this.entryDtStart = new Int32Array(numEntries);
    this.sortedDt = new Int32Array(numSortedDt);
    this.states = new Uint8Array(numSortedDt * A * T);
    this.npig = new Int32Array(K * A);

    let iouBuf = new Float64Array(1024);
    let dtBoxes = new Float64Array(400);
    let gtBoxes = new Float64Array(400);
    let crowd = new Uint8Array(100);
    let gtOrder = new Int32Array(100);
    let ignSorted = new Uint8Array(100);
    let gtMatched = new Uint8Array(100);
    const dtOutOfArea = new Uint8Array(maxDet);
    let order = new Int32Array(256);
    const score = dt.score;

    let e = 0;
    let sdt = 0;
    for (let k = 0; k < K; k++) {
      this.catEntryStart[k] = e;
      for (let ip = 0; ip < NI; ip++) {
        const key = k * NI + ip;
        const d0 = D.start[key];
        const ndAll = D.start[key + 1] - d0;
        const g0 = G.start[key];
        const ng = G.start[key + 1] - g0;
        if (ndAll === 0 && ng === 0) continue;
        // Stable sort by descending score (bucket items are in file order).
        if (order.length < ndAll) order = new Int32Array(ndAll * 2);
        const ord = order.subarray(0, ndAll);
        ord.set(D.items.subarray(d0, d0 + ndAll));
        ord.sort((a, b) => byDescendingScore(score[a], score[b]) || a - b);
        const nd = Math.min(ndAll, maxDet);
        this.sortedDt.set(ord.subarray(0, nd), sdt);
        this.entryD[e] = nd;
        this.entryDtStart[e] = sdt;
        const stateOffset = sdt * A * T;
        this.entryStateOffset[e] = stateOffset;

        // IoU matrix [nd, ng].
        if (crowd.length < ng) {
          crowd = new Uint8Array(ng * 2);
          gtOrder = new Int32Array(ng * 2);
          ignSorted = new Uint8Array(ng * 2);
          gtMatched = new Uint8Array(ng * 2);
        }
        for (let g = 0; g < ng; g++) crowd[g] = gta.iscrowd[G.items[g0 + g]];
        if (iouBuf.length < nd * ng) iouBuf = new Float64Array(nd * ng * 2);
        const ious = iouBuf.subarray(0, nd * ng);
        if (nd > 0 && ng > 0) {
          if (segm) {
            const dr: Rle[] = [];
            const gr: Rle[] = [];
            for (let d = 0; d < nd; d++) dr.push(dtRleOf(ord[d]));
            for (let g = 0; g < ng; g++) gr.push(gtRleOf(G.items[g0 + g]));
            const db = dr.flatMap((r) => rleToBbox(r));
            const gb = gr.flatMap((r) => rleToBbox(r));
            rleIou(dr, gr, crowd.subarray(0, ng), ious, db, gb);
          } else {
            if (dtBoxes.length < nd * 4) dtBoxes = new Float64Array(nd * 8);
            if (gtBoxes.length < ng * 4) gtBoxes = new Float64Array(ng * 8);
            for (let d = 0; d < nd; d++) {
              const o = ord[d] * 4;
              for (let c = 0; c < 4; c++) dtBoxes[d * 4 + c] = dt.bbox[o + c];
            }
            for (let g = 0; g < ng; g++) {
              const o = G.items[g0 + g] * 4;
              for (let c = 0; c < 4; c++) gtBoxes[g * 4 + c] = gta.bbox[o + c];
            }
            bboxIou(
              dtBoxes.subarray(0, nd * 4),
              gtBoxes.subarray(0, ng * 4),
              crowd.subarray(0, ng),
              ious,
            );
          }
        }

        for (let a = 0; a < A; a++) {
          const [lo, hi] = p.areaRng[a];
          // Stable order: GT that count first, ignored GT (crowd or outside the range) last.
          let nOrd = 0;
          for (let g = 0; g < ng; g++) {
            const ar = gta.area[G.items[g0 + g]];
            if (!(crowd[g] || ar < lo || ar > hi)) gtOrder[nOrd++] = g;
          }
          const nValid = nOrd;
          for (let g = 0; g < ng; g++) {
            const ar = gta.area[G.items[g0 + g]];
            if (crowd[g] || ar < lo || ar > hi) gtOrder[nOrd++] = g;
          }
          for (let gi = 0; gi < ng; gi++) ignSorted[gi] = gi < nValid ? 0 : 1;
          this.npig[k * A + a] += nValid;
          for (let d = 0; d < nd; d++) {
            const ar = dt.area[ord[d]];
            dtOutOfArea[d] = ar < lo || ar > hi ? 1 : 0;
          }
          for (let t = 0; t < T; t++) {
            const base = stateOffset + (a * T + t) * nd;
            gtMatched.fill(0, 0, ng);
            for (let d = 0; d < nd; d++) {
              let best = thr[t];
              let m = -1;
              if (ng > 0) {
                const row = d * ng;
                for (let gi = 0; gi < ng; gi++) {
                  const g = gtOrder[gi];
                  if (gtMatched[gi] && !crowd[g]) continue;
                  if (m > -1 && ignSorted[m] === 0 && ignSorted[gi] === 1) break;
                  const v = ious[row + g];
                  if (v < best) continue;
                  best = v;
                  m = gi;
                }
              }
              let state: number;
              if (m === -1) {
                state = dtOutOfArea[d] ? IGNORED : FP;
              } else {
                // pycocotools stores the detection id (>= 1) as the GT's match flag, and the
                // GT id as the detection's; a GT id of 0 reads as "unmatched" there.
                gtMatched[m] = 1;
                const matchedId = gta.id[G.items[g0 + gtOrder[m]]];
                if (ignSorted[m]) state = IGNORED;
                else if (matchedId !== 0) state = TP;
                else state = dtOutOfArea[d] ? IGNORED : FP;
              }
              this.states[base + d] = state;
            }
          }
        }
        sdt += nd;
        e++;
      }
    }
    this.catEntryStart[K] = e;
    this.evaluated = true;
  }

  /** Precision / recall tables (COCOeval.accumulate). */
  accumulate(): void {
    if (!this.evaluated) this.evaluate();
    const { T, R, K, A, M } = this;
    const p = this.params;
    const recThrs = p.recThrs;
    const score = this.dt.score;
    this.precision.fill(-1);
    this.recall.fill(-1);
    this.scores.fill(-1);
    let rc = new Float64Array(1024);
    let pr = new Float64Array(1024);
    let sel = new Int32Array(1024);
    for (let k = 0; k < K; k++) {
      const e0 = this.catEntryStart[k];
      const e1 = this.catEntryStart[k + 1];
      if (e1 === e0) continue;
      // Concatenate the entries' detections (images in order), then stable-sort by score.
      let n = 0;
      for (let e = e0; e < e1; e++) n += this.entryD[e];
      const elScore = new Float64Array(n);
      const elRank = new Int32Array(n);
      const elBase = new Float64Array(n);
      const elStride = new Int32Array(n);
      let i = 0;
      for (let e = e0; e < e1; e++) {
        const nd = this.entryD[e];
        const s0 = this.entryDtStart[e];
        for (let d = 0; d < nd; d++, i++) {
          elScore[i] = score[this.sortedDt[s0 + d]];
          elRank[i] = d;
          elBase[i] = this.entryStateOffset[e] + d;
          elStride[i] = nd;
        }
      }
      const perm = new Int32Array(n);
      for (let j = 0; j < n; j++) perm[j] = j;
      perm.sort((a, b) => byDescendingScore(elScore[a], elScore[b]) || a - b);
      if (rc.length < n) {
        rc = new Float64Array(n);
        pr = new Float64Array(n);
        sel = new Int32Array(n);
      }
      for (let a = 0; a < A; a++) {
        const npig = this.npig[k * A + a];
        if (npig === 0) continue;
        for (let m = 0; m < M; m++) {
          const maxDet = p.maxDets[m];
          let nd = 0;
          for (let j = 0; j < n; j++) if (elRank[perm[j]] < maxDet) sel[nd++] = perm[j];
          for (let t = 0; t < T; t++) {
            const off = a * T + t;
            let tp = 0;
            let fp = 0;
            for (let j = 0; j < nd; j++) {
              const el = sel[j];
              const s = this.states[elBase[el] + off * elStride[el]];
              if (s === TP) tp++;
              else if (s === FP) fp++;
              rc[j] = tp / npig;
              pr[j] = tp / (fp + tp + EPS);
            }
            this.recall[((t * K + k) * A + a) * M + m] = nd ? rc[nd - 1] : 0;
            for (let j = nd - 1; j > 0; j--) if (pr[j] > pr[j - 1]) pr[j - 1] = pr[j];
            let j = 0;
            for (let r = 0; r < R; r++) {
              while (j < nd && rc[j] < recThrs[r]) j++;
              const idx = (((t * R + r) * K + k) * A + a) * M + m;
              if (j >= nd) {
                this.precision[idx] = 0;
                this.scores[idx] = 0;
              } else {
                this.precision[idx] = pr[j];
                this.scores[idx] = elScore[sel[j]];
              }
            }
          }
        }
      }
    }
    this.accumulated = true;
  }

  /**
   * One summary value: mean precision (`ap`) or recall over the entries > -1 for an IoU
   * threshold (null = all), an area label and a maxDets value; `catIndex` restricts it to one
   * category.
   */
  summarizeOne(
    ap: boolean,
    iouThr: number | null,
    areaLbl: string,
    maxDets: number,
    catIndex?: number,
  ): number {
    if (!this.accumulated) this.accumulate();
    const { T, R, K, A, M } = this;
    const p = this.params;
    const ts: number[] = [];
    for (let t = 0; t < T; t++) if (iouThr === null || p.iouThrs[t] === iouThr) ts.push(t);
    const as = p.areaRngLbl.flatMap((l, i) => (l === areaLbl ? [i] : []));
    const ms = p.maxDets.flatMap((d, i) => (d === maxDets ? [i] : []));
    const ks = catIndex === undefined ? [...Array(K).keys()] : [catIndex];
    const vals: number[] = [];
    // Flattening order of numpy's s[s > -1]: t, (r), k, a, m.
    for (const t of ts) {
      if (ap) {
        for (let r = 0; r < R; r++)
          for (const k of ks)
            for (const a of as)
              for (const m of ms)
                vals.push(this.precision[(((t * R + r) * K + k) * A + a) * M + m]);
      } else {
        for (const k of ks)
          for (const a of as)
            for (const m of ms) vals.push(this.recall[((t * K + k) * A + a) * M + m]);
      }
    }
    return meanValid(vals);
  }

  /** The 12 COCO statistics (AP, AP50, AP75, APs/m/l, AR1/10/100, ARs/m/l). */
  summarize(catIndex?: number): number[] {
    const md = this.params.maxDets;
    // pycocotools passes maxDets[0..2] for every statistic except the first, which uses its
    // default argument 100 (cocoeval.py _summarizeDets).
    const stats = STAT_DEFINITIONS.map(([ap, thr, area, mi], i) =>
      this.summarizeOne(ap, thr, area, i === 0 ? 100 : md[Math.min(mi, md.length - 1)], catIndex),
    );
    if (catIndex === undefined) this.stats = stats;
    return stats;
  }

  /** evaluate + accumulate + summarize; returns the 12 statistics. */
  run(): number[] {
    this.evaluate();
    this.accumulate();
    return this.summarize();
  }
}
