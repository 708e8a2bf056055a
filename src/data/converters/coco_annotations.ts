/**
 * COCO instances JSON: loading, indexing by image, and the per-object conversion Model Garden's
 * `official/vision/data/create_coco_tf_record.py` applies (`coco_annotations_to_lists`):
 *   - a box [x, y, w, h] with w <= 0 or h <= 0, or with x + w > image width or y + h > image
 *     height, is skipped (and counted);
 *   - kept boxes are normalised: xmin = x / W, xmax = (x + w) / W, ymin = y / H, ymax = (y + h) / H;
 *   - class = category_id, class text = the category's name, is_crowd = iscrowd, area = COCO area;
 *   - the mask rasterises `segmentation` at H x W (polygons: union of the parts, as
 *     pycocotools `frPyObjects` + `decode` + max; crowd RLEs decoded).
 * Objects keep their order in the annotation file.
 */
import { readFile } from 'node:fs/promises';
import { decodeMask, segmentationToRle, type CocoSegmentation } from '../../ops/masks/index.js';

export interface CocoImageInfo {
  id: number;
  file_name: string;
  height: number;
  width: number;
}

export interface CocoAnnotation {
  id?: number;
  image_id: number;
  category_id: number;
  /** [x, y, width, height] in pixels. */
  bbox: [number, number, number, number];
  area: number;
  iscrowd?: number;
  segmentation?: CocoSegmentation;
}

export interface CocoCategory {
  id: number;
  name: string;
}

/** A loaded COCO instances file, indexed by image. */
export interface CocoDataset {
  path: string;
  images: CocoImageInfo[];
  categories: Map<number, string>;
  annotationsByImage: Map<number, CocoAnnotation[]>;
}

export class CocoFormatError extends Error {
  override name = 'CocoFormatError';
}

function isNum(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

/** Parses and validates COCO instances JSON text; errors name `path` and the bad entry. */
export function parseCocoAnnotations(text: string, path: string): CocoDataset {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new CocoFormatError(`${path}: invalid JSON (${(err as Error).message})`);
  }
  if (!data || typeof data !== 'object') throw new CocoFormatError(`${path}: not a JSON object`);
  const d = data as { images?: unknown; annotations?: unknown; categories?: unknown };
  if (!Array.isArray(d.images)) throw new CocoFormatError(`${path}: missing 'images' list`);
  const images = d.images.map((im: unknown, i: number): CocoImageInfo => {
    const e = im as Partial<CocoImageInfo> | null;
    if (
      !e ||
      !isNum(e.id) ||
      typeof e.file_name !== 'string' ||
      !isNum(e.height) ||
      !isNum(e.width)
    ) {
      throw new CocoFormatError(
        `${path}: images[${i}] needs numeric id, height, width and a file_name, got ${JSON.stringify(im).slice(0, 120)}`,
      );
    }
    return { id: e.id, file_name: e.file_name, height: e.height, width: e.width };
  });
  const imageIndex = new Map<number, number>();
  images.forEach((im, i) => {
    const first = imageIndex.get(im.id);
    if (first !== undefined) {
      throw new CocoFormatError(
        `${path}: images[${i}] repeats image id ${im.id} of images[${first}]`,
      );
    }
    imageIndex.set(im.id, i);
  });
  const categories = new Map<number, string>();
  if (d.categories !== undefined) {
    if (!Array.isArray(d.categories))
      throw new CocoFormatError(`${path}: 'categories' is not a list`);
    d.categories.forEach((c: unknown, i: number) => {
      const e = c as Partial<CocoCategory> | null;
      if (!e || !isNum(e.id) || typeof e.name !== 'string') {
        throw new CocoFormatError(`${path}: categories[${i}] needs a numeric id and a name`);
      }
      categories.set(e.id, e.name);
    });
  }
  const annotationsByImage = new Map<number, CocoAnnotation[]>();
  const anns = d.annotations ?? [];
  if (!Array.isArray(anns)) throw new CocoFormatError(`${path}: 'annotations' is not a list`);
  anns.forEach((a: unknown, i: number) => {
    const e = a as Partial<CocoAnnotation> | null;
    const where = `${path}: annotations[${i}]${e && isNum(e.id) ? ` (id ${e.id})` : ''}`;
    if (!e || !isNum(e.image_id)) throw new CocoFormatError(`${where}: missing numeric image_id`);
    if (!isNum(e.category_id)) throw new CocoFormatError(`${where}: missing numeric category_id`);
    if (!Array.isArray(e.bbox) || e.bbox.length !== 4 || !e.bbox.every(isNum)) {
      throw new CocoFormatError(
        `${where}: bbox must be 4 numbers [x, y, w, h], got ${JSON.stringify(e.bbox)}`,
      );
    }
    if (!isNum(e.area)) throw new CocoFormatError(`${where}: missing numeric area`);
    if (!imageIndex.has(e.image_id)) {
      throw new CocoFormatError(`${where}: image_id ${e.image_id} is not in 'images'`);
    }
    const list = annotationsByImage.get(e.image_id) ?? [];
    list.push(e as CocoAnnotation);
    annotationsByImage.set(e.image_id, list);
  });
  return { path, images, categories, annotationsByImage };
}

