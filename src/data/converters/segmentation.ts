/**
 * Image + label-map datasets -> sharded TFRecords of semantic segmentation tf.Examples with the
 * keys Model Garden's segmentation decoder reads (dataloaders/segmentation_input.py `Decoder`) and
 * those DeepLab's converters add:
 *   image/encoded (the image file's bytes), image/format, image/filename, image/height,
 *   image/width, image/channels (3), image/segmentation/class/encoded (8-bit greyscale PNG of
 *   class ids, 255 = ignore), image/segmentation/class/format ('png').
 *
 * Layouts:
 *   voc         <root>/ImageSets/Segmentation/<split>.txt lists ids; <root>/JPEGImages/<id>.jpg and
 *               <root>/SegmentationClass/<id>.png. VOC's label PNGs are palette images whose
 *               palette index is the class (255 = boundary); the index is stored, as DeepLab's
 *               remove_gt_colormap.py does.
 *   cityscapes  <root>/leftImg8bit/<split>/<city>/<name>_leftImg8bit.png with
 *               <root>/gtFine/<split>/<city>/<name>_gtFine_labelTrainIds.png (greyscale train ids).
 *   coco        a COCO instances JSON + image folder: semantic labels from the instance masks,
 *               see {@link cocoSemanticLabel}.
 *   shapes      generated: the synthetic shapes data set (src/data/synthetic/shapes.ts) as PNG
 *               images with label maps (0 background, 1 + shape class inside the shape).
 */
import { readdir, readFile } from 'node:fs/promises';
import { basename, join, relative } from 'node:path';
import { bytesFeature, encodeExample, int64Feature } from '../../core/proto/index.js';
import {
  decodeImage,
  encodeGrayPng,
  encodePng,
  imageSize,
  sniffImageFormat,
} from '../decoders/image.js';
import { labelMapFromNames, writeLabelMap } from '../label_map.js';
import { generateShapes } from '../synthetic/shapes.js';
import {
  cocoObjectMask,
  cocoObjectsForImage,
  loadCocoAnnotations,
  type CocoDataset,
  type CocoImageInfo,
} from './coco_annotations.js';
import { imagePath as cocoImagePath } from './coco.js';
import { orderedMap, type ConversionSummary } from './common.js';
import { labelMapPathFor } from './folder.js';
import { ShardedTFRecordWriter } from './sharded_writer.js';

export type SegmentationLayout = 'voc' | 'cityscapes' | 'coco' | 'shapes';

export class SegmentationDataError extends Error {
  override name = 'SegmentationDataError';
}

/** One image with its label map file. */
export interface SegmentationPair {
  imagePath: string;
  labelPath: string;
  /** Stored as image/filename (relative to the root). */
  filename: string;
}

async function readText(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw new SegmentationDataError(`cannot read ${what} ${path}: ${(err as Error).message}`);
  }
}

/** The VOC pairs of `split` (ImageSets/Segmentation/<split>.txt), in list order. */
export async function listVocPairs(root: string, split: string): Promise<SegmentationPair[]> {
  const list = join(root, 'ImageSets', 'Segmentation', `${split}.txt`);
  const ids = (await readText(list, 'the VOC split list'))
    .split(/\r?\n/)
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (ids.length === 0) throw new SegmentationDataError(`${list} lists no image ids`);
  return ids.map((id) => ({
    imagePath: join(root, 'JPEGImages', `${id}.jpg`),
    labelPath: join(root, 'SegmentationClass', `${id}.png`),
    filename: `${id}.jpg`,
  }));
}

const CITY_IMAGE = '_leftImg8bit.png';
const CITY_LABEL = '_gtFine_labelTrainIds.png';

async function listDir(path: string): Promise<string[]> {
  try {
    return (await readdir(path)).sort();
  } catch (err) {
    throw new SegmentationDataError(`cannot list ${path}: ${(err as Error).message}`);
  }
}

/** The Cityscapes pairs of `split`, cities and files in sorted order. */
export async function listCityscapesPairs(
  root: string,
  split: string,
): Promise<SegmentationPair[]> {
  const imageRoot = join(root, 'leftImg8bit', split);
  const pairs: SegmentationPair[] = [];
  for (const city of await listDir(imageRoot)) {
    for (const file of await listDir(join(imageRoot, city))) {
      if (!file.endsWith(CITY_IMAGE)) continue;
      const stem = file.slice(0, -CITY_IMAGE.length);
      pairs.push({
        imagePath: join(imageRoot, city, file),
        labelPath: join(root, 'gtFine', split, city, `${stem}${CITY_LABEL}`),
        filename: relative(root, join(imageRoot, city, file)),
      });
    }
  }
  if (pairs.length === 0) {
    throw new SegmentationDataError(`${imageRoot} holds no */*${CITY_IMAGE} images`);
  }
  return pairs;
}

