/**
 * Videos as RGB frames: a video file (mp4, webm, avi, mkv, mov... anything the system `ffmpeg`
 * decodes) or a folder of frame images (`.jpg`, `.jpeg`, `.png`, in sorted name order).
 *
 * Video files go through the system `ffmpeg` binary (Debian package `ffmpeg`; `VG_FFMPEG` names
 * another binary), spawned once per file with its output as a stream of binary PPM images
 * (`-f image2pipe -c:v ppm`): every frame carries its own size, so no separate probe is needed
 * and rotation metadata is applied by ffmpeg. The binary rather than an npm binding: the
 * maintained bindings either download a binary in an install script (ffmpeg-static, which an
 * offline install cannot run), build native code (beamcoder) or are a browser-oriented wasm
 * build (@ffmpeg/ffmpeg, tens of MB and a worker per call); Debian's ffmpeg is one apt line.
 *
 * Options follow DeepMind DMVR's `generate_from_file.py` (the writer of the SequenceExamples
 * Model Garden's video_input.py reads): a [start, end) trim in seconds, a frame rate (`fps`
 * filter) and a resize so the short side is `minResize`, applied in that order.
 */
import { spawn } from 'node:child_process';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileError } from '../../core/fs_errors.js';
import { decodeImage, type DecodedImage } from './image.js';

export interface VideoFileOptions {
  /** Seconds into the video where the clip starts / ends (DMVR's `start`, `end`). */
  start?: number;
  end?: number;
  /** Resample to this many frames per second (ffmpeg's `fps` filter); default: every frame. */
  fps?: number;
  /** Resize so the short side is this many pixels (DMVR's `min_resize`); default: as stored. */
  minResize?: number;
  /** The ffmpeg binary; default `$VG_FFMPEG` or `ffmpeg` on the PATH. */
  ffmpeg?: string;
  /** Refuse videos whose decoded RGB frames pass this many bytes (default 2 GiB): every frame
   * is held in memory (the evaluation's clip offsets depend on the video's length). */
  maxBytes?: number;
}

/** Frame images a folder video may hold. */
export const FRAME_EXT = /\.(jpe?g|png)$/i;

/** The ffmpeg binary to spawn. */
export function ffmpegBinary(opts: { ffmpeg?: string } = {}): string {
  return opts.ffmpeg ?? process.env.VG_FFMPEG ?? 'ffmpeg';
}

function checkOptions(path: string, o: VideoFileOptions): void {
  const bad = (field: string, want: string, v: unknown) => {
    throw new Error(`${path}: ${field} must be ${want}, got ${String(v)}`);
  };
  if (o.start !== undefined && !(o.start >= 0)) bad('start', 'a time >= 0 (seconds)', o.start);
  if (o.end !== undefined && !(o.end > (o.start ?? 0))) bad('end', 'after start', o.end);
  if (o.fps !== undefined && !(o.fps > 0)) bad('fps', '> 0', o.fps);
  if (o.minResize !== undefined && !(Number.isInteger(o.minResize) && o.minResize > 0)) {
    bad('minResize', 'a positive integer', o.minResize);
  }
}

/** ffmpeg's video filter chain for the options (null when none applies). */
function filterChain(o: VideoFileOptions): string | null {
  const f: string[] = [];
  if (o.start !== undefined || o.end !== undefined) {
    const parts = [];
    if (o.start !== undefined) parts.push(`start=${o.start}`);
    if (o.end !== undefined) parts.push(`end=${o.end}`);
    f.push(`trim=${parts.join(':')}`, 'setpts=PTS-STARTPTS');
  }
  if (o.fps !== undefined) f.push(`fps=${o.fps}`);
  if (o.minResize !== undefined) {
    // DMVR: width (iw / min(iw, ih)) * min_resize, height keeping the aspect ratio. Even sizes
    // are not needed for PPM; -2 would round, so the exact aspect-preserving -1 is used.
    const s = o.minResize;
    f.push(`scale=w='if(lte(iw,ih),${s},-1)':h='if(lte(iw,ih),-1,${s})'`);
  }
  return f.length ? f.join(',') : null;
}

/** Parses a stream of binary PPM (P6, maxval 255) images. */
export function parsePpmStream(bytes: Uint8Array, what: string): DecodedImage[] {
  const frames: DecodedImage[] = [];
  let at = 0;
  const isSpace = (b: number) => b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;
  const token = (): number => {
    while (at < bytes.length && isSpace(bytes[at])) at++;
    const from = at;
    while (at < bytes.length && !isSpace(bytes[at])) at++;
    const v = Number(new TextDecoder().decode(bytes.subarray(from, at)));
    if (!Number.isInteger(v) || v <= 0) throw new Error(`${what}: malformed PPM frame header`);
    return v;
  };
  while (at < bytes.length) {
    if (bytes[at] !== 0x50 || bytes[at + 1] !== 0x36) {
      throw new Error(`${what}: expected a PPM frame at byte ${at} of ffmpeg's output`);
    }
    at += 2;
    const width = token();
    const height = token();
    const maxval = token();
    if (maxval !== 255) throw new Error(`${what}: PPM frames of maxval ${maxval} are not 8-bit`);
    at += 1; // the single whitespace after maxval
    const n = width * height * 3;
    if (at + n > bytes.length) throw new Error(`${what}: ffmpeg's output ends inside a frame`);
    frames.push({ data: bytes.slice(at, at + n), height, width, channels: 3 });
    at += n;
  }
  return frames;
}

