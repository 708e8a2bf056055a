/**
 * The eager kernel of batched, padded, multi-class non-max suppression (`NmsPadded`), the
 * post-processing of Model Garden's detection generator
 * (official/vision/modeling/layers/detection_generator.py: `_generate_detections_v1`,
 * `_generate_detections_v2` class-aware and class-agnostic, `_generate_detections_batched`).
 *
 * Inputs `boxes` [B, N, Cb, 4] ([ymin, xmin, ymax, xmax], Cb = 1 or C) and `scores` [B, N, C].
 * Per image, the candidate sets are the C classes (class c reads box class min(Cb − 1, c)), or,
 * with `classAgnostic`, one set holding each anchor's best class (its first maximum) with that
 * class's box. Per set:
 *  1. the `preNmsTopK` highest scores, sorted by score, ties by lower anchor index first (as
 *     `tf.math.top_k`);
 *  2. greedy NMS in that order: a candidate is dropped when its score is not above
 *     `scoreThreshold`, or when its IoU with an already kept box is above `iouThreshold`. IoU
 *     equal to the threshold keeps it, as TF's NonMaxSuppressionV4/V5 (behind v1's padded NMS)
 *     and ONNX NonMaxSuppression; tfjs's own NMS and Model Garden's tiled
 *     `sorted_non_max_suppression_padded` (v2) drop it, which differs only on exact equality.
 *     At most `maxOutputSize` are kept.
 * Then the kept boxes of all sets are merged and the `maxOutputSize` best kept, sorted by score,
 * ties by lower set (class) first, then by earlier rank (as v1's concatenation followed by
 * `tf.math.top_k`).
 *
 * Outputs (static shapes): boxes [B, K, 4], scores [B, K], classes [B, K] int32 and the number
 * of valid detections [B] int32, K = `maxOutputSize`; slots past the valid count are zero.
 * IoU is computed in float32 arithmetic, like the ONNX Runtime kernel the engine lowers to.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { hostKernel, type HostTensor } from './host_kernel.js';

export const NMS_PADDED = 'NmsPadded';

/** Attributes of the `NmsPadded` kernel. */
export interface NmsPaddedAttrs {
  /** K: detections kept per set and in all. */
  maxOutputSize: number;
  /** Candidates per set before NMS (min(N, preNmsTopK) are used). */
  preNmsTopK: number;
  iouThreshold: number;
  scoreThreshold: number;
  classAgnostic: boolean;
}

const f = Math.fround;

/** Whether box a (at offset ia) suppresses box b (at ib): IoU > threshold, in float32. */
export function iouAbove(
  boxes: ArrayLike<number>,
  ia: number,
  ib: number,
  threshold: number,
): boolean {
  const ay0 = Math.min(boxes[ia], boxes[ia + 2]);
  const ay1 = Math.max(boxes[ia], boxes[ia + 2]);
  const ax0 = Math.min(boxes[ia + 1], boxes[ia + 3]);
  const ax1 = Math.max(boxes[ia + 1], boxes[ia + 3]);
  const by0 = Math.min(boxes[ib], boxes[ib + 2]);
  const by1 = Math.max(boxes[ib], boxes[ib + 2]);
  const bx0 = Math.min(boxes[ib + 1], boxes[ib + 3]);
  const bx1 = Math.max(boxes[ib + 1], boxes[ib + 3]);
  const iy0 = Math.max(ay0, by0);
  const iy1 = Math.min(ay1, by1);
  const ix0 = Math.max(ax0, bx0);
  const ix1 = Math.min(ax1, bx1);
  if (iy1 <= iy0 || ix1 <= ix0) return false;
  const inter = f(f(iy1 - iy0) * f(ix1 - ix0));
  const areaA = f(f(ay1 - ay0) * f(ax1 - ax0));
  const areaB = f(f(by1 - by0) * f(bx1 - bx0));
  const union = f(f(areaA + areaB) - inter);
  if (areaA <= 0 || areaB <= 0 || union <= 0) return false;
  return f(inter / union) > f(threshold);
}

/** A kept detection before the merge. */
interface Kept {
  score: number;
  set: number;
  rank: number;
  cls: number;
  /** Offset of its box in the boxes input. */
  box: number;
}

