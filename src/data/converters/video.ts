/**
 * Videos -> sharded TFRecords of tf.SequenceExamples in Model Garden's video_input.py layout:
 * context `clip/label/index` (int64) and `clip/label/text`, feature list `image/encoded` (one
 * JPEG per frame, quality 95 as MG's generator writes them).
 *
 * Sources: decoded videos ({@link writeVideoTfRecords}, e.g. the generated moving shapes), or
 * videos on disk ({@link videosToTfRecord}): a folder `<root>/<class>/<video>` where each video is
 * a video file (decoded by ffmpeg, src/data/decoders/video_file.ts) or a folder of frame images
 * (stored as they are), or a CSV in DeepMind DMVR's `generate_from_file.py` layout (the
 * Kinetics-style list Model Garden's video SequenceExamples are made from): header
 * `video_path,start,end,label`, start/end in seconds (optional columns). Classes are the sorted
 * class names (or a given label map's ids); a label map is written beside the shards.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join } from 'node:path';
import sharp from 'sharp';
import { fileError } from '../../core/fs_errors.js';
import { bytesFeature, encodeSequenceExample, int64Feature } from '../../core/proto/index.js';
import { decodeVideoFile, FRAME_EXT, type VideoFileOptions } from '../decoders/video_file.js';
import { labelMapFromNames, readLabelMap, writeLabelMap } from '../label_map.js';
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

/** File extensions taken as video files in a class folder (others are skipped and counted). */
export const VIDEO_EXT = /\.(mp4|m4v|mov|webm|mkv|avi|mpe?g|flv|wmv|ogv|3gp|ts)$/i;

/** One video to convert: where it is, its class name and (files) its clip in seconds. */
interface VideoEntry {
  path: string;
  className: string;
  start?: number;
  end?: number;
  /** Where it was listed, for errors (`file.csv line 3`). */
  where: string;
}

export interface VideoConversionOptions {
  /** `<inputDir>/<class>/<video file or frame folder>`. */
  inputDir?: string;
  /** A DMVR CSV (`video_path,start,end,label`) instead of `inputDir`. */
  csv?: string;
  /** Folder relative CSV paths are resolved against (default: the CSV's folder). */
  videoRoot?: string;
  outputPrefix: string;
  numShards?: number;
  /** Class ids from this label map (pbtxt, csv or json) instead of the sorted class names. */
  labelMap?: string;
  /** Video files only: trim is per CSV row; frame rate, short-side resize and the ffmpeg binary. */
  fps?: number;
  minResize?: number;
  ffmpeg?: string;
}

export interface VideoConversionSummary {
  records: number;
  classNames: string[];
  files: string[];
  labelMapPath: string;
  /** Files in class folders that are neither videos nor frame folders. */
  skipped: string[];
}

async function subdirs(p: string): Promise<string[]> {
  try {
    return (await readdir(p, { withFileTypes: true }))
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort();
  } catch (err) {
    throw fileError(err, 'read folder', p);
  }
}

async function listFolder(root: string): Promise<{ entries: VideoEntry[]; skipped: string[] }> {
  const classes = await subdirs(root);
  if (classes.length === 0) throw new Error(`${root}: no class folders (<class>/<video>)`);
  const entries: VideoEntry[] = [];
  const skipped: string[] = [];
  for (const className of classes) {
    const dir = join(root, className);
    const items = (await readdir(dir, { withFileTypes: true })).sort((a, b) =>
      a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
    );
    for (const e of items) {
      const path = join(dir, e.name);
      if (e.isDirectory() || VIDEO_EXT.test(e.name)) {
        entries.push({ path, className, where: path });
      } else if (!e.name.startsWith('.')) {
        skipped.push(path);
      }
    }
  }
  return { entries, skipped };
}

/** Splits CSV text into rows of fields (RFC 4180: quoted fields, "" inside quotes). */
export function parseCsv(text: string, where: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  let line = 1;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else {
        if (ch === '\n') line++;
        field += ch;
      }
    } else if (ch === '"' && field === '') quoted = true;
    else if (ch === ',') {
      row.push(field);
      field = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      field = '';
      if (row.length > 1 || row[0] !== '') rows.push(row);
      row = [];
      line++;
    } else field += ch;
  }
  if (quoted) throw new Error(`${where}: line ${line}: unterminated quoted field`);
  row.push(field);
  if (row.length > 1 || row[0] !== '') rows.push(row);
  return rows;
}

