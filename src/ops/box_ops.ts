/**
 * Box ops on flat [N, 4] arrays of `[ymin, xmin, ymax, xmax]`, as Model Garden's
 * official/vision/ops/box_ops.py: normalised <-> absolute coordinates, clipping to the image,
 * flips, the indices of boxes a crop left non-empty, anchor-relative box coding and pairwise IoU.
 *
 * The typed-array functions run in the input parsers on the worker threads. Arithmetic that Model
 * Garden does in float32 tensors is rounded to float32 after each operation there. The tfjs
 * versions ({@link decodeBoxesTensor}, {@link clipBoxesTensor}) serve the models' detection
 * generators, so they trace into compiled graphs.
 */
import * as tf from '@tensorflow/tfjs-core';

/** Boxes as a flat row-major [N, 4] array of [ymin, xmin, ymax, xmax]. */
export type Boxes = Float32Array;

function checkBoxes(where: string, boxes: ArrayLike<number>): number {
  if (boxes.length % 4 !== 0) {
    throw new TypeError(`${where}: boxes must be [N, 4], got ${boxes.length} values`);
  }
  return boxes.length / 4;
}

function checkShape(where: string, height: number, width: number): void {
  if (!(height > 0) || !(width > 0)) {
    throw new RangeError(`${where}: image shape must be positive, got [${height}, ${width}]`);
  }
}

/** Absolute boxes divided by the image `[height, width]` (box_ops.normalize_boxes). */
export function normalizeBoxes(boxes: ArrayLike<number>, height: number, width: number): Boxes {
  const n = checkBoxes('normalizeBoxes', boxes);
  checkShape('normalizeBoxes', height, width);
  const out = new Float32Array(n * 4);
  for (let i = 0; i < n * 4; i += 4) {
    out[i] = boxes[i] / height;
    out[i + 1] = boxes[i + 1] / width;
    out[i + 2] = boxes[i + 2] / height;
    out[i + 3] = boxes[i + 3] / width;
  }
  return out;
}

/** Normalised boxes times the image `[height, width]` (box_ops.denormalize_boxes). */
export function denormalizeBoxes(boxes: ArrayLike<number>, height: number, width: number): Boxes {
  const n = checkBoxes('denormalizeBoxes', boxes);
  checkShape('denormalizeBoxes', height, width);
  const out = new Float32Array(n * 4);
  for (let i = 0; i < n * 4; i += 4) {
    out[i] = boxes[i] * height;
    out[i + 1] = boxes[i + 1] * width;
    out[i + 2] = boxes[i + 2] * height;
    out[i + 3] = boxes[i + 3] * width;
  }
  return out;
}

/**
 * Clips absolute boxes to `[0, height] x [0, width]` (box_ops.clip_boxes:
 * `max(min(box, [h, w, h, w]), 0)`). For normalised boxes pass height = width = 1.
 */
export function clipBoxes(boxes: ArrayLike<number>, height: number, width: number): Boxes {
  const n = checkBoxes('clipBoxes', boxes);
  const limit = [height, width, height, width];
  const out = new Float32Array(n * 4);
  for (let i = 0; i < n * 4; i++) out[i] = Math.max(Math.min(boxes[i], limit[i % 4]), 0);
  return out;
}

/** Mirrors normalised boxes left-right: xmin' = 1 - xmax, xmax' = 1 - xmin. */
export function horizontalFlipBoxes(boxes: ArrayLike<number>): Boxes {
  const n = checkBoxes('horizontalFlipBoxes', boxes);
  const out = new Float32Array(n * 4);
  for (let i = 0; i < n * 4; i += 4) {
    out[i] = boxes[i];
    out[i + 1] = 1 - boxes[i + 3];
    out[i + 2] = boxes[i + 2];
    out[i + 3] = 1 - boxes[i + 1];
  }
  return out;
}