/** PNG colour type and palette (RGB triples) from the header chunks, or null if not a PNG. */
function pngHeader(bytes: Uint8Array): { colorType: number; palette?: Uint8Array } | null {
  if (sniffImageFormat(bytes) !== 'png' || bytes.length < 33) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const colorType = bytes[25];
  let at = 8;
  while (at + 8 <= bytes.length) {
    const len = view.getUint32(at);
    const type = String.fromCharCode(...bytes.subarray(at + 4, at + 8));
    if (type === 'PLTE') return { colorType, palette: bytes.subarray(at + 8, at + 8 + len) };
    if (type === 'IDAT' || type === 'IEND') break;
    at += 12 + len;
  }
  return { colorType };
}

/**
 * A label PNG's class ids, row-major [height, width]: the grey value of a greyscale PNG, the
 * palette index of a palette PNG (each pixel's colour looked up in the PLTE chunk). Other
 * images are an error naming `where`.
 */
export async function readLabelPng(
  bytes: Uint8Array,
  where: string,
): Promise<{ data: Uint8Array; height: number; width: number }> {
  const header = pngHeader(bytes);
  if (!header || (header.colorType !== 0 && header.colorType !== 3)) {
    throw new SegmentationDataError(
      `${where}: a label map must be a greyscale or palette PNG` +
        (header ? ` (PNG colour type ${header.colorType})` : ''),
    );
  }
  const record = { file: where };
  if (header.colorType === 0) {
    const img = await decodeImage(bytes, { channels: 1, record });
    return { data: img.data, height: img.height, width: img.width };
  }
  const palette = header.palette;
  if (!palette) throw new SegmentationDataError(`${where}: palette PNG without a PLTE chunk`);
  const index = new Map<number, number>();
  for (let i = palette.length / 3 - 1; i >= 0; i--) {
    index.set((palette[3 * i] << 16) | (palette[3 * i + 1] << 8) | palette[3 * i + 2], i);
  }
  const rgb = await decodeImage(bytes, { channels: 3, record });
  const out = new Uint8Array(rgb.height * rgb.width);
  for (let p = 0; p < out.length; p++) {
    const key = (rgb.data[3 * p] << 16) | (rgb.data[3 * p + 1] << 8) | rgb.data[3 * p + 2];
    const id = index.get(key);
    if (id === undefined) {
      throw new SegmentationDataError(`${where}: pixel ${p} has a colour outside the palette`);
    }
    out[p] = id;
  }
  return { data: out, height: rgb.height, width: rgb.width };
}

/** The tf.Example of an encoded image and its class-id map. */
async function segmentationExample(
  encoded: Uint8Array,
  label: { data: Uint8Array; height: number; width: number },
  filename: string,
  where: string,
): Promise<Uint8Array> {
  const size = await imageSize(encoded, where);
  if (size.height !== label.height || size.width !== label.width) {
    throw new SegmentationDataError(
      `${where}: the image is ${size.height}x${size.width} but its label map is ${label.height}x${label.width}`,
    );
  }
  return encodeExample({
    'image/encoded': bytesFeature(encoded),
    'image/format': bytesFeature(size.format === 'jpeg' ? 'jpeg' : size.format),
    'image/filename': bytesFeature(filename),
    'image/height': int64Feature(size.height),
    'image/width': int64Feature(size.width),
    'image/channels': int64Feature(3),
    'image/segmentation/class/encoded': bytesFeature(
      await encodeGrayPng(label.data, label.height, label.width),
    ),
    'image/segmentation/class/format': bytesFeature('png'),
  });
}

async function readBytes(path: string, what: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (err) {
    throw new SegmentationDataError(`cannot read ${what} ${path}: ${(err as Error).message}`);
  }
}

/**
 * COCO instance masks -> one semantic label map (row-major uint8 [H, W]):
 * - class = 1 + the category's position among the sorted category ids (0 = background), so the
 *   80 COCO categories become classes 1..80;
 * - non-crowd instances are painted from the largest mask to the smallest, so where objects
 *   overlap the smaller one (usually the one in front) wins;
 * - crowd regions are painted last with 255 (ignored in training and evaluation).
 */
export function cocoSemanticLabel(dataset: CocoDataset, image: CocoImageInfo): Uint8Array {
  const classOf = cocoClassIds(dataset);
  const { objects } = cocoObjectsForImage(dataset, image);
  const painted = objects.map((o) => {
    const mask = cocoObjectMask(dataset, image, o);
    let area = 0;
    for (const v of mask) area += v;
    return { mask, area, value: o.isCrowd ? 255 : (classOf.get(o.classId) as number) };
  });
  // Stable: equal areas keep the annotation order. Crowds sort after every instance.
  painted.sort((a, b) => Number(a.value === 255) - Number(b.value === 255) || b.area - a.area);
  const label = new Uint8Array(image.height * image.width);
  for (const { mask, value } of painted) {
    for (let p = 0; p < label.length; p++) if (mask[p]) label[p] = value;
  }
  return label;
}

/** Category id -> contiguous class (1-based, sorted ids). More than 254 categories is an error. */
export function cocoClassIds(dataset: CocoDataset): Map<number, number> {
  const ids = [...dataset.categories.keys()].sort((a, b) => a - b);
  if (ids.length > 254) {
    throw new SegmentationDataError(
      `${dataset.path}: ${ids.length} categories do not fit 8-bit labels with 0 and 255 reserved`,
    );
  }
  return new Map(ids.map((id, i) => [id, i + 1]));
}

