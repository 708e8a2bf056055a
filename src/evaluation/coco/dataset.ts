/**
 * COCO ground truth and detection results, validated and packed into typed arrays for the
 * evaluator. Loading results follows pycocotools' `COCO.loadRes`:
 * - the branch is chosen from the FIRST result: a non-empty `bbox` → every result gets
 *   `area = w*h` (a `segmentation` present is kept; without one, the box polygon is used for
 *   segm IoU); otherwise `segmentation` → `area` = mask area and `bbox` = tight mask box unless
 *   given;
 * - results get `id = index + 1` and `iscrowd = 0`;
 * - a result whose category_id is not a ground-truth category is dropped (COCOeval evaluates
 *   only params.catIds, the ground truth's categories); the other results keep their ids;
 * - files may hold Python's NaN / Infinity / -Infinity literals (json.dump's default); scores
 *   and boxes may be non-finite and are evaluated as pycocotools does (docs/coco_evaluation.md).
 * Where pycocotools would fail later (unknown image id, missing score, malformed box or mask),
 * the result is rejected with an error naming the entry.
 */
import { readTextFileSync } from '../../core/host.js';
import { rleArea, rleToBbox } from '../../ops/masks/rle.js';
import { segmentationToRle } from '../../ops/masks/coco_segmentation.js';
import { parsePythonJson, stringifyPythonJson } from './python_json.js';

/** COCO image ids are integers in practice; strings are accepted (Model Garden allows them). */
export type ImageId = number | string;

export interface CocoImage {
  id: ImageId;
  width: number;
  height: number;
  file_name?: string;
  [key: string]: unknown;
}

export interface CocoCategory {
  id: number;
  name?: string;
  supercategory?: string;
  [key: string]: unknown;
}

export interface CocoAnnotation {
  id: number;
  image_id: ImageId;
  category_id: number;
  /** `[x, y, w, h]` in pixels. */
  bbox: number[];
  area: number;
  iscrowd?: number | boolean;
  segmentation?: unknown;
  [key: string]: unknown;
}

export interface CocoDataset {
  images: CocoImage[];
  annotations: CocoAnnotation[];
  categories: CocoCategory[];
  info?: unknown;
  licenses?: unknown;
}

/** One detection in COCO results format. */
export interface CocoResult {
  image_id: ImageId;
  category_id: number;
  score: number;
  /** `[x, y, w, h]` in pixels. */
  bbox?: number[];
  segmentation?: unknown;
  [key: string]: unknown;
}

/** Error for malformed ground truth or results; the message names the file/entry. */
export class CocoFormatError extends Error {
  override name = 'CocoFormatError';
}

/**
 * Annotations (ground truth or detections) in struct-of-arrays form. Index `i` is the i-th
 * annotation in file order.
 */
export interface AnnotationArrays {
  readonly count: number;
  /** Index into {@link CocoGroundTruth.imgIds}. */
  readonly img: Int32Array;
  /** Index into {@link CocoGroundTruth.catIds}. */
  readonly cat: Int32Array;
  /** Annotation id (GT: from the file; results: index + 1). */
  readonly id: Float64Array;
  /** `[x, y, w, h]` per annotation. */
  readonly bbox: Float64Array;
  readonly area: Float64Array;
  readonly iscrowd: Uint8Array;
  /** Detection scores (all 0 for ground truth). */
  readonly score: Float64Array;
  /**
   * The `segmentation` JSON values, converted to RLE on demand by the segm evaluation;
   * `undefined` for a box-only result (its box polygon is used, as pycocotools' loadRes does).
   */
  readonly segmentation: unknown[];
  /** Label of entry i for error messages. */
  describe(i: number): string;
}

const isFiniteNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
/** Any JSON number, NaN and ±Infinity included (Python's json reads those literals). */
const isNumber = (v: unknown): v is number => typeof v === 'number';
const isImageId = (v: unknown): v is ImageId =>
  (typeof v === 'number' && Number.isFinite(v)) || typeof v === 'string';

/** Python-`sorted` order for homogeneous ids. */
function compareIds(a: ImageId, b: ImageId): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A validated, indexed COCO ground truth. */
export class CocoGroundTruth {
  /** Image ids, sorted ascending (pycocotools `sorted(getImgIds())`). */
  readonly imgIds: ImageId[];
  readonly imgIndex: Map<ImageId, number>;
  readonly heights: Int32Array;
  readonly widths: Int32Array;
  /** Category ids, sorted ascending. */
  readonly catIds: number[];
  readonly catIndex: Map<number, number>;
  readonly categories: CocoCategory[];
  readonly annotations: AnnotationArrays;
  readonly dataset: CocoDataset;

