/**
 * COCO `segmentation` JSON values to and from {@link Rle}, following pycocotools' `annToRLE`:
 * - a list of polygons `[[x1,y1,...], ...]` is rasterised part by part and the parts are merged
 *   (union); the first part needs more than 4 numbers (pycocotools rejects shorter ones);
 * - `{size: [h, w], counts: [..numbers..]}` is an uncompressed RLE;
 * - `{size: [h, w], counts: "..."}` is a compressed RLE.
 */
import { rleFromPolygon } from './polygon.js';
import {
  checkRleTotal,
  mergeRles,
  type Rle,
  RleError,
  rleFromCounts,
  rleFromString,
  rleToString,
} from './rle.js';

/** COCO RLE JSON: compressed (`counts` string) or uncompressed (`counts` number list). */
export interface CocoRleJson {
  size: [number, number];
  counts: string | number[];
}

/** Any COCO `segmentation` value. */
export type CocoSegmentation = number[][] | CocoRleJson;

function isRleJson(v: unknown): v is CocoRleJson {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && 'counts' in v && 'size' in v;
}

/**
 * Converts a COCO segmentation of an image of `h` x `w` pixels to an RLE. `what` names the
 * entry in errors (e.g. `annotation id 17`). RLE inputs must have size [h, w] and runs that sum
 * to h*w.
 */
export function segmentationToRle(segm: unknown, h: number, w: number, what: string): Rle {
  try {
    if (Array.isArray(segm)) {
      if (segm.length === 0) throw new RleError('segmentation is an empty list');
      const parts = segm as unknown[];
      for (let i = 0; i < parts.length; i++) {
        const p = parts[i];
        if (!Array.isArray(p) || p.some((c) => typeof c !== 'number')) {
          throw new RleError(`polygon ${i} is not a list of numbers`);
        }
      }
      const polys = parts as number[][];
      // pycocotools dispatches on the FIRST part: 4 numbers would be a box list (and fails with
      // a TypeError for plain lists), fewer is unsupported; later parts may be short.
      if (polys[0].length <= 4) {
        throw new RleError(`polygon 0 has ${polys[0].length} coordinates (needs at least 6)`);
      }
      return mergeRles(polys.map((p) => rleFromPolygon(p, h, w)));
    }
    if (isRleJson(segm)) {
      const size = segm.size;
      if (!Array.isArray(size) || size.length !== 2) {
        throw new RleError(`RLE size must be [h, w], got ${JSON.stringify(size)}`);
      }
      const [rh, rw] = size;
      let rle: Rle;
      if (typeof segm.counts === 'string') rle = rleFromString(segm.counts, rh, rw);
      else if (Array.isArray(segm.counts)) rle = rleFromCounts(segm.counts, rh, rw);
      else throw new RleError('RLE counts must be a string or a list of numbers');
      if (rh !== h || rw !== w) {
        throw new RleError(`RLE size [${rh}, ${rw}] differs from the image size [${h}, ${w}]`);
      }
      checkRleTotal(rle, 'RLE counts');
      return rle;
    }
    throw new RleError('segmentation must be a polygon list or an RLE {size, counts}');
  } catch (err) {
    if (err instanceof RleError) throw new RleError(`${what}: ${err.message}`);
    throw err;
  }
}

/** The compressed COCO JSON form of an RLE: `{size: [h, w], counts: "..."}`. */
export function rleToJson(rle: Rle): { size: [number, number]; counts: string } {
  return { size: [rle.h, rle.w], counts: rleToString(rle) };
}
