/**
 * The pixel (non-geometric) operations of AutoAugment / RandAugment on uint8 HWC images, with the
 * formulas of Model Garden's official/vision/ops/augment.py (PIL-equivalent ops written in TF).
 *
 * TF details kept: blends truncate toward zero when casting back to uint8 (and clip only when
 * extrapolating); grayscale is tf.image.rgb_to_grayscale (weights 0.2989/0.5870/0.1140 on [0, 1]
 * values, back to uint8 as `trunc(gray * 255.5)`); Contrast's "mean" is Model Garden's
 * `sum(histogram) / 256`, i.e. the pixel count / 256, not the mean grey level (the reference's
 * behaviour, kept so that augmented data matches it).
 */
import { checkImage, type Image } from './image.js';

const f32 = Math.fround;

type U8Image = Image<Uint8Array>;

function checkU8(where: string, image: Image, channels?: number): asserts image is U8Image {
  checkImage(where, image);
  if (!(image.data instanceof Uint8Array)) {
    throw new TypeError(`${where}: needs a uint8 image (use toUint8 first)`);
  }
  if (channels !== undefined && image.channels !== channels) {
    throw new RangeError(`${where}: needs ${channels} channels, got ${image.channels}`);
  }
}

function mapPixels(image: U8Image, fn: (v: number) => number): U8Image {
  const out = new Uint8Array(image.data.length);
  for (let i = 0; i < out.length; i++) out[i] = fn(image.data[i]);
  return { ...image, data: out };
}

/**
 * augment.blend: `image1 + factor * (image2 - image1)`; factor 0 gives image1, 1 gives image2;
 * interpolation (0 < factor < 1) truncates, extrapolation clips to [0, 255] then truncates.
 */
export function blend(image1: U8Image, image2: U8Image, factor: number): U8Image {
  checkU8('blend', image1);
  checkU8('blend', image2);
  if (image1.data.length !== image2.data.length) {
    throw new RangeError('blend: images differ in size');
  }
  if (factor === 0) return { ...image1, data: image1.data.slice() };
  if (factor === 1) return { ...image2, data: image2.data.slice() };
  const f = f32(factor);
  const interpolate = factor > 0 && factor < 1;
  const a = image1.data;
  const b = image2.data;
  const out = new Uint8Array(a.length);
  for (let i = 0; i < a.length; i++) {
    const t = f32(a[i] + f32(f * (b[i] - a[i])));
    out[i] = interpolate ? Math.trunc(t) : Math.trunc(Math.min(Math.max(t, 0), 255));
  }
  return { ...image1, data: out };
}

/** tf.image.rgb_to_grayscale on uint8 RGB: one channel. */
export function rgbToGrayscale(image: Image): U8Image {
  checkU8('rgbToGrayscale', image, 3);
  const n = image.height * image.width;
  const out = new Uint8Array(n);
  const inv255 = f32(1 / 255);
  const wR = f32(0.2989);
  const wG = f32(0.587);
  const wB = f32(0.114);
  const d = image.data;
  for (let i = 0; i < n; i++) {
    const r = f32(d[3 * i] * inv255);
    const g = f32(d[3 * i + 1] * inv255);
    const b = f32(d[3 * i + 2] * inv255);
    const gray = f32(f32(f32(r * wR) + f32(g * wG)) + f32(b * wB));
    out[i] = Math.trunc(f32(gray * 255.5));
  }
  return { data: out, height: image.height, width: image.width, channels: 1 };
}

/** augment.grayscale: the grey level replicated to 3 channels. */
export function grayscale(image: Image): U8Image {
  const gray = rgbToGrayscale(image);
  const out = new Uint8Array(gray.data.length * 3);
  for (let i = 0; i < gray.data.length; i++) {
    out[3 * i] = out[3 * i + 1] = out[3 * i + 2] = gray.data[i];
  }
  return { data: out, height: image.height, width: image.width, channels: 3 };
}

/** augment.color (PIL Color): blend of the grayscale image and the image by `factor`. */
export function color(image: Image, factor: number): U8Image {
  return blend(grayscale(image), image as U8Image, factor);
}

/** augment.contrast (PIL Contrast, with Model Garden's histogram "mean"; see the module comment). */
export function contrast(image: Image, factor: number): U8Image {
  checkU8('contrast', image, 3);
  const pixels = image.height * image.width;
  const mean = Math.trunc(Math.min(Math.max(f32(pixels / 256), 0), 255));
  const degenerate: U8Image = { ...image, data: new Uint8Array(image.data.length).fill(mean) };
  return blend(degenerate, image, factor);
}

/** augment.brightness (PIL Brightness): blend of black and the image by `factor`. */
export function brightness(image: Image, factor: number): U8Image {
  checkU8('brightness', image);
  return blend({ ...image, data: new Uint8Array(image.data.length) }, image, factor);
}

/** augment.invert: 255 - v. */
export function invert(image: Image): U8Image {
  checkU8('invert', image);
  return mapPixels(image, (v) => 255 - v);
}