async function listCsv(csv: string, videoRoot: string | undefined): Promise<VideoEntry[]> {
  let text: string;
  try {
    text = await readFile(csv, 'utf8');
  } catch (err) {
    throw fileError(err, 'read CSV', csv);
  }
  const rows = parseCsv(text, csv);
  if (rows.length === 0)
    throw new Error(`${csv}: empty (expected a header video_path,start,end,label)`);
  const header = rows[0].map((h) => h.trim());
  const col = (name: string) => header.indexOf(name);
  const [iPath, iStart, iEnd, iLabel] = ['video_path', 'start', 'end', 'label'].map(col);
  if (iPath < 0 || iLabel < 0) {
    throw new Error(
      `${csv}: the header must name video_path and label (DMVR layout video_path,start,end,label), got ${header.join(',')}`,
    );
  }
  const root = videoRoot ?? dirname(csv);
  return rows.slice(1).map((r, k) => {
    const where = `${csv} line ${k + 2}`;
    if (r.length !== header.length) {
      throw new Error(`${where}: ${r.length} fields, the header has ${header.length}`);
    }
    const time = (i: number, name: string) => {
      if (i < 0 || r[i].trim() === '') return undefined;
      const v = Number(r[i]);
      if (!(Number.isFinite(v) && v >= 0))
        throw new Error(`${where}: ${name} '${r[i]}' is not a time in seconds`);
      return v;
    };
    const p = r[iPath].trim();
    if (p === '') throw new Error(`${where}: empty video_path`);
    const className = r[iLabel].trim();
    if (className === '') throw new Error(`${where}: empty label`);
    return {
      path: isAbsolute(p) ? p : join(root, p),
      className,
      start: time(iStart, 'start'),
      end: time(iEnd, 'end'),
      where,
    };
  });
}

/** One video's encoded frames: a frame folder's files as stored, a video file's as JPEG. */
async function encodedFrames(e: VideoEntry, o: VideoFileOptions): Promise<Uint8Array[]> {
  let isDir: boolean;
  try {
    isDir = (await stat(e.path)).isDirectory();
  } catch (err) {
    throw new Error(`${e.where}: ${fileError(err, 'read video', e.path).message}`, { cause: err });
  }
  if (isDir) {
    if (
      e.start !== undefined ||
      e.end !== undefined ||
      o.fps !== undefined ||
      o.minResize !== undefined
    ) {
      throw new Error(
        `${e.where}: start, end, fps and min_resize apply to video files, not frame folders`,
      );
    }
    const names = (await readdir(e.path)).filter((f) => FRAME_EXT.test(f)).sort();
    if (names.length === 0) throw new Error(`${e.path}: no frame images (.jpg, .jpeg, .png)`);
    const frames = await Promise.all(names.map((f) => readFile(join(e.path, f))));
    return frames.map((b) => new Uint8Array(b.buffer, b.byteOffset, b.byteLength));
  }
  const frames = await decodeVideoFile(e.path, { ...o, start: e.start, end: e.end });
  const out: Uint8Array[] = [];
  for (const f of frames) out.push(await encodeJpeg(f.data, f.height, f.width));
  return out;
}

/**
 * Videos on disk (a class-folder tree or a DMVR CSV, see the module comment) into `outputPrefix`
 * shards of Model Garden's video SequenceExamples, and a label map beside them.
 */
export async function videosToTfRecord(
  opts: VideoConversionOptions,
): Promise<VideoConversionSummary> {
  if ((opts.inputDir === undefined) === (opts.csv === undefined)) {
    throw new Error('video-to-tfrecord: give an input folder or a CSV (one of them)');
  }
  if (opts.videoRoot !== undefined && opts.csv === undefined) {
    throw new Error('video-to-tfrecord: video_root applies to a CSV input');
  }
  const { entries, skipped } =
    opts.csv !== undefined
      ? { entries: await listCsv(opts.csv, opts.videoRoot), skipped: [] }
      : await listFolder(opts.inputDir!);
  if (entries.length === 0) throw new Error(`${opts.csv ?? opts.inputDir}: no videos`);
  let ids: Map<string, number>;
  let classNames: string[];
  if (opts.labelMap !== undefined) {
    const map = await readLabelMap(opts.labelMap);
    ids = new Map([...map.values()].map((it) => [it.name, it.id]));
    classNames = [];
    for (const it of map.values()) classNames[it.id] = it.name;
    const unknown = entries.find((e) => !ids.has(e.className));
    if (unknown) {
      throw new Error(`${unknown.where}: class '${unknown.className}' is not in ${opts.labelMap}`);
    }
  } else {
    classNames = [...new Set(entries.map((e) => e.className))].sort();
    ids = new Map(classNames.map((n, i) => [n, i]));
  }
  const fileOpts: VideoFileOptions = {
    fps: opts.fps,
    minResize: opts.minResize,
    ffmpeg: opts.ffmpeg,
  };
  const writer = await ShardedTFRecordWriter.open(opts.outputPrefix, opts.numShards ?? 1);
  try {
    for (const e of entries) {
      await writer.write(
        encodeVideoExample({
          frames: await encodedFrames(e, fileOpts),
          label: ids.get(e.className)!,
          labelText: e.className,
        }),
      );
    }
  } finally {
    await writer.close();
  }
  const labelMapPath = labelMapPathFor(opts.outputPrefix);
  if (opts.labelMap !== undefined) {
    await writeLabelMap(labelMapPath, await readLabelMap(opts.labelMap));
  } else {
    await writeLabelMap(labelMapPath, labelMapFromNames(classNames));
  }
  return { records: entries.length, classNames, files: writer.files, labelMapPath, skipped };
}
