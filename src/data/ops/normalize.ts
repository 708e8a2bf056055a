/**
 * Model Garden's image normalisation: `(image - MEAN_RGB) / STDDEV_RGB` per channel on the
 * 0..255 scale (preprocess_ops.normalize_image as the classification and detection parsers call
 * it, with offset MEAN_RGB and scale STDDEV_RGB on a float image).
 */
import { MEAN_RGB, STDDEV_RGB } from '../in_memory.js';
import { checkImage, type Image } from './image.js';

export interface NormalizeOptions {
  /** Per-channel offset on the 0..255 scale. Default MEAN_RGB (3 channels). */
  mean?: readonly number[];
  /** Per-channel divisor on the 0..255 scale. Default STDDEV_RGB (3 channels). */
  stddev?: readonly number[];
}

function perChannel(field: string, v: readonly number[], channels: number): Float32Array {
  if (v.length !== channels && v.length !== 1) {
    throw new RangeError(
      `normalizeImage: ${field} has ${v.length} values, the image has ${channels} channels`,
    );
  }
  if (v.some((x) => !Number.isFinite(x)) || (field === 'stddev' && v.some((x) => x === 0))) {
    throw new RangeError(
      `normalizeImage: ${field} must be finite (stddev non-zero): [${v.join(', ')}]`,
    );
  }
  return Float32Array.from({ length: channels }, (_, c) => v[v.length === 1 ? 0 : c]);
}

/**
 * Normalises an HWC image (uint8 or float32, values on 0..255) to float32
 * `(v - mean[c]) / stddev[c]`, computed in float32 as TF does.
 */
export function normalizeImage(image: Image, opts: NormalizeOptions = {}): Image<Float32Array> {
  checkImage('normalizeImage', image);
  const c = image.channels;
  const mean = perChannel('mean', opts.mean ?? MEAN_RGB, c);
  const std = perChannel('stddev', opts.stddev ?? STDDEV_RGB, c);
  const src = image.data;
  const out = new Float32Array(src.length);
  // One strided pass per channel (no per-element modulo): the same float32 values.
  for (let k = 0; k < c; k++) {
    const m = mean[k];
    const sd = std[k];
    for (let i = k; i < src.length; i += c) out[i] = Math.fround(src[i] - m) / sd;
  }
  return { ...image, data: out };
}
