/**
 * Videos -> sharded TFRecords of tf.SequenceExamples in Model Garden's video_input.py layout:
 * context `clip/label/index` (int64) and `clip/label/text`, feature list `image/encoded` (one
 * JPEG per frame, quality 95 as MG's generator writes them).
 *
 * Sources: decoded videos ({@link writeVideoTfRecords}, e.g. the generated moving shapes), or a
 * folder `<root>/<class>/<video>/<frame image>` of frame images ({@link frameFoldersToTfRecord};
 * classes and frames in sorted name order). A label map is written beside the shards.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { bytesFeature, encodeSequenceExample, int64Feature } from '../../core/proto/index.js';
import { labelMapFromNames, writeLabelMap } from '../label_map.js';
import { labelMapPathFor } from './folder.js';
import { ShardedTFRecordWriter } from './sharded_writer.js';

/** One video: encoded frames (JPEG or PNG bytes) in order, and its class. */
export interface EncodedVideo {
  frames: Uint8Array[];
  label: number;
  labelText?: string;
}

/** A tf.SequenceExample of MG's video layout. */
export function encodeVideoExample(video: EncodedVideo): Uint8Array {
  const context: Record<string, ReturnType<typeof int64Feature>> = {
    'clip/label/index': int64Feature(video.label),
  };
  if (video.labelText !== undefined) context['clip/label/text'] = bytesFeature(video.labelText);
  return encodeSequenceExample({
    context,
    featureLists: { 'image/encoded': video.frames.map((f) => bytesFeature(f)) },
  });
}

/** HWC uint8 RGB pixels as JPEG (quality 95). */
export async function encodeJpeg(pixels: Uint8Array, height: number, width: number) {
  const buf = await sharp(pixels, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 95 })
    .toBuffer();
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

/** Decoded videos [N, T, H, W, 3] uint8 with labels into `prefix` shards (and a label map). */
export async function writeVideoTfRecords(
  prefix: string,
  data: { videos: Uint8Array; labels: ArrayLike<number>; shape: number[]; classNames: string[] },
  numShards = 1,
): Promise<{ records: number; files: string[] }> {
  const [n, T, H, W, C] = data.shape;
  if (C !== 3) throw new Error(`writeVideoTfRecords: RGB videos only, got ${C} channels`);
  const writer = await ShardedTFRecordWriter.open(prefix, numShards);
  const frame = H * W * 3;
  try {
    for (let i = 0; i < n; i++) {
      const frames: Uint8Array[] = [];
      for (let t = 0; t < T; t++) {
        const at = (i * T + t) * frame;
        frames.push(await encodeJpeg(data.videos.subarray(at, at + frame), H, W));
      }
      const label = data.labels[i];
      await writer.write(encodeVideoExample({ frames, label, labelText: data.classNames[label] }));
    }
  } finally {
    await writer.close();
  }
  await writeLabelMap(labelMapPathFor(prefix), labelMapFromNames(data.classNames));
  return { records: n, files: writer.files };
}

const FRAME_EXT = /\.(jpe?g|png)$/i;

/** `<root>/<class>/<video>/<frames>` folders into `prefix` shards (and a label map). */
export async function frameFoldersToTfRecord(
  root: string,
  prefix: string,
  numShards = 1,
): Promise<{ records: number; classNames: string[]; files: string[] }> {
  const dirs = async (p: string) =>
    (await readdir(p, { withFileTypes: true }))
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort();
  const classNames = await dirs(root);
  if (classNames.length === 0) throw new Error(`${root}: no class folders`);
  const writer = await ShardedTFRecordWriter.open(prefix, numShards);
  let records = 0;
  try {
    for (let label = 0; label < classNames.length; label++) {
      const classDir = join(root, classNames[label]);
      for (const video of await dirs(classDir)) {
        const dir = join(classDir, video);
        const names = (await readdir(dir)).filter((f) => FRAME_EXT.test(f)).sort();
        if (names.length === 0) throw new Error(`${dir}: no frame images (.jpg, .jpeg, .png)`);
        const frames = await Promise.all(names.map((f) => readFile(join(dir, f))));
        await writer.write(
          encodeVideoExample({
            frames: frames.map((b) => new Uint8Array(b.buffer, b.byteOffset, b.byteLength)),
            label,
            labelText: classNames[label],
          }),
        );
        records++;
      }
    }
  } finally {
    await writer.close();
  }
  await writeLabelMap(labelMapPathFor(prefix), labelMapFromNames(classNames));
  return { records, classNames, files: writer.files };
}
