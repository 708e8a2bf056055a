/** Each pixel op of AutoAugment / RandAugment on tiny images against its formula. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../../src/core/random.js';
import {
  autoContrast,
  blend,
  brightness,
  color,
  contrast,
  equalize,
  grayscale,
  invert,
  posterize,
  sharpness,
  solarize,
  solarizeAdd,
  type Image,
} from '../../../src/data/ops/index.js';

function rgb(pixels: number[][], h: number, w: number): Image<Uint8Array> {
  return { data: Uint8Array.from(pixels.flat()), height: h, width: w, channels: 3 };
}

function constant(h: number, w: number, v: number[]): Image<Uint8Array> {
  return rgb(
    Array.from({ length: h * w }, () => v),
    h,
    w,
  );
}

const sample = rgb(
  [
    [0, 127, 128],
    [129, 200, 255],
  ],
  1,
  2,
);

test('invert, posterize, solarize, solarize_add', () => {
  assert.deepEqual(Array.from(invert(sample).data), [255, 128, 127, 126, 55, 0]);
  // 2 bits: keep 0xC0.
  assert.deepEqual(Array.from(posterize(sample, 2).data), [0, 64, 128, 128, 192, 192]);
  // 0 bits: TF clamps the shift to 7, so the top bit survives.
  assert.deepEqual(Array.from(posterize(sample, 0).data), [0, 0, 128, 128, 128, 128]);
  assert.deepEqual(Array.from(solarize(sample, 128).data), [0, 127, 127, 126, 55, 0]);
  assert.deepEqual(Array.from(solarizeAdd(sample, 100, 128).data), [100, 227, 128, 129, 200, 255]);
  assert.deepEqual(Array.from(solarizeAdd(sample, -50, 128).data), [0, 77, 128, 129, 200, 255]);
});

test('blend: truncating interpolation, clipped extrapolation, exact ends', () => {
  const a = rgb([[10, 20, 30]], 1, 1);
  const b = rgb([[20, 40, 250]], 1, 1);
  assert.deepEqual(Array.from(blend(a, b, 0.55).data), [15, 31, 151]); // 15.5, 31, 151
  assert.deepEqual(Array.from(blend(a, b, 1.5).data), [25, 50, 255]); // 25, 50, 360 -> 255
  assert.deepEqual(Array.from(blend(a, b, 0).data), [10, 20, 30]);
  assert.deepEqual(Array.from(blend(a, b, 1).data), [20, 40, 250]);
  assert.deepEqual(Array.from(brightness(b, 0.5).data), [10, 20, 125]);
});

test('grayscale: trunc((0.2989 r + 0.587 g + 0.114 b) / 255 * 255.5)', () => {
  const img = rgb(
    [
      [255, 0, 0],
      [0, 255, 0],
      [0, 0, 255],
      [255, 255, 255],
    ],
    2,
    2,
  );
  // 76.37, 149.98, 29.13, 255.47
  assert.deepEqual(
    Array.from(grayscale(img).data),
    [76, 76, 76, 149, 149, 149, 29, 29, 29, 255, 255, 255],
  );
  // color(0.5) blends grey 76 with (255, 0, 0): 76 + 0.5 * (255 - 76) = 165.5, 38, 38.
  assert.deepEqual(Array.from(color(img, 0.5).data.subarray(0, 3)), [165, 38, 38]);
});

test("contrast blends with Model Garden's histogram mean (pixel count / 256)", () => {
  // 64x64 = 4096 pixels -> degenerate 16; 16 + 0.5 * (100 - 16) = 58.
  assert.deepEqual(
    Array.from(contrast(constant(64, 64, [100, 16, 255]), 0.5).data.subarray(0, 3)),
    [58, 16, 135],
  );
  // 4x4 -> 16 / 256 = 0.0625 -> degenerate 0: a plain scaling.
  assert.deepEqual(
    Array.from(contrast(constant(4, 4, [100, 16, 255]), 0.5).data.subarray(0, 3)),
    [50, 8, 127],
  );
});

test('autocontrast stretches each channel to 0..255; constant channels stay', () => {
  const img = rgb(
    [
      [50, 7, 0],
      [100, 7, 10],
      [150, 7, 20],
    ],
    1,
    3,
  );
  // channel 0: scale 2.55, offset -127.5 -> 0, 127.5, 255; channel 2: 0, 127.5, 255.
  assert.deepEqual(Array.from(autoContrast(img).data), [0, 7, 0, 127, 7, 127, 255, 7, 255]);
});

test('equalize: 256 pixels each of 10, 100, 200 -> step 2 -> 0, 128, 255', () => {
  const px = [
    ...Array(256).fill([10, 5, 10]),
    ...Array(256).fill([100, 5, 100]),
    ...Array(256).fill([200, 5, 200]),
  ];
  const out = equalize(rgb(px, 32, 24));
  // step = (768 - 256) // 255 = 2; lut[v] = (cumsum[v - 1] + 1) // 2: 0, 257 // 2, 513 // 2 -> 255.
  assert.deepEqual(Array.from(out.data.subarray(0, 3)), [0, 5, 0]);
  assert.deepEqual(Array.from(out.data.subarray(256 * 3, 256 * 3 + 3)), [128, 5, 128]);
  assert.deepEqual(Array.from(out.data.subarray(512 * 3, 512 * 3 + 3)), [255, 5, 255]);
  // Channel 1 has a single value: step 0, unchanged.
});

test('sharpness: smoothing kernel [[1,1,1],[1,5,1],[1,1,1]] / 13 inside, border kept, then blend', () => {
  const rng = new Rng(4);
  const h = 5;
  const w = 6;
  const img: Image<Uint8Array> = {
    data: Uint8Array.from({ length: h * w * 3 }, () => rng.int(256)),
    height: h,
    width: w,
    channels: 3,
  };
  for (const factor of [0, 0.3, 1.7]) {
    const out = sharpness(img, factor);
    let mismatches = 0;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        for (let k = 0; k < 3; k++) {
          const at = (yy: number, xx: number) => img.data[(yy * w + xx) * 3 + k];
          let smooth = at(y, x);
          if (y > 0 && y < h - 1 && x > 0 && x < w - 1) {
            let s = 0;
            for (let dy = -1; dy <= 1; dy++)
              for (let dx = -1; dx <= 1; dx++) s += at(y + dy, x + dx) * (dy || dx ? 1 : 5);
            smooth = Math.trunc(Math.min(255, s / 13));
          }
          const orig = at(y, x);
          const t = smooth + factor * (orig - smooth);
          const want = factor === 0 ? smooth : Math.trunc(Math.min(255, Math.max(0, t)));
          const got = out.data[(y * w + x) * 3 + k];
          // float32 sums can land just under an integer the double sum reaches: allow 1 level.
          assert.ok(
            Math.abs(got - want) <= 1,
            `(${y},${x},${k}) factor ${factor}: ${got} vs ${want}`,
          );
          if (got !== want) mismatches++;
        }
      }
    }
    assert.ok(mismatches <= 3, `${mismatches} off-by-one values`);
  }
});

test('ops need uint8 images', () => {
  const f: Image = { data: new Float32Array(3), height: 1, width: 1, channels: 3 };
  assert.throws(() => invert(f), /uint8/);
});