/** Mirrors normalised boxes top-bottom: ymin' = 1 - ymax, ymax' = 1 - ymin. */
export function verticalFlipBoxes(boxes: ArrayLike<number>): Boxes {
  const n = checkBoxes('verticalFlipBoxes', boxes);
  const out = new Float32Array(n * 4);
  for (let i = 0; i < n * 4; i += 4) {
    out[i] = 1 - boxes[i + 2];
    out[i + 1] = boxes[i + 1];
    out[i + 2] = 1 - boxes[i];
    out[i + 3] = boxes[i + 3];
  }
  return out;
}

/**
 * Indices of boxes with positive height and width (box_ops.get_non_empty_box_indices), e.g. the
 * boxes that survive a crop after {@link clipBoxes}.
 */
export function nonEmptyBoxIndices(boxes: ArrayLike<number>): number[] {
  const n = checkBoxes('nonEmptyBoxIndices', boxes);
  const keep: number[] = [];
  for (let i = 0; i < n; i++) {
    if (boxes[4 * i + 2] - boxes[4 * i] > 0 && boxes[4 * i + 3] - boxes[4 * i + 1] > 0) {
      keep.push(i);
    }
  }
  return keep;
}

/** Rows `indices` of a flat [N, k] array (tf.gather on axis 0), e.g. boxes (k = 4) or classes. */
export function gatherRows<T extends Float32Array | Int32Array | Uint8Array>(
  values: T,
  indices: readonly number[],
  rowLength = 1,
): T {
  const n = values.length / rowLength;
  const ctor = values.constructor as new (length: number) => T;
  const out = new ctor(indices.length * rowLength);
  indices.forEach((idx, j) => {
    if (!Number.isInteger(idx) || idx < 0 || idx >= n) {
      throw new RangeError(`gatherRows: index ${idx} is outside 0..${n - 1}`);
    }
    out.set(values.subarray(idx * rowLength, (idx + 1) * rowLength), j * rowLength);
  });
  return out;
}

/** Checks that normalised boxes lie in [0, 1] with min <= max; names the first offending box. */
export function checkNormalizedBoxes(where: string, boxes: ArrayLike<number>): void {
  const n = checkBoxes(where, boxes);
  for (let i = 0; i < n; i++) {
    const b = [boxes[4 * i], boxes[4 * i + 1], boxes[4 * i + 2], boxes[4 * i + 3]];
    if (b.some((v) => !(v >= 0 && v <= 1)) || b[0] > b[2] || b[1] > b[3]) {
      throw new RangeError(
        `${where}: box ${i} [${b.join(', ')}] is not a normalised [ymin, xmin, ymax, xmax] ` +
          `box in [0, 1]`,
      );
    }
  }
}

const f32 = Math.fround;

/** Model Garden's cap on decoded log-scale height/width offsets: log(1000 / 16) (box_ops.py). */
export const BBOX_XFORM_CLIP = Math.log(1000 / 16);

/**
 * The small constant Model Garden's FasterRcnnBoxCoder adds to box and anchor heights and widths
 * before dividing and taking logs (utils/object_detection/faster_rcnn_box_coder.py `EPSILON`).
 */
export const FASTER_RCNN_EPSILON = 1e-8;

/** Box coder weights [wy, wx, wh, ww]: each code is multiplied by its weight when encoding. */
export type BoxCoderWeights = readonly [number, number, number, number];

/** Throws unless `weights` is absent or 4 positive numbers; the message starts with `where`. */
export function checkBoxCoderWeights(
  where: string,
  weights: readonly number[] | null | undefined,
): void {
  if (weights == null) return;
  if (weights.length !== 4 || !weights.every((w) => Number.isFinite(w) && w > 0)) {
    throw new RangeError(
      `${where}: weights must be 4 positive numbers [wy, wx, wh, ww], got [${weights.join(', ')}]`,
    );
  }
}

/** Anchors either one per box ([N, 4]) or one shared by every box ([1, 4]). */
function anchorStride(where: string, n: number, anchors: ArrayLike<number>): number {
  const m = checkBoxes(where, anchors);
  if (m === n) return 4;
  if (m === 1) return 0;
  throw new RangeError(`${where}: ${m} anchors for ${n} boxes (need ${n} or 1)`);
}

