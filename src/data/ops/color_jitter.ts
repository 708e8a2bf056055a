/**
 * Colour jitter as Model Garden's preprocess_ops.color_jitter (torchvision ColorJitter-like):
 * brightness, then contrast, then saturation, each with a factor ~ U(max(0, 1 - m), 1 + m) and
 * applied with augment.brightness / augment.contrast / a blend with the grayscale image.
 */
import type { Rng } from '../../core/random.js';
import {
  blend,
  brightness as applyBrightness,
  contrast as applyContrast,
  grayscale,
} from './color_ops.js';
import { toUint8, type Image } from './image.js';

export interface ColorJitterOptions {
  /** Brightness magnitude (>= 0). Default 0. */
  brightness?: number;
  /** Contrast magnitude (>= 0). Default 0. */
  contrast?: number;
  /** Saturation magnitude (>= 0). Default 0. */
  saturation?: number;
}

/**
 * Jitters a uint8 RGB image (a float image is clipped and truncated to uint8 first, as Model
 * Garden's `tf.cast(image, tf.uint8)`). Always draws three `rng.uniform()`s, in the order
 * brightness, contrast, saturation (a magnitude of 0 gives factor 1, which changes nothing).
 */
export function colorJitter(
  image: Image,
  rng: Rng,
  opts: ColorJitterOptions = {},
): Image<Uint8Array> {
  const mags = [opts.brightness ?? 0, opts.contrast ?? 0, opts.saturation ?? 0];
  const names = ['brightness', 'contrast', 'saturation'];
  mags.forEach((m, i) => {
    if (!(m >= 0)) throw new RangeError(`colorJitter: ${names[i]} must be >= 0, got ${m}`);
  });
  const factor = (m: number) => rng.uniformRange(Math.max(0, 1 - m), 1 + m);
  let out = toUint8(image);
  out = applyBrightness(out, factor(mags[0]));
  out = applyContrast(out, factor(mags[1]));
  out = blend(grayscale(out), out, factor(mags[2]));
  return out;
}
