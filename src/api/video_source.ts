/**
 * Where `predict`'s video paths are read in Node: a video file through the system ffmpeg or a
 * folder of frame images (src/data/decoders/video_file.ts). package.json `browser` maps this
 * module to ./video_source.browser.js, which refuses paths.
 */
import { fileURLToPath } from 'node:url';
import type { RawImage } from './images.js';
import { decodeVideoPath } from '../data/decoders/video_file.js';

/** The RGB frames of the video file or frame folder at `input` (a path or `file:` URL). */
export async function readVideoPath(input: string | URL): Promise<RawImage[]> {
  if (typeof input === 'string') return decodeVideoPath(input);
  if (input.protocol !== 'file:') throw new Error(`${input.href}: only file: URLs of videos`);
  return decodeVideoPath(fileURLToPath(input));
}