export interface EncodeBoxesOptions {
  /** Scale [dy, dx, dh, dw] by these (Model Garden `box_coder_weights`; none by default). */
  weights?: BoxCoderWeights | null;
  /**
   * Added to box and anchor heights and widths first: 0 for box_ops.encode_boxes (the default),
   * {@link FASTER_RCNN_EPSILON} for FasterRcnnBoxCoder.encode, which the anchor labeller uses so
   * that a zero box (an unmatched anchor's target) encodes to finite numbers.
   */
  epsilon?: number;
}

/**
 * Encodes boxes relative to anchors (box_ops.encode_boxes; FasterRcnnBoxCoder.encode with
 * `epsilon`): `[(yc - yca) / ha, (xc - xca) / wa, log(h / ha), log(w / wa)]`, each times its
 * weight. `anchors` holds one anchor per box, or a single anchor for all.
 */
export function encodeBoxes(
  boxes: ArrayLike<number>,
  anchors: ArrayLike<number>,
  opts: EncodeBoxesOptions = {},
): Float32Array {
  const n = checkBoxes('encodeBoxes', boxes);
  const step = anchorStride('encodeBoxes', n, anchors);
  checkBoxCoderWeights('encodeBoxes', opts.weights);
  const out = new Float32Array(n * 4);
  encodeBoxesInto(out, boxes, anchors, n, step, opts.weights ?? null, opts.epsilon ?? 0);
  return out;
}

/** The loop of {@link encodeBoxes}, unchecked: box i against the anchor at i * anchorStep. */
export function encodeBoxesInto(
  out: Float32Array,
  boxes: ArrayLike<number>,
  anchors: ArrayLike<number>,
  n: number,
  anchorStep: number,
  weights: BoxCoderWeights | null,
  epsilon: number,
): void {
  const eps = f32(epsilon);
  for (let i = 0; i < n; i++) {
    const b = 4 * i;
    const a = anchorStep * i;
    let h = f32(boxes[b + 2] - boxes[b]);
    let w = f32(boxes[b + 3] - boxes[b + 1]);
    const yc = f32(boxes[b] + f32(0.5 * h));
    const xc = f32(boxes[b + 1] + f32(0.5 * w));
    let ha = f32(anchors[a + 2] - anchors[a]);
    let wa = f32(anchors[a + 3] - anchors[a + 1]);
    const yca = f32(anchors[a] + f32(0.5 * ha));
    const xca = f32(anchors[a + 1] + f32(0.5 * wa));
    if (eps !== 0) {
      h = f32(h + eps);
      w = f32(w + eps);
      ha = f32(ha + eps);
      wa = f32(wa + eps);
    }
    let dy = f32(f32(yc - yca) / ha);
    let dx = f32(f32(xc - xca) / wa);
    let dh = f32(Math.log(f32(h / ha)));
    let dw = f32(Math.log(f32(w / wa)));
    if (weights) {
      dy = f32(dy * weights[0]);
      dx = f32(dx * weights[1]);
      dh = f32(dh * weights[2]);
      dw = f32(dw * weights[3]);
    }
    out[b] = dy;
    out[b + 1] = dx;
    out[b + 2] = dh;
    out[b + 3] = dw;
  }
}

/**
 * Decodes `[dy, dx, dh, dw]` codes against anchors (box_ops.decode_boxes): codes divided by the
 * weights, dh and dw capped at {@link BBOX_XFORM_CLIP}, then `h = exp(dh) * ha`,
 * `yc = dy * ha + yca`, `ymin = yc - h / 2`, `ymax = ymin + h` (x likewise).
 */