/** Checks the kernel's inputs and attributes; returns [B, N, Cb, C]. */
export function nmsPaddedShapes(
  boxesShape: number[],
  scoresShape: number[],
  attrs: NmsPaddedAttrs,
): [number, number, number, number] {
  const where = `${NMS_PADDED}:`;
  if (boxesShape.length !== 4 || boxesShape[3] !== 4) {
    throw new Error(`${where} boxes must be [batch, anchors, box classes, 4], got [${boxesShape}]`);
  }
  if (scoresShape.length !== 3) {
    throw new Error(`${where} scores must be [batch, anchors, classes], got [${scoresShape}]`);
  }
  const [b, n, cb] = boxesShape;
  const c = scoresShape[2];
  if (scoresShape[0] !== b || scoresShape[1] !== n) {
    throw new Error(`${where} boxes [${boxesShape}] and scores [${scoresShape}] disagree`);
  }
  if (cb !== 1 && cb !== c) {
    throw new Error(`${where} boxes must have 1 or ${c} (= classes) box classes, got ${cb}`);
  }
  if (n < 1 || c < 1) throw new Error(`${where} needs at least one anchor and one class`);
  for (const k of ['maxOutputSize', 'preNmsTopK'] as const) {
    if (!Number.isInteger(attrs[k]) || attrs[k] < 1) {
      throw new Error(`${where} ${k} must be a positive integer, got ${attrs[k]}`);
    }
  }
  if (!(attrs.iouThreshold >= 0 && attrs.iouThreshold <= 1)) {
    throw new Error(`${where} iouThreshold must be in [0, 1], got ${attrs.iouThreshold}`);
  }
  if (!Number.isFinite(attrs.scoreThreshold)) {
    throw new Error(`${where} scoreThreshold must be a finite number, got ${attrs.scoreThreshold}`);
  }
  return [b, n, cb, c];
}

/** The algorithm of the module comment on host arrays. */
export function nmsPaddedHost(
  boxes: HostTensor,
  scores: HostTensor,
  attrs: NmsPaddedAttrs,
): HostTensor[] {
  const [batch, n, cb, c] = nmsPaddedShapes(boxes.shape, scores.shape, attrs);
  const k = attrs.maxOutputSize;
  const p = Math.min(n, attrs.preNmsTopK);
  const sets = attrs.classAgnostic ? 1 : c;
  const outBoxes = new Float32Array(batch * k * 4);
  const outScores = new Float32Array(batch * k);
  const outClasses = new Int32Array(batch * k);
  const outValid = new Int32Array(batch);
  const s = scores.values;
  const bx = boxes.values;
  // One set's candidates: score and class per anchor, and the anchors above the threshold.
  const candScore = new Float32Array(n);
  const candClass = new Int32Array(n);
  // Thresholds are float32 in TF and ONNX: a score equal to float32(threshold) is dropped.
  const threshold = f(attrs.scoreThreshold);
  const byScore = (i: number, j: number) => candScore[j] - candScore[i] || i - j;
  for (let b = 0; b < batch; b++) {
    const kept: Kept[] = [];
    const boxAt = (a: number) => ((b * n + a) * cb + Math.min(cb - 1, candClass[a])) * 4;
    for (let set = 0; set < sets; set++) {
      const above: number[] = [];
      for (let a = 0; a < n; a++) {
        const row = (b * n + a) * c;
        let cls = set;
        if (attrs.classAgnostic) {
          cls = 0;
          for (let j = 1; j < c; j++) if (s[row + j] > s[row + cls]) cls = j;
        }
        candScore[a] = s[row + cls];
        candClass[a] = cls;
        if (candScore[a] > threshold) above.push(a);
      }
      // Every candidate above the threshold ranks before every other one, so those of the top
      // P are the first P of them in score order (and NaN scores are never selected).
      const top = above.sort(byScore).slice(0, p);
      const mine: number[] = [];
      for (let rank = 0; rank < top.length && mine.length < k; rank++) {
        const a = top[rank];
        if (mine.some((m) => iouAbove(bx, m, boxAt(a), attrs.iouThreshold))) continue;
        mine.push(boxAt(a));
        kept.push({ score: candScore[a], set, rank, cls: candClass[a], box: boxAt(a) });
      }
    }
    kept.sort((x, y) => y.score - x.score || x.set - y.set || x.rank - y.rank);
    const valid = Math.min(k, kept.length);
    outValid[b] = valid;
    for (let i = 0; i < valid; i++) {
      const d = kept[i];
      outScores[b * k + i] = d.score;
      outClasses[b * k + i] = d.cls;
      for (let q = 0; q < 4; q++) outBoxes[(b * k + i) * 4 + q] = bx[d.box + q];
    }
  }
  return [
    { values: outBoxes, shape: [batch, k, 4], dtype: 'float32' },
    { values: outScores, shape: [batch, k], dtype: 'float32' },
    { values: outClasses, shape: [batch, k], dtype: 'int32' },
    { values: outValid, shape: [batch], dtype: 'int32' },
  ];
}

/** Reads the kernel's attributes from a tfjs attribute map. */
export function nmsPaddedAttrs(
  attrs: tf.NamedAttrMap | Readonly<Record<string, unknown>>,
): NmsPaddedAttrs {
  return {
    maxOutputSize: attrs.maxOutputSize as number,
    preNmsTopK: attrs.preNmsTopK as number,
    iouThreshold: attrs.iouThreshold as number,
    scoreThreshold: attrs.scoreThreshold as number,
    classAgnostic: Boolean(attrs.classAgnostic),
  };
}

/** The `NmsPadded` kernel function for 'cpu' and 'wasm'. */
export const nmsPaddedKernel = hostKernel(NMS_PADDED, (inputs, attrs) =>
  nmsPaddedHost(inputs.boxes, inputs.scores, nmsPaddedAttrs(attrs)),
);
