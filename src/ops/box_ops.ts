/**
 * Box ops on flat [N, 4] arrays of `[ymin, xmin, ymax, xmax]`, as Model Garden's
 * official/vision/ops/box_ops.py: normalised <-> absolute coordinates, clipping to the image,
 * flips, and the indices of boxes a crop left non-empty.
 */

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