export function decodeBoxes(
  codes: ArrayLike<number>,
  anchors: ArrayLike<number>,
  weights?: BoxCoderWeights | null,
): Float32Array {
  const n = checkBoxes('decodeBoxes', codes);
  const step = anchorStride('decodeBoxes', n, anchors);
  checkBoxCoderWeights('decodeBoxes', weights);
  const clip = f32(BBOX_XFORM_CLIP);
  const out = new Float32Array(n * 4);
  for (let i = 0; i < n; i++) {
    const c = 4 * i;
    const a = step * i;
    let dy = f32(codes[c]);
    let dx = f32(codes[c + 1]);
    let dh = f32(codes[c + 2]);
    let dw = f32(codes[c + 3]);
    if (weights) {
      dy = f32(dy / weights[0]);
      dx = f32(dx / weights[1]);
      dh = f32(dh / weights[2]);
      dw = f32(dw / weights[3]);
    }
    dh = Math.min(dh, clip);
    dw = Math.min(dw, clip);
    const ha = f32(anchors[a + 2] - anchors[a]);
    const wa = f32(anchors[a + 3] - anchors[a + 1]);
    const yca = f32(anchors[a] + f32(0.5 * ha));
    const xca = f32(anchors[a + 1] + f32(0.5 * wa));
    const yc = f32(f32(dy * ha) + yca);
    const xc = f32(f32(dx * wa) + xca);
    const h = f32(f32(Math.exp(dh)) * ha);
    const w = f32(f32(Math.exp(dw)) * wa);
    const ymin = f32(yc - f32(0.5 * h));
    const xmin = f32(xc - f32(0.5 * w));
    out[c] = ymin;
    out[c + 1] = xmin;
    out[c + 2] = f32(ymin + h);
    out[c + 3] = f32(xmin + w);
  }
  return out;
}

/**
 * IoU of box `i` of `a` and box `j` of `b` in float32 (iou_similarity.iou): 0 when they do not
 * intersect, else intersection / (area_a + area_b - intersection).
 */
export function iouAt(a: ArrayLike<number>, i: number, b: ArrayLike<number>, j: number): number {
  const p = 4 * i;
  const q = 4 * j;
  const ih = Math.max(0, f32(Math.min(a[p + 2], b[q + 2]) - Math.max(a[p], b[q])));
  const iw = Math.max(0, f32(Math.min(a[p + 3], b[q + 3]) - Math.max(a[p + 1], b[q + 1])));
  const inter = f32(ih * iw);
  if (inter === 0) return 0;
  const areaA = f32(f32(a[p + 2] - a[p]) * f32(a[p + 3] - a[p + 1]));
  const areaB = f32(f32(b[q + 2] - b[q]) * f32(b[q + 3] - b[q + 1]));
  return f32(inter / f32(f32(areaA + areaB) - inter));
}

/** Pairwise IoU, row-major [N, M] for boxes `a` [N, 4] and `b` [M, 4] (iou_similarity.iou). */
export function pairwiseIou(a: ArrayLike<number>, b: ArrayLike<number>): Float32Array {
  const n = checkBoxes('pairwiseIou', a);
  const m = checkBoxes('pairwiseIou', b);
  const out = new Float32Array(n * m);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < m; j++) out[i * m + j] = iouAt(a, i, b, j);
  }
  return out;
}

/**
 * {@link decodeBoxes} on tensors: `codes` [..., 4] against `anchors` [..., 4] (broadcast), with
 * Model Garden's order of operations (box_ops.decode_boxes). Returns [..., 4].
 */
export function decodeBoxesTensor(
  codes: tf.Tensor,
  anchors: tf.Tensor,
  weights?: BoxCoderWeights | null,
): tf.Tensor {
  checkBoxCoderWeights('decodeBoxesTensor', weights);
  if (codes.shape[codes.rank - 1] !== 4 || anchors.shape[anchors.rank - 1] !== 4) {
    throw new TypeError(
      `decodeBoxesTensor: codes [${codes.shape}] and anchors [${anchors.shape}] must end in 4`,
    );
  }
  return tf.tidy(() => {
    let [dy, dx, dh, dw] = tf.split(codes, 4, -1);
    if (weights) {
      dy = tf.div(dy, weights[0]);
      dx = tf.div(dx, weights[1]);
      dh = tf.div(dh, weights[2]);
      dw = tf.div(dw, weights[3]);
    }
    dh = tf.minimum(dh, BBOX_XFORM_CLIP);
    dw = tf.minimum(dw, BBOX_XFORM_CLIP);
    const [ymina, xmina, ymaxa, xmaxa] = tf.split(anchors, 4, -1);
    const ha = tf.sub(ymaxa, ymina);
    const wa = tf.sub(xmaxa, xmina);
    const yca = tf.add(ymina, tf.mul(0.5, ha));
    const xca = tf.add(xmina, tf.mul(0.5, wa));
    const yc = tf.add(tf.mul(dy, ha), yca);
    const xc = tf.add(tf.mul(dx, wa), xca);
    const h = tf.mul(tf.exp(dh), ha);
    const w = tf.mul(tf.exp(dw), wa);
    const ymin = tf.sub(yc, tf.mul(0.5, h));
    const xmin = tf.sub(xc, tf.mul(0.5, w));
    return tf.concat([ymin, xmin, tf.add(ymin, h), tf.add(xmin, w)], -1);
  });
}