/** Reads a COCO instances JSON file. */
export async function loadCocoAnnotations(path: string): Promise<CocoDataset> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new CocoFormatError(`cannot read COCO annotations ${path}: ${(err as Error).message}`);
  }
  return parseCocoAnnotations(text, path);
}

/** One kept object of an image, in Model Garden's converted form. */
export interface CocoObject {
  annotationId?: number;
  /** Normalised, computed in double precision (stored as float32 in a record). */
  ymin: number;
  xmin: number;
  ymax: number;
  xmax: number;
  classId: number;
  className: string;
  isCrowd: boolean;
  area: number;
  segmentation?: CocoSegmentation;
}

/**
 * Converts an image's annotations to objects, skipping invalid boxes as Model Garden does.
 * An unknown category id is an error naming the annotation.
 */
export function cocoObjectsForImage(
  dataset: CocoDataset,
  image: CocoImageInfo,
): { objects: CocoObject[]; skipped: number } {
  const anns = dataset.annotationsByImage.get(image.id) ?? [];
  const objects: CocoObject[] = [];
  let skipped = 0;
  for (const a of anns) {
    const [x, y, w, h] = a.bbox;
    if (w <= 0 || h <= 0 || x + w > image.width || y + h > image.height) {
      skipped++;
      continue;
    }
    const name = dataset.categories.get(a.category_id);
    if (name === undefined) {
      throw new CocoFormatError(
        `${dataset.path}: annotation ${a.id ?? '?'} of image ${image.id} has category_id ${a.category_id}, which is not in 'categories'`,
      );
    }
    objects.push({
      annotationId: a.id,
      xmin: x / image.width,
      xmax: (x + w) / image.width,
      ymin: y / image.height,
      ymax: (y + h) / image.height,
      classId: a.category_id,
      className: name,
      isCrowd: Boolean(a.iscrowd),
      area: a.area,
      segmentation: a.segmentation,
    });
  }
  return { objects, skipped };
}

/** The object's mask as a row-major [height, width] uint8 0/1 array. */
export function cocoObjectMask(
  dataset: CocoDataset,
  image: CocoImageInfo,
  object: CocoObject,
): Uint8Array {
  const where = `${dataset.path}: annotation ${object.annotationId ?? '?'} of image ${image.id}`;
  if (object.segmentation === undefined) throw new CocoFormatError(`${where}: no segmentation`);
  try {
    return decodeMask(
      segmentationToRle(object.segmentation, image.height, image.width, 'segmentation'),
    );
  } catch (err) {
    throw new CocoFormatError(`${where}: ${(err as Error).message}`, { cause: err });
  }
}
