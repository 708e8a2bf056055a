/**
 * The evaluation preprocessing a model declares (src/core/inference.ts `Preprocessing`), applied
 * to one decoded image with the parsers' own data ops, so `predict` sees what evaluation sees.
 */
import type { ImageFrame, Preprocessing } from '../../core/inference.js';
import { Rng } from '../../core/random.js';
import { evalClipViews, resizeSmallestSize } from '../parsers/video_parser.js';
import { centerCropImage } from './crop.js';
import type { Image } from './image.js';
import { normalizeImage } from './normalize.js';
import { resizeImage } from './resize.js';
import { resizeAndCropImage } from './resize_and_crop.js';

export interface PreprocessedImage {
  /** Float32 [height, width, channels] of the model input (padded size for 'resize_pad'). */
  data: Float32Array;
  shape: [number, number, number];
  frame: ImageFrame;
}

/**
 * Preprocesses a uint8 HWC image as `p` says: 'center_crop' as Model Garden's classification
 * `_parse_eval_image` (crop, resize, normalise); 'resize_pad' as the detection parsers' eval path
 * (normalise, then resize_and_crop_image without jitter: aspect-preserving fit, zero padding).
 */
export function preprocessImage(image: Image, p: Preprocessing): PreprocessedImage {
  const [height, width, channels] = p.input_size;
  if (image.channels !== channels) {
    throw new Error(
      `preprocess: the model takes ${channels}-channel images, got ${image.channels}`,
    );
  }
  if (p.interpolation !== 'bilinear' && p.interpolation !== 'nearest') {
    throw new Error(
      `preprocess: interpolation '${String(p.interpolation)}' is not supported (bilinear, nearest)`,
    );
  }
  const norm = { mean: p.mean, stddev: p.stddev };
  const original: [number, number] = [image.height, image.width];
  if (p.method === 'center_crop') {
    const cropped =
      p.center_crop_fraction === null ? image : centerCropImage(image, p.center_crop_fraction);
    const resized = resizeImage(cropped, height, width, p.interpolation);
    const x = normalizeImage(resized, norm);
    return {
      data: x.data,
      shape: [height, width, channels],
      frame: {
        original,
        scaled: [height, width],
        scale: [height / cropped.height, width / cropped.width],
      },
    };
  }
  if (p.method === 'video_clip') {
    throw new Error('preprocess: a video model takes videos (preprocessVideo), not an image');
  }
  if (p.method === 'resize_pad') {
    const padded = p.padded_size ?? [height, width];
    // Without jitter resize_and_crop_image draws nothing: the stream is never read.
    const { image: out, imageInfo } = resizeAndCropImage(normalizeImage(image, norm), new Rng(0), {
      desiredSize: [height, width],
      paddedSize: padded,
      method: p.interpolation,
    });
    return {
      data: Float32Array.from(out.data),
      shape: [padded[0], padded[1], channels],
      frame: {
        original,
        scaled: [imageInfo[2], imageInfo[3]],
        scale: [imageInfo[4], imageInfo[5]],
      },
    };
  }
  throw new Error(`preprocess: unknown method '${String(p.method)}' (center_crop, resize_pad)`);
}

/** A preprocessed video: its views' frames [views * num_frames, H, W, C]. */
export interface PreprocessedVideo {
  data: Float32Array;
  shape: [number, number, number, number];
  frame: ImageFrame;
}

/**
 * A video's evaluation views as Model Garden's video parser makes them (`p.method`
 * 'video_clip'; the parser's own {@link evalClipViews}): float32 [views * num_frames, H, W, 3],
 * views crop-major. `frames` are the decoded RGB frames, in order, of one size.
 */
export async function preprocessVideo(
  frames: readonly Image[],
  p: Preprocessing,
): Promise<PreprocessedVideo> {
  const v = p.video;
  if (p.method !== 'video_clip' || !v) {
    throw new Error(`preprocessVideo: the model takes images ('${p.method}'), not videos`);
  }
  const [height, width, channels] = p.input_size;
  if (frames.length === 0) throw new Error('preprocess: the video has no frames');
  const { height: h, width: w } = frames[0];
  frames.forEach((f, t) => {
    if (f.channels !== channels) {
      throw new Error(
        `preprocess: frame ${t} has ${f.channels} channels, the model takes ${channels}`,
      );
    }
    if (f.height !== h || f.width !== w) {
      throw new Error(`preprocess: frame ${t} is ${f.height}x${f.width}, frame 0 ${h}x${w}`);
    }
  });
  // MG normalises with one scale and shift ([0, 1] or [-1, 1]): one mean and stddev.
  const [mean, std] = [p.mean[0], p.stddev[0]];
  if (!p.mean.every((m) => m === mean) || !p.stddev.every((s) => s === std)) {
    throw new Error(
      'preprocess: video normalisation takes one mean and one stddev for all channels',
    );
  }
  const data = await evalClipViews(frames.length, (t) => frames[t], {
    frames: v.num_frames,
    height,
    width,
    stride: v.temporal_stride,
    clips: v.num_test_clips,
    crops: v.num_test_crops,
    minSize: v.min_image_size,
    scale: 1 / std,
    shift: -mean / std,
    fail: (detail) => new Error(`preprocess: ${detail}`),
  });
  const [rh, rw] = resizeSmallestSize(h, w, v.min_image_size);
  return {
    data,
    shape: [v.num_test_clips * v.num_test_crops * v.num_frames, height, width, channels],
    frame: { original: [h, w], scaled: [height, width], scale: [rh / h, rw / w] },
  };
}