  constructor(dataset: unknown, source = 'ground truth') {
    if (typeof dataset !== 'object' || dataset === null || Array.isArray(dataset)) {
      throw new CocoFormatError(
        `${source}: expected a JSON object with images/annotations/categories`,
      );
    }
    const ds = dataset as Record<string, unknown>;
    for (const key of ['images', 'annotations', 'categories']) {
      if (!Array.isArray(ds[key])) throw new CocoFormatError(`${source}: '${key}' must be a list`);
    }
    this.dataset = ds as unknown as CocoDataset;
    const images = ds.images as unknown[];
    const imgs: CocoImage[] = [];
    const seen = new Set<ImageId>();
    images.forEach((im, i) => {
      const o = im as Record<string, unknown>;
      if (typeof im !== 'object' || im === null || !isImageId(o.id)) {
        throw new CocoFormatError(`${source}: images[${i}] has no valid 'id'`);
      }
      if (seen.has(o.id)) throw new CocoFormatError(`${source}: image id ${o.id} appears twice`);
      seen.add(o.id);
      if (!Number.isInteger(o.height) || !Number.isInteger(o.width)) {
        throw new CocoFormatError(`${source}: image id ${o.id} needs integer 'height' and 'width'`);
      }
      imgs.push(o as CocoImage);
    });
    const kinds = new Set(imgs.map((im) => typeof im.id));
    if (kinds.size > 1) throw new CocoFormatError(`${source}: image ids mix numbers and strings`);
    imgs.sort((a, b) => compareIds(a.id, b.id));
    this.imgIds = imgs.map((im) => im.id);
    this.imgIndex = new Map(this.imgIds.map((id, i) => [id, i]));
    this.heights = Int32Array.from(imgs.map((im) => im.height));
    this.widths = Int32Array.from(imgs.map((im) => im.width));

    const cats = (ds.categories as unknown[]).map((c, i) => {
      const o = c as Record<string, unknown>;
      if (typeof c !== 'object' || c === null || !isFiniteNumber(o.id)) {
        throw new CocoFormatError(`${source}: categories[${i}] has no numeric 'id'`);
      }
      return o as CocoCategory;
    });
    const catIdSet = new Set(cats.map((c) => c.id));
    if (catIdSet.size !== cats.length)
      throw new CocoFormatError(`${source}: duplicate category ids`);
    this.catIds = [...catIdSet].sort((a, b) => a - b);
    this.catIndex = new Map(this.catIds.map((id, i) => [id, i]));
    this.categories = this.catIds.map((id) => cats.find((c) => c.id === id) as CocoCategory);

    this.annotations = this.packGroundTruth(ds.annotations as unknown[], source);
  }

  /** Reads and validates an instances JSON file. */
  static fromFile(path: string): CocoGroundTruth {
    let json: unknown;
    try {
      json = parsePythonJson(readTextFileSync(path));
    } catch (err) {
      throw new CocoFormatError(
        `${path}: cannot read ground truth JSON (${(err as Error).message})`,
      );
    }
    return new CocoGroundTruth(json, path);
  }

  private packGroundTruth(anns: unknown[], source: string): AnnotationArrays {
    const n = anns.length;
    const arrays = allocate(n);
    const ids = new Set<number>();
    anns.forEach((a, i) => {
      const o = a as Record<string, unknown>;
      const where = `${source}: annotations[${i}]`;
      if (typeof a !== 'object' || a === null || !isFiniteNumber(o.id)) {
        throw new CocoFormatError(`${where} has no numeric 'id'`);
      }
      const what = `${source}: annotation id ${o.id}`;
      if (ids.has(o.id)) throw new CocoFormatError(`${what} appears twice`);
      ids.add(o.id);
      const img = this.imgIndex.get(o.image_id as ImageId);
      if (img === undefined)
        throw new CocoFormatError(`${what}: image_id ${o.image_id} is not in images`);
      const cat = this.catIndex.get(o.category_id as number);
      if (cat === undefined) {
        throw new CocoFormatError(`${what}: category_id ${o.category_id} is not in categories`);
      }
      if (!isFiniteNumber(o.area)) throw new CocoFormatError(`${what}: 'area' must be a number`);
      const bb = o.bbox;
      if (!Array.isArray(bb) || bb.length !== 4 || !bb.every(isFiniteNumber)) {
        throw new CocoFormatError(`${what}: 'bbox' must be 4 numbers [x, y, w, h]`);
      }
      arrays.img[i] = img;
      arrays.cat[i] = cat;
      arrays.id[i] = o.id;
      arrays.bbox.set(bb as number[], i * 4);
      arrays.area[i] = o.area;
      // pycocotools: ignore = iscrowd (a missing iscrowd counts as 0 here).
      arrays.iscrowd[i] = o.iscrowd ? 1 : 0;
      arrays.segmentation[i] = o.segmentation;
    });
    return { ...arrays, describe: (i) => `${source}: annotation id ${arrays.id[i]}` };
  }