export interface SegmentationToTfRecordOptions {
  layout: SegmentationLayout;
  /** voc / cityscapes: the dataset root. */
  root?: string;
  /** voc: the ImageSets list name; cityscapes: the split folder. Default 'train'. */
  split?: string;
  /** coco: instances JSON and image folder. */
  annotationsPath?: string;
  imagesDir?: string;
  /** shapes: how many images of which edge, and the data set's seed (defaults 0, 32, 0). */
  numExamples?: number;
  imageSize?: number;
  seed?: number;
  outputPrefix: string;
  numShards?: number;
  concurrency?: number;
  onProgress?: (done: number, total: number) => void;
}

export interface SegmentationConversionSummary extends ConversionSummary {
  /** coco: the label map (background + category names by class id) beside the shards. */
  labelMapPath?: string;
}

interface Job {
  total: number;
  make: (i: number) => Promise<Uint8Array>;
}

async function jobFor(opts: SegmentationToTfRecordOptions): Promise<Job & { labelMap?: string[] }> {
  const split = opts.split ?? 'train';
  if (opts.layout === 'coco') {
    if (!opts.annotationsPath || !opts.imagesDir) {
      throw new SegmentationDataError('layout coco needs --annotations and --images');
    }
    const dataset = await loadCocoAnnotations(opts.annotationsPath);
    const dir = opts.imagesDir;
    for (const image of dataset.images) cocoImagePath(dataset, image, dir, false);
    const ids = [...dataset.categories.keys()].sort((a, b) => a - b);
    cocoClassIds(dataset);
    return {
      total: dataset.images.length,
      labelMap: ['background', ...ids.map((id) => dataset.categories.get(id) as string)],
      make: async (i) => {
        const image = dataset.images[i];
        const path = cocoImagePath(dataset, image, dir, false);
        const label = cocoSemanticLabel(dataset, image);
        return segmentationExample(
          await readBytes(path, 'image'),
          { data: label, height: image.height, width: image.width },
          image.file_name,
          `${path} (image ${image.id})`,
        );
      },
    };
  }
  if (opts.layout === 'shapes') {
    const ds = generateShapes({
      numExamples: opts.numExamples ?? 0,
      imageSize: opts.imageSize ?? 32,
      seed: opts.seed ?? 0,
      withLabelMaps: true,
    });
    const [, h, w] = ds.shape;
    return {
      total: ds.labels.length,
      labelMap: ['background', ...ds.classNames],
      make: async (i) => {
        const image = ds.images.subarray(i * h * w * 3, (i + 1) * h * w * 3);
        const label = (ds.labelMaps as Uint8Array).subarray(i * h * w, (i + 1) * h * w);
        return segmentationExample(
          await encodePng({ data: image, height: h, width: w, channels: 3 }),
          { data: label, height: h, width: w },
          `shapes/${i}.png`,
          `generated shapes example ${i}`,
        );
      },
    };
  }
  if (!opts.root) throw new SegmentationDataError(`layout ${opts.layout} needs --root`);
  const pairs =
    opts.layout === 'voc'
      ? await listVocPairs(opts.root, split)
      : opts.layout === 'cityscapes'
        ? await listCityscapesPairs(opts.root, split)
        : (() => {
            throw new SegmentationDataError(
              `unknown layout '${String(opts.layout)}' (voc, cityscapes, coco or shapes)`,
            );
          })();
  return {
    total: pairs.length,
    make: async (i) => {
      const pair = pairs[i];
      const labelBytes = await readBytes(pair.labelPath, 'the label map');
      const label = await readLabelPng(labelBytes, pair.labelPath);
      return segmentationExample(
        await readBytes(pair.imagePath, 'image'),
        label,
        pair.filename,
        `${pair.imagePath} / ${basename(pair.labelPath)}`,
      );
    },
  };
}

/** Converts a segmentation dataset to sharded TFRecords. Partial shards are removed on failure. */
export async function segmentationToTfRecord(
  opts: SegmentationToTfRecordOptions,
): Promise<SegmentationConversionSummary> {
  const job = await jobFor(opts);
  const numShards = Math.max(1, Math.min(opts.numShards ?? 1, job.total));
  const writer = await ShardedTFRecordWriter.open(opts.outputPrefix, numShards);
  try {
    await orderedMap(
      Array.from({ length: job.total }, (_, i) => i),
      opts.concurrency ?? 2,
      (i) => job.make(i),
      async (record, i) => {
        await writer.write(record);
        opts.onProgress?.(i + 1, job.total);
      },
    );
    await writer.close();
  } catch (err) {
    await writer.abort();
    throw err;
  }
  let labelMapPath: string | undefined;
  if (job.labelMap) {
    labelMapPath = labelMapPathFor(opts.outputPrefix);
    await writeLabelMap(labelMapPath, labelMapFromNames(job.labelMap));
  }
  return { files: writer.files, numExamples: job.total, numAnnotationsSkipped: 0, labelMapPath };
}