/**
 * Clips boxes [B, N, 4] to their image: `imageShape` [B, 2] holds each image's [height, width]
 * (box_ops.clip_boxes: `max(min(box, [h, w, h, w]), 0)`).
 */
export function clipBoxesTensor(boxes: tf.Tensor, imageShape: tf.Tensor): tf.Tensor {
  if (boxes.rank !== 3 || boxes.shape[2] !== 4) {
    throw new TypeError(`clipBoxesTensor: boxes must be [B, N, 4], got [${boxes.shape}]`);
  }
  if (
    imageShape.rank !== 2 ||
    imageShape.shape[1] !== 2 ||
    imageShape.shape[0] !== boxes.shape[0]
  ) {
    throw new TypeError(
      `clipBoxesTensor: image shape must be [${boxes.shape[0]}, 2], got [${imageShape.shape}]`,
    );
  }
  return tf.tidy(() => {
    const hw = tf.cast(imageShape, 'float32');
    const max = tf.expandDims(tf.concat([hw, hw], -1), 1);
    return tf.maximum(tf.minimum(boxes, max), 0);
  });
}

/**
 * {@link encodeBoxes} on tensors (box_ops.encode_boxes, epsilon 0): `boxes` [..., 4] against
 * `anchors` [..., 4] (broadcast), times the weights. Returns [..., 4].
 */
export function encodeBoxesTensor(
  boxes: tf.Tensor,
  anchors: tf.Tensor,
  weights?: BoxCoderWeights | null,
): tf.Tensor {
  checkBoxCoderWeights('encodeBoxesTensor', weights);
  if (boxes.shape[boxes.rank - 1] !== 4 || anchors.shape[anchors.rank - 1] !== 4) {
    throw new TypeError(
      `encodeBoxesTensor: boxes [${boxes.shape}] and anchors [${anchors.shape}] must end in 4`,
    );
  }
  return tf.tidy(() => {
    const [ymin, xmin, ymax, xmax] = tf.split(boxes, 4, -1);
    const [ymina, xmina, ymaxa, xmaxa] = tf.split(anchors, 4, -1);
    const h = tf.sub(ymax, ymin);
    const w = tf.sub(xmax, xmin);
    const ha = tf.sub(ymaxa, ymina);
    const wa = tf.sub(xmaxa, xmina);
    const yc = tf.add(ymin, tf.mul(0.5, h));
    const xc = tf.add(xmin, tf.mul(0.5, w));
    const yca = tf.add(ymina, tf.mul(0.5, ha));
    const xca = tf.add(xmina, tf.mul(0.5, wa));
    let dy = tf.div(tf.sub(yc, yca), ha);
    let dx = tf.div(tf.sub(xc, xca), wa);
    let dh = tf.log(tf.div(h, ha));
    let dw = tf.log(tf.div(w, wa));
    if (weights) {
      dy = tf.mul(dy, weights[0]);
      dx = tf.mul(dx, weights[1]);
      dh = tf.mul(dh, weights[2]);
      dw = tf.mul(dw, weights[3]);
    }
    return tf.concat([dy, dx, dh, dw], -1);
  });
}

