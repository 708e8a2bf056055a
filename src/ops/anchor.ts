/**
 * Multilevel anchor boxes as Model Garden's `Anchor` (official/vision/ops/anchor.py), on typed
 * arrays.
 *
 * Level l (min_level..max_level) has stride 2^l and a grid of centres at
 * `stride / 2 + stride * k` over the image. At every location there are
 * num_scales x len(aspect_ratios) anchors, scale-major: scale s has the base size
 * `anchor_size * 2^l * 2^(s / num_scales)`, and aspect ratio r (width / height) gives a box
 * `base * sqrt(r)` wide and `base / sqrt(r)` high. The flat order is level, then row y, then
 * column x, then scale, then aspect ratio: exactly Model Garden's, so a level's anchors reshape to
 * `[height_l, width_l, anchors_per_location * 4]` and line up with the head's outputs.
 */

const f32 = Math.fround;

/** Model Garden's `Anchor` arguments (configs/retinanet.py `Anchor` plus the model's levels). */
export interface AnchorConfig {
  minLevel: number;
  maxLevel: number;
  /** Intermediate scales per level (default config 3: 2^0, 2^(1/3), 2^(2/3)). */
  numScales: number;
  /** Width / height ratios (default config [0.5, 1, 2]). */
  aspectRatios: readonly number[];
  /** Base anchor size in units of the level's stride (default config 4). */
  anchorSize: number;
  /** [height, width] of the (padded) input image. */
  imageSize: readonly [number, number];
}

/** Where one level's anchors sit in the flat arrays. */
export interface AnchorLevel {
  level: number;
  /** Feature map height and width: image size / 2^level. */
  height: number;
  width: number;
  /** First anchor of the level in the flat order. */
  offset: number;
  /** height * width * anchorsPerLocation. */
  count: number;
}

/** The level layout of a set of anchors: enough to split any per-anchor array by level. */
export interface AnchorLayout {
  anchorsPerLocation: number;
  levels: AnchorLevel[];
  /** Anchors over all levels. */
  numAnchors: number;
}

/** A per-level view of a flat per-anchor array: `[height, width, anchorsPerLocation * depth]`. */
export interface LevelView<T extends Float32Array | Int32Array> {
  data: T;
  shape: [number, number, number];
}

function fail(field: string, want: string, got: unknown): never {
  throw new RangeError(`anchor config: ${field} must be ${want}, got ${JSON.stringify(got)}`);
}

function checkConfig(c: AnchorConfig): void {
  const int = (v: number) => Number.isInteger(v);
  if (!int(c.minLevel) || c.minLevel < 0) fail('min_level', 'an integer >= 0', c.minLevel);
  if (!int(c.maxLevel) || c.maxLevel < c.minLevel) {
    fail('max_level', `an integer >= min_level (${c.minLevel})`, c.maxLevel);
  }
  if (!int(c.numScales) || c.numScales < 1) fail('num_scales', 'an integer >= 1', c.numScales);
  if (
    !Array.isArray(c.aspectRatios) ||
    c.aspectRatios.length === 0 ||
    !c.aspectRatios.every((r) => Number.isFinite(r) && r > 0)
  ) {
    fail('aspect_ratios', 'a non-empty list of positive numbers', c.aspectRatios);
  }
  if (!(Number.isFinite(c.anchorSize) && c.anchorSize > 0)) {
    fail('anchor_size', 'a positive number', c.anchorSize);
  }
  const size = c.imageSize;
  if (!Array.isArray(size) || size.length !== 2 || !size.every((v) => int(v) && v > 0)) {
    fail('image_size', '[height, width] positive integers', size);
  }
}

/**
 * Centres `stride / 2, 3 stride / 2, ...` below `size` (tf.range(stride / 2, size, stride)),
 * counted; Model Garden reshapes them to `trunc(size / stride)` cells, so the two must agree.
 */
function gridCells(size: number, stride: number, level: number, axis: string): number {
  const centres = Math.ceil((size - stride / 2) / stride);
  const cells = Math.trunc(size / stride);
  if (centres !== cells || cells < 1) {
    throw new RangeError(
      `anchor config: image ${axis} ${size} does not split into whole level-${level} cells ` +
        `(stride ${stride}); use a multiple of 2^max_level (the parser's pad option does)`,
    );
  }
  return cells;
}

/** The level layout of the anchors for `config`, without generating them. */
export function anchorLayout(config: AnchorConfig): AnchorLayout {
  checkConfig(config);
  const anchorsPerLocation = config.numScales * config.aspectRatios.length;
  const levels: AnchorLevel[] = [];
  let offset = 0;
  for (let level = config.minLevel; level <= config.maxLevel; level++) {
    const stride = 2 ** level;
    const height = gridCells(config.imageSize[0], stride, level, 'height');
    const width = gridCells(config.imageSize[1], stride, level, 'width');
    const count = height * width * anchorsPerLocation;
    levels.push({ level, height, width, offset, count });
    offset += count;
  }
  return { anchorsPerLocation, levels, numAnchors: offset };
}

