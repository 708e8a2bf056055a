/**
 * What `predict` accepts as a video: a path or `file:` URL (Node) of a video file (decoded by the
 * system ffmpeg, src/data/decoders/video_file.ts) or of a folder of frame images (Node only: ./video_source.ts), decoded RGB
 * frames (`{data, height, width, channels}` uint8 HWC, in order), or a [T, H, W, 3] tfjs tensor
 * of 0..255 values. The file system and ffmpeg are reached only when a path is given.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { RawImage } from './images.js';
import { readVideoPath } from './video_source.js';

export type VideoInput = string | URL | readonly RawImage[] | tf.Tensor4D;

/** The video's RGB frames, in order. */
export async function toVideo(input: unknown): Promise<RawImage[]> {
  if (typeof input === 'string' || input instanceof URL) return readVideoPath(input);
  if (input instanceof tf.Tensor) {
    if (input.rank !== 4 || input.shape[3] !== 3) {
      throw new Error(`video tensor [${input.shape}]: expected [frames, height, width, 3]`);
    }
    const [t, h, w] = input.shape;
    const values = await input.data();
    const all = Uint8Array.from(values, (v) => Math.max(0, Math.min(255, Math.round(v))));
    return Array.from({ length: t }, (_, i) => ({
      data: all.subarray(i * h * w * 3, (i + 1) * h * w * 3),
      height: h,
      width: w,
      channels: 3,
    }));
  }
  if (Array.isArray(input)) {
    return (input as RawImage[]).map((f, i) => {
      if (f?.channels !== 3 || f.data?.length !== f.height * f.width * 3) {
        throw new Error(`video frame ${i}: expected {data, height, width, channels: 3} uint8 RGB`);
      }
      return f;
    });
  }
  throw new Error(
    'a video model takes a video file or frame folder path, decoded RGB frames or a [frames, height, width, 3] tensor',
  );
}