/**
 * Decodes a video file to RGB frames with ffmpeg. Clear one-line errors when ffmpeg is missing,
 * the file cannot be read, or it holds no decodable video stream.
 */
export async function decodeVideoFile(
  path: string,
  opts: VideoFileOptions = {},
): Promise<DecodedImage[]> {
  checkOptions(path, opts);
  try {
    const s = await stat(path);
    if (!s.isFile()) throw Object.assign(new Error('not a file'), { code: 'EISDIR' });
  } catch (err) {
    throw fileError(err, 'read video', path);
  }
  const bin = ffmpegBinary(opts);
  const vf = filterChain(opts);
  const maxBytes = opts.maxBytes ?? 2 ** 31 - 1;
  const args = ['-v', 'error', '-nostdin', '-i', path, '-map', '0:v:0', '-an'];
  if (vf) args.push('-vf', vf);
  args.push('-f', 'image2pipe', '-c:v', 'ppm', '-pix_fmt', 'rgb24', 'pipe:1');
  const { stdout, stderr, code, spawnError } = await new Promise<{
    stdout: Uint8Array;
    stderr: string;
    code: number | null;
    spawnError: NodeJS.ErrnoException | null;
  }>((resolve) => {
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let spawnError: NodeJS.ErrnoException | null = null;
    let bytes = 0;
    child.stdout.on('data', (b: Buffer) => {
      bytes += b.length;
      if (bytes > maxBytes && !spawnError) {
        spawnError = Object.assign(
          new Error(
            `the decoded frames pass ${Math.round(maxBytes / 2 ** 20)} MiB; trim the video (start/end), lower its frame rate (fps) or resolution (minResize)`,
          ),
          { code: 'ETOOBIG' },
        );
        child.kill();
        return;
      }
      out.push(b);
    });
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => {
      spawnError = e;
    });
    child.on('close', (code) => {
      const all = Buffer.concat(out);
      resolve({
        stdout: new Uint8Array(all.buffer, all.byteOffset, all.byteLength),
        stderr: Buffer.concat(err).toString('utf8'),
        code,
        spawnError,
      });
    });
  });
  if (spawnError) {
    const e = spawnError as NodeJS.ErrnoException;
    if (e.code === 'ETOOBIG') throw new Error(`cannot read video '${path}': ${e.message}`);
    if (e.code === 'ENOENT') {
      throw new Error(
        `cannot read video '${path}': ffmpeg was not found ('${bin}'); install it (Debian: apt-get install ffmpeg) or set VG_FFMPEG to its path`,
      );
    }
    throw new Error(`cannot read video '${path}': running '${bin}' failed: ${e.message}`);
  }
  const lines = stderr.split('\n').filter((l) => l.trim() !== '');
  if (code !== 0) {
    const why = lines.length ? lines[lines.length - 1].trim() : `ffmpeg exited with ${code}`;
    throw new Error(`${path}: not a video ffmpeg can decode (${why})`);
  }
  const frames = parsePpmStream(stdout, path);
  if (frames.length === 0) {
    throw new Error(`${path}: no video frames${vf ? ' (after trim / fps)' : ''}`);
  }
  return frames;
}

/** The frame images of a folder (sorted by name), decoded to RGB; they must share one size. */
export async function decodeFrameFolder(dir: string): Promise<DecodedImage[]> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((f) => FRAME_EXT.test(f)).sort();
  } catch (err) {
    throw fileError(err, 'read frame folder', dir);
  }
  if (names.length === 0) throw new Error(`${dir}: no frame images (.jpg, .jpeg, .png)`);
  const frames: DecodedImage[] = [];
  for (const name of names) {
    const file = join(dir, name);
    const bytes = await readFile(file).catch((err: unknown) => {
      throw fileError(err, 'read frame', file);
    });
    const img = await decodeImage(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length), {
      channels: 3,
      record: { file },
    });
    if (frames.length && (img.height !== frames[0].height || img.width !== frames[0].width)) {
      throw new Error(
        `${file}: ${img.height}x${img.width} frame in a folder of ${frames[0].height}x${frames[0].width} frames`,
      );
    }
    frames.push(img);
  }
  return frames;
}

/** A video path: a frame folder or a video file. */
export async function decodeVideoPath(
  path: string,
  opts: VideoFileOptions = {},
): Promise<DecodedImage[]> {
  let isDir: boolean;
  try {
    isDir = (await stat(path)).isDirectory();
  } catch (err) {
    throw fileError(err, 'read video', path);
  }
  if (!isDir) return decodeVideoFile(path, opts);
  const set = Object.entries(opts).find(
    ([k, v]) => k !== 'ffmpeg' && k !== 'maxBytes' && v !== undefined,
  );
  if (set) throw new Error(`${path}: ${set[0]} applies to video files, not frame folders`);
  return decodeFrameFolder(path);
}