  /**
   * Validates and packs detection results (pycocotools `loadRes`, see the module comment).
   * `source` names the results in errors.
   */
  loadResults(results: unknown, source = 'results'): AnnotationArrays {
    if (!Array.isArray(results)) {
      throw new CocoFormatError(`${source}: results must be a JSON list of detections`);
    }
    if (results.length === 0) return { ...allocate(0), describe: (i) => `${source}[${i}]` };
    // Results of categories outside the ground truth are dropped (COCOeval's params.catIds).
    const kept: number[] = [];
    results.forEach((r, i) => {
      const what = `${source}[${i}]`;
      if (typeof r !== 'object' || r === null)
        throw new CocoFormatError(`${what} is not an object`);
      const o = r as Record<string, unknown>;
      // loadRes asserts that every result's image is in the ground truth, dropped or not.
      if (!this.imgIndex.has(o.image_id as ImageId)) {
        throw new CocoFormatError(
          `${what}: image_id ${stringifyPythonJson(o.image_id) ?? 'is missing and'} is not in the ground truth`,
        );
      }
      if (o.category_id === undefined) throw new CocoFormatError(`${what}: no 'category_id'`);
      if (this.catIndex.has(o.category_id as number)) kept.push(i);
    });
    const n = kept.length;
    const arrays = allocate(n);
    const first = results[0] as Record<string, unknown>;
    const bboxBranch = Array.isArray(first?.bbox) && first.bbox.length > 0;
    if (!bboxBranch && !(first && 'segmentation' in first)) {
      throw new CocoFormatError(`${source}[0]: a result needs a 'bbox' or a 'segmentation'`);
    }
    for (let i = 0; i < n; i++) {
      const r = results[kept[i]] as Record<string, unknown>;
      const what = `${source}[${kept[i]}]`;
      if (typeof r !== 'object' || r === null)
        throw new CocoFormatError(`${what} is not an object`);
      const img = this.imgIndex.get(r.image_id as ImageId);
      if (img === undefined) {
        throw new CocoFormatError(
          `${what}: image_id ${JSON.stringify(r.image_id)} is not in the ground truth`,
        );
      }
      const cat = this.catIndex.get(r.category_id as number) as number;
      if (typeof r.score !== 'number') {
        throw new CocoFormatError(
          `${what}: 'score' must be a number, got ${stringifyPythonJson(r.score) ?? 'nothing'}`,
        );
      }
      arrays.img[i] = img;
      arrays.cat[i] = cat;
      arrays.id[i] = kept[i] + 1;
      arrays.score[i] = r.score;
      arrays.iscrowd[i] = 0;
      const h = this.heights[img];
      const w = this.widths[img];
      if (bboxBranch) {
        const bb = r.bbox;
        if (!Array.isArray(bb) || bb.length !== 4 || !bb.every(isNumber)) {
          throw new CocoFormatError(`${what}: 'bbox' must be 4 numbers [x, y, w, h]`);
        }
        arrays.bbox.set(bb as number[], i * 4);
        arrays.area[i] = (bb[2] as number) * (bb[3] as number);
        if ('segmentation' in r) {
          segmentationToRle(r.segmentation, h, w, what); // validate now, convert again on use
          arrays.segmentation[i] = r.segmentation;
        }
        // Without a segmentation, segm IoU uses the box polygon (built on use by the evaluator).
      } else {
        if (!('segmentation' in r)) throw new CocoFormatError(`${what}: 'segmentation' is missing`);
        const rle = segmentationToRle(r.segmentation, h, w, what);
        arrays.area[i] = rleArea(rle);
        const bb = r.bbox;
        if (Array.isArray(bb) && bb.length === 4 && bb.every(isNumber)) {
          arrays.bbox.set(bb as number[], i * 4);
        } else if (bb === undefined) {
          arrays.bbox.set(rleToBbox(rle), i * 4);
        } else {
          throw new CocoFormatError(`${what}: 'bbox' must be 4 numbers [x, y, w, h]`);
        }
        arrays.segmentation[i] = r.segmentation;
      }
    }
    return { ...arrays, describe: (i) => `${source}[${kept[i]}]` };
  }

  /** Reads results JSON from a file and packs it ({@link loadResults}). */
  loadResultsFile(path: string): AnnotationArrays {
    let json: unknown;
    try {
      json = parsePythonJson(readTextFileSync(path));
    } catch (err) {
      throw new CocoFormatError(`${path}: cannot read results JSON (${(err as Error).message})`);
    }
    return this.loadResults(json, path);
  }
}

function allocate(n: number): Omit<AnnotationArrays, 'describe'> {
  return {
    count: n,
    img: new Int32Array(n),
    cat: new Int32Array(n),
    id: new Float64Array(n),
    bbox: new Float64Array(n * 4),
    area: new Float64Array(n),
    iscrowd: new Uint8Array(n),
    score: new Float64Array(n),
    segmentation: new Array<unknown>(n),
  };
}