/** augment.posterize: keeps the top `bits` bits of each value. */
export function posterize(image: Image, bits: number): U8Image {
  checkU8('posterize', image);
  if (!Number.isInteger(bits) || bits < 0 || bits > 8) {
    throw new RangeError(`posterize: bits must be an integer in 0..8, got ${bits}`);
  }
  // TF's bitwise shifts clamp the shift to the type's width - 1 (cwise_ops.h), so bits = 0
  // (Posterize level 2 of AutoAugment v0: int(2 / 10 * 4)) keeps the top bit.
  const shift = Math.min(8 - bits, 7);
  return mapPixels(image, (v) => ((v >> shift) << shift) & 255);
}

/** augment.solarize: values >= threshold are inverted. Default threshold 128. */
export function solarize(image: Image, threshold = 128): U8Image {
  checkU8('solarize', image);
  return mapPixels(image, (v) => (v < threshold ? v : 255 - v));
}

/** augment.solarize_add: values < threshold get `addition` added (clipped to 0..255). */
export function solarizeAdd(image: Image, addition = 0, threshold = 128): U8Image {
  checkU8('solarizeAdd', image);
  return mapPixels(image, (v) => (v < threshold ? Math.min(Math.max(v + addition, 0), 255) : v));
}

/**
 * augment.autocontrast: each channel stretched so its min maps to 0 and max to 255
 * (`v * scale + offset`, clipped, truncated); constant channels are unchanged.
 */
export function autoContrast(image: Image): U8Image {
  checkU8('autoContrast', image);
  const { channels: c, data } = image;
  const out = new Uint8Array(data.length);
  for (let k = 0; k < c; k++) {
    let lo = 255;
    let hi = 0;
    for (let i = k; i < data.length; i += c) {
      if (data[i] < lo) lo = data[i];
      if (data[i] > hi) hi = data[i];
    }
    if (hi > lo) {
      const scale = f32(255 / (hi - lo));
      const offset = f32(-lo * scale);
      for (let i = k; i < data.length; i += c) {
        const v = f32(f32(data[i] * scale) + offset);
        out[i] = Math.trunc(Math.min(Math.max(v, 0), 255));
      }
    } else {
      for (let i = k; i < data.length; i += c) out[i] = data[i];
    }
  }
  return { ...image, data: out };
}

/**
 * augment.equalize (PIL Equalize) per channel: with `step = (sum of the histogram - count of the
 * last non-empty bin) // 255`, value v maps to `clip((cumsum[v - 1] + step // 2) // step)`
 * (0 for v = 0); a channel with step 0 is unchanged.
 */
export function equalize(image: Image): U8Image {
  checkU8('equalize', image);
  const { channels: c, data } = image;
  const out = new Uint8Array(data.length);
  const hist = new Int32Array(256);
  const lut = new Int32Array(256);
  for (let k = 0; k < c; k++) {
    hist.fill(0);
    for (let i = k; i < data.length; i += c) hist[data[i]]++;
    let last = 0;
    let total = 0;
    for (let v = 0; v < 256; v++) {
      if (hist[v] !== 0) last = hist[v];
      total += hist[v];
    }
    const step = Math.floor((total - last) / 255);
    if (step === 0) {
      for (let i = k; i < data.length; i += c) out[i] = data[i];
      continue;
    }
    let cum = 0;
    lut[0] = 0;
    for (let v = 0; v < 255; v++) {
      cum += hist[v];
      lut[v + 1] = Math.min(Math.floor((cum + Math.floor(step / 2)) / step), 255);
    }
    for (let i = k; i < data.length; i += c) out[i] = lut[data[i]];
  }
  return { ...image, data: out };
}

/**
 * augment.sharpness (PIL Sharpness): the interior is smoothed with the 3x3 kernel
 * [[1, 1, 1], [1, 5, 1], [1, 1, 1]] / 13 (clipped, truncated to uint8), the one-pixel border is
 * kept, and the result is blended with the image by `factor`.
 */
export function sharpness(image: Image, factor: number): U8Image {
  checkU8('sharpness', image);
  const { height: h, width: w, channels: c, data } = image;
  const smooth = data.slice();
  const k1 = f32(1 / 13);
  const k5 = f32(5 / 13);
  for (let y = 1; y < h - 1; y++) {
    for (let x = 1; x < w - 1; x++) {
      for (let k = 0; k < c; k++) {
        let acc = 0;
        for (let dy = -1; dy <= 1; dy++) {
          for (let dx = -1; dx <= 1; dx++) {
            const weight = dy === 0 && dx === 0 ? k5 : k1;
            acc = f32(acc + f32(data[((y + dy) * w + x + dx) * c + k] * weight));
          }
        }
        smooth[(y * w + x) * c + k] = Math.trunc(Math.min(Math.max(acc, 0), 255));
      }
    }
  }
  return blend({ ...image, data: smooth }, image, factor);
}