/** Anchor boxes over all levels, flat [numAnchors, 4] in pixels, and their layout. */
export interface Anchors extends AnchorLayout {
  boxes: Float32Array;
}

/** Generates the anchors of `config` in Model Garden's order (Anchor._generate_boxes). */
export function generateAnchors(config: AnchorConfig): Anchors {
  const layout = anchorLayout(config);
  const boxes = new Float32Array(layout.numAnchors * 4);
  const { numScales, aspectRatios, anchorSize } = config;
  // Half sizes are Python floats in Model Garden, rounded to float32 where they meet the grid.
  const halves: { y: number; x: number }[] = [];
  let k = 0;
  for (const lv of layout.levels) {
    const stride = 2 ** lv.level;
    halves.length = 0;
    for (let s = 0; s < numScales; s++) {
      const base = anchorSize * stride * 2 ** (s / numScales);
      for (const r of aspectRatios) {
        halves.push({ y: f32((base * r ** -0.5) / 2), x: f32((base * r ** 0.5) / 2) });
      }
    }
    for (let y = 0; y < lv.height; y++) {
      const cy = stride / 2 + y * stride;
      for (let x = 0; x < lv.width; x++) {
        const cx = stride / 2 + x * stride;
        for (const h of halves) {
          boxes[k++] = f32(cy - h.y);
          boxes[k++] = f32(cx - h.x);
          boxes[k++] = f32(cy + h.y);
          boxes[k++] = f32(cx + h.x);
        }
      }
    }
  }
  return { ...layout, boxes };
}

/**
 * Splits a flat per-anchor array (`depth` values per anchor, e.g. 1 for class targets, 4 for box
 * targets) into per-level views `[height_l, width_l, anchorsPerLocation * depth]` keyed by the
 * level as a string (anchor.unpack_targets). Views share `values`' memory.
 */
export function unpackLabels<T extends Float32Array | Int32Array>(
  values: T,
  layout: AnchorLayout,
  depth = 1,
): Record<string, LevelView<T>> {
  if (values.length !== layout.numAnchors * depth) {
    throw new RangeError(
      `unpackLabels: ${values.length} values for ${layout.numAnchors} anchors x ${depth}`,
    );
  }
  const out: Record<string, LevelView<T>> = {};
  for (const lv of layout.levels) {
    out[String(lv.level)] = {
      data: values.subarray(lv.offset * depth, (lv.offset + lv.count) * depth) as T,
      shape: [lv.height, lv.width, layout.anchorsPerLocation * depth],
    };
  }
  return out;
}

/**
 * Calls `visit(first, end)` for runs of consecutive anchors [first, end), in increasing order,
 * that together hold every anchor of `anchors` able to intersect the box `[y0, x0, y1, x1]` (a
 * superset: whole cells of each level's grid). Lets the labeller compute only the IoUs that can
 * be nonzero instead of all anchors x boxes.
 */
export function forEachAnchorRunNear(
  anchors: Anchors,
  y0: number,
  x0: number,
  y1: number,
  x1: number,
  visit: (first: number, end: number) => void,
): void {
  const a = anchors.anchorsPerLocation;
  const boxes = anchors.boxes;
  for (const lv of anchors.levels) {
    const s = 2 ** lv.level;
    // Largest half height / width among the level's shapes (every location repeats them), with
    // slack for float32 rounding.
    let hy = 0;
    let hx = 0;
    for (let k = lv.offset; k < lv.offset + a; k++) {
      hy = Math.max(hy, (boxes[4 * k + 2] - boxes[4 * k]) / 2);
      hx = Math.max(hx, (boxes[4 * k + 3] - boxes[4 * k + 1]) / 2);
    }
    hy = hy * (1 + 1e-5) + 1e-3;
    hx = hx * (1 + 1e-5) + 1e-3;
    // Cells whose centre s/2 + s*k lies within (y0 - hy, y1 + hy), and likewise in x.
    const rowLo = Math.max(0, Math.floor((y0 - hy - s / 2) / s));
    const rowHi = Math.min(lv.height - 1, Math.ceil((y1 + hy - s / 2) / s));
    const colLo = Math.max(0, Math.floor((x0 - hx - s / 2) / s));
    const colHi = Math.min(lv.width - 1, Math.ceil((x1 + hx - s / 2) / s));
    if (colLo > colHi) continue;
    for (let y = rowLo; y <= rowHi; y++) {
      const row = lv.offset + y * lv.width * a;
      visit(row + colLo * a, row + (colHi + 1) * a);
    }
  }
}
