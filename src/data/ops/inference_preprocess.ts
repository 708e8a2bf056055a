/**
 * The evaluation preprocessing a model declares (src/core/inference.ts `Preprocessing`), applied
 * to one decoded image with the parsers' own data ops, so `predict` sees what evaluation sees.
 */
import type { ImageFrame, Preprocessing } from '../../core/inference.js';
import { Rng } from '../../core/random.js';
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