/**
 * Pairwise IoU of `a` [B, N, 4] and `b` [B, M, 4] → [B, N, M] (iou_similarity.IouSimilarity):
 * 0 where the boxes do not intersect; pairs with a padded box (all coordinates < 0) get -1.
 */
export function pairwiseIouTensor(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  if (
    a.rank !== 3 ||
    b.rank !== 3 ||
    a.shape[2] !== 4 ||
    b.shape[2] !== 4 ||
    a.shape[0] !== b.shape[0]
  ) {
    throw new TypeError(
      `pairwiseIouTensor: boxes must be [B, N, 4] and [B, M, 4], got [${a.shape}] and [${b.shape}]`,
    );
  }
  return tf.tidy(() => {
    const [ay0, ax0, ay1, ax1] = tf.split(a, 4, -1); // [B, N, 1]
    const [by0, bx0, by1, bx1] = tf.split(tf.transpose(b, [0, 2, 1]), 4, 1); // [B, 1, M]
    const ih = tf.maximum(tf.sub(tf.minimum(ay1, by1), tf.maximum(ay0, by0)), 0);
    const iw = tf.maximum(tf.sub(tf.minimum(ax1, bx1), tf.maximum(ax0, bx0)), 0);
    const inter = tf.mul(ih, iw);
    const areaA = tf.mul(tf.sub(ay1, ay0), tf.sub(ax1, ax0));
    const areaB = tf.mul(tf.sub(by1, by0), tf.sub(bx1, bx0));
    const union = tf.sub(tf.add(areaA, areaB), inter);
    const iou = tf.where(
      tf.greater(inter, 0),
      tf.div(inter, tf.maximum(union, 1e-12)),
      tf.zerosLike(inter),
    );
    const aInvalid = tf.less(tf.max(a, -1, true), 0); // [B, N, 1]
    const bInvalid = tf.less(tf.transpose(tf.max(b, -1, true), [0, 2, 1]), 0); // [B, 1, M]
    return tf.where(tf.logicalOr(aInvalid, bInvalid), tf.fill(iou.shape, -1), iou);
  });
}

/**
 * Gathers rows per batch: `x` [B, N, ...] at `indices` [B, K] (int32, in [0, N)) → [B, K, ...]
 * (target_gather.TargetGather without its mask), as one flat GatherV2 so it compiles.
 */
export function batchGather(x: tf.Tensor, indices: tf.Tensor): tf.Tensor {
  const [batch, n] = x.shape as [number, number];
  if (indices.rank !== 2 || indices.shape[0] !== batch) {
    throw new TypeError(`batchGather: indices must be [${batch}, K], got [${indices.shape}]`);
  }
  return tf.tidy(() => {
    const k = indices.shape[1] as number;
    const rest = x.shape.slice(2);
    const offsets = tf.reshape(tf.range(0, batch * n, n, 'int32'), [batch, 1]);
    const flat = tf.reshape(tf.add(tf.cast(indices, 'int32'), offsets), [-1]);
    const table = tf.reshape(x, [batch * n, ...rest]);
    return tf.reshape(tf.gather(table, flat), [batch, k, ...rest]);
  });
}

/**
 * Indices [B, k] of the `true` entries of `mask` [B, N] in increasing order, then of the `false`
 * ones in increasing order (tf.nn.top_k on a 0/1 indicator, whose ties keep the lower index):
 * a unique score keeps the order independent of the top-k kernel's tie rule.
 */
export function firstTrueIndices(mask: tf.Tensor, k: number): tf.Tensor {
  const n = mask.shape[1] as number;
  if (mask.rank !== 2 || k > n) {
    throw new RangeError(
      `firstTrueIndices: need k <= N for a [B, N] mask, got k ${k}, [${mask.shape}]`,
    );
  }
  return tf.tidy(() => {
    const rank = tf.sub(n, tf.range(0, n, 1, 'float32'));
    const score = tf.add(tf.mul(tf.cast(mask, 'float32'), 2 * n), rank);
    return tf.topk(score, k, true).indices;
  });
}
