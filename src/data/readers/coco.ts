/**
 * Direct COCO reader: instances JSON + image folder -> detection examples, with no TFRecord step.
 *
 * Yields, per entry of `images` in file order, exactly what {@link TfExampleDecoder} gives for
 * the record `coco-to-tfrecord` writes for that image: the same objects (invalid boxes skipped
 * as Model Garden's converter does), boxes [ymin, xmin, ymax, xmax] normalised and rounded to
 * float32, classes, crowd flags, float32 areas, and masks rasterised from the segmentations
 * (without the PNG round trip, which is lossless).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  CocoFormatError,
  cocoObjectMask,
  cocoObjectsForImage,
  loadCocoAnnotations,
} from '../converters/coco_annotations.js';
import type { DetectionExample } from '../decoders/detection.js';
import { decodeImage, imageSize } from '../decoders/image.js';

export interface CocoExample extends DetectionExample {
  filename: string;
  /** Category names of the objects. */
  classText: string[];
}

export interface ReadCocoOptions {
  /** Rasterise masks (default true). */
  includeMasks?: boolean;
  /** Decode the image pixels (default true; false only reads the header for its size). */
  decodeImage?: boolean;
}

export async function* readCocoDataset(
  annotationsPath: string,
  imagesDir: string,
  opts: ReadCocoOptions = {},
): AsyncGenerator<CocoExample> {
  const dataset = await loadCocoAnnotations(annotationsPath);
  const includeMasks = opts.includeMasks ?? true;
  for (const info of dataset.images) {
    const path = join(imagesDir, info.file_name);
    let bytes: Buffer;
    try {
      bytes = await readFile(path);
    } catch (err) {
      throw new CocoFormatError(
        `image ${info.id}: cannot read ${path} (${(err as Error).message})`,
      );
    }
    const encoded = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const image =
      opts.decodeImage === false
        ? undefined
        : await decodeImage(encoded, { record: { file: path } });
    const size = image ?? (await imageSize(encoded, path));
    if (size.height !== info.height || size.width !== info.width) {
      throw new CocoFormatError(
        `image ${info.id} (${path}) is ${size.height}x${size.width} but ${annotationsPath} says ${info.height}x${info.width}`,
      );
    }
    const { objects } = cocoObjectsForImage(dataset, info);
    const n = objects.length;
    const boxes = new Float32Array(n * 4);
    objects.forEach((o, j) => boxes.set([o.ymin, o.xmin, o.ymax, o.xmax], j * 4));
    const example: CocoExample = {
      sourceId: String(info.id),
      filename: info.file_name,
      image,
      encoded,
      height: info.height,
      width: info.width,
      numInstances: n,
      boxes,
      classes: Int32Array.from(objects, (o) => o.classId),
      classText: objects.map((o) => o.className),
      isCrowd: objects.map((o) => o.isCrowd),
      areas: Float32Array.from(objects, (o) => o.area),
    };
    if (includeMasks) {
      const plane = info.height * info.width;
      const masks = new Uint8Array(n * plane);
      objects.forEach((o, j) => masks.set(cocoObjectMask(dataset, info, o), j * plane));
      example.masks = masks;
    }
    yield example;
  }
}
