/**
 * Resize against TF's half-pixel formulas written as plain loops here (double precision), a
 * hand-derived 2x2 -> 4x4 case, and the tfjs-tensor variant against the same loops.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { Rng } from '../../../src/core/random.js';
import {
  cropFlipResizeBilinear,
  cropImage,
  flipLeftRight,
  normalizeImage,
  resizeBilinear,
  resizeMasksNearest,
  resizeNearest,
  resizeTensor,
  type Image,
} from '../../../src/data/ops/index.js';
import { assertClose } from '../../helpers.js';

/** TF bilinear, half_pixel_centers=True, straight from the kernel's description. */
function refBilinear(img: Image, oh: number, ow: number): Float64Array {
  const out = new Float64Array(oh * ow * img.channels);
  const sy = img.height / oh;
  const sx = img.width / ow;
  const at = (y: number, x: number, k: number) => img.data[(y * img.width + x) * img.channels + k];
  for (let y = 0; y < oh; y++) {
    const fy = (y + 0.5) * sy - 0.5;
    const y0 = Math.max(Math.floor(fy), 0);
    const y1 = Math.min(Math.ceil(fy), img.height - 1);
    const ly = fy - Math.floor(fy);
    for (let x = 0; x < ow; x++) {
      const fx = (x + 0.5) * sx - 0.5;
      const x0 = Math.max(Math.floor(fx), 0);
      const x1 = Math.min(Math.ceil(fx), img.width - 1);
      const lx = fx - Math.floor(fx);
      for (let k = 0; k < img.channels; k++) {
        const top = at(y0, x0, k) + (at(y0, x1, k) - at(y0, x0, k)) * lx;
        const bot = at(y1, x0, k) + (at(y1, x1, k) - at(y1, x0, k)) * lx;
        out[(y * ow + x) * img.channels + k] = top + (bot - top) * ly;
      }
    }
  }
  return out;
}

function refNearest(img: Image, oh: number, ow: number): Float64Array {
  const out = new Float64Array(oh * ow * img.channels);
  for (let y = 0; y < oh; y++) {
    const iy = Math.min(Math.floor((y + 0.5) * (img.height / oh)), img.height - 1);
    for (let x = 0; x < ow; x++) {
      const ix = Math.min(Math.floor((x + 0.5) * (img.width / ow)), img.width - 1);
      for (let k = 0; k < img.channels; k++) {
        out[(y * ow + x) * img.channels + k] = img.data[(iy * img.width + ix) * img.channels + k];
      }
    }
  }
  return out;
}

function randomImage(rng: Rng, h: number, w: number, c: number): Image<Uint8Array> {
  const data = new Uint8Array(h * w * c);
  for (let i = 0; i < data.length; i++) data[i] = rng.int(256);
  return { data, height: h, width: w, channels: c };
}

const SIZES: [number, number, number, number][] = [
  [5, 7, 11, 3],
  [13, 9, 4, 6],
  [8, 8, 8, 8],
  [3, 10, 7, 25],
  [1, 6, 3, 2],
];

test('bilinear: hand-derived 2x2 -> 4x4 (taps -0.25, 0.25, 0.75, 1.25)', () => {
  const img: Image = { data: Uint8Array.of(0, 4, 8, 12), height: 2, width: 2, channels: 1 };
  const out = resizeBilinear(img, 4, 4);
  assert.deepEqual(Array.from(out.data), [0, 1, 3, 4, 2, 3, 5, 6, 6, 7, 9, 10, 8, 9, 11, 12]);
  assert.ok(out.data instanceof Float32Array);
});

test('bilinear matches the loop reference (up- and down-sampling, uint8 and float32)', () => {
  const rng = new Rng(7);
  for (const [h, w, oh, ow] of SIZES) {
    const img = randomImage(rng, h, w, 3);
    assertClose(resizeBilinear(img, oh, ow).data, refBilinear(img, oh, ow), {
      atol: 1e-3,
      rtol: 1e-5,
      msg: `${h}x${w}->${oh}x${ow}`,
    });
    const f: Image = { ...img, data: Float32Array.from(img.data, (v) => v / 3) };
    assertClose(resizeBilinear(f, oh, ow).data, refBilinear(f, oh, ow), { atol: 1e-3 });
  }
});

test('nearest: hand-derived 1x4 -> 1x2 picks columns 1 and 3; matches the loop reference', () => {
  const row: Image = { data: Uint8Array.of(10, 20, 30, 40), height: 1, width: 4, channels: 1 };
  assert.deepEqual(Array.from(resizeNearest(row, 1, 2).data), [20, 40]);
  const rng = new Rng(8);
  for (const [h, w, oh, ow] of SIZES) {
    const img = randomImage(rng, h, w, 2);
    const out = resizeNearest(img, oh, ow);
    assert.ok(out.data instanceof Uint8Array);
    assert.deepEqual(Array.from(out.data), Array.from(refNearest(img, oh, ow)));
  }
});

test('mask nearest resize equals per-instance image resize', () => {
  const rng = new Rng(9);
  const a = randomImage(rng, 5, 6, 1);
  const b = randomImage(rng, 5, 6, 1);
  const masks = { data: Uint8Array.from([...a.data, ...b.data]), count: 2, height: 5, width: 6 };
  const out = resizeMasksNearest(masks, 9, 4);
  assert.deepEqual(Array.from(out.data), [...refNearest(a, 9, 4), ...refNearest(b, 9, 4)]);
});

test('tfjs variant (halfPixelCenters) matches the same loops', async () => {
  await tf.setBackend('cpu');
  const rng = new Rng(10);
  for (const [h, w, oh, ow] of SIZES) {
    const img = randomImage(rng, h, w, 3);
    const x = tf.tensor3d(Float32Array.from(img.data), [h, w, 3]);
    const bil = resizeTensor(x, [oh, ow], 'bilinear');
    const nn = resizeTensor(x, [oh, ow], 'nearest');
    assertClose(bil.dataSync(), refBilinear(img, oh, ow), { atol: 1e-3 });
    assert.deepEqual(Array.from(nn.dataSync()), Array.from(refNearest(img, oh, ow)));
    tf.dispose([x, bil, nn]);
  }
});

test('bad sizes are named', () => {
  const img: Image = { data: new Uint8Array(12), height: 2, width: 2, channels: 3 };
  assert.throws(() => resizeBilinear(img, 0, 3), /output size/);
  assert.throws(
    () => resizeBilinear({ ...img, data: new Uint8Array(5) }, 2, 2),
    /image data has 5 values/,
  );
});

test('cropFlipResizeBilinear equals crop → flip → resize → normalise, bit for bit', () => {
  const rng = new Rng(12);
  for (const [h, w, c] of [
    [37, 53, 3],
    [20, 9, 1],
  ] as const) {
    const data = new Uint8Array(h * w * c);
    for (let i = 0; i < data.length; i++) data[i] = rng.int(256);
    const image = { data, height: h, width: w, channels: c };
    const mean = c === 3 ? [123.675, 116.28, 103.53] : [115.0];
    const stddev = c === 3 ? [58.395, 57.12, 57.375] : [57.6];
    for (const [wy, wx, wh, ww, oh, ow] of [
      [0, 0, h, w, 24, 24],
      [3, 2, 12, 5, 11, 30],
      [h - 6, w - 4, 6, 4, 13, 7],
    ]) {
      for (const flip of [false, true]) {
        const where = `${h}x${w}x${c} window ${[wy, wx, wh, ww]} → ${oh}x${ow} flip ${flip}`;
        let ref = cropImage(image, wy, wx, wh, ww);
        if (flip) ref = flipLeftRight(ref);
        const resized = resizeBilinear(ref, oh, ow);
        const fused = cropFlipResizeBilinear(image, oh, ow, {
          window: { offsetY: wy, offsetX: wx, height: wh, width: ww },
          flipLeftRight: flip,
        });
        assert.deepEqual(fused.data, resized.data, where);
        const normalised = normalizeImage(resized, { mean, stddev });
        const fusedNorm = cropFlipResizeBilinear(image, oh, ow, {
          window: { offsetY: wy, offsetX: wx, height: wh, width: ww },
          flipLeftRight: flip,
          normalize: { mean, stddev },
        });
        assert.deepEqual(fusedNorm.data, normalised.data, `${where}, normalised`);
      }
    }
  }
  assert.throws(
    () =>
      cropFlipResizeBilinear({ data: new Uint8Array(12), height: 2, width: 2, channels: 3 }, 4, 4, {
        window: { offsetY: 1, offsetX: 0, height: 2, width: 2 },
      }),
    /window .* is not inside the 2x2 image/,
  );
});

/**
 * TF's bilinear kernel in float32, step by step (resize_bilinear_op.cc: scale = in/out,
 * src = (dst + 0.5) * scale - 0.5, lerp = src - floor(src), top/bottom/out each rounded), on a
 * window of `img`, mirrored when `flip`, then normalised as normalize.ts does.
 */
function refFusedF32(
  img: Image,
  win: [number, number, number, number],
  oh: number,
  ow: number,
  flip: boolean,
  norm?: { mean: number[]; stddev: number[] },
): Float32Array {
  const f = Math.fround;
  const [wy, wx, wh, ww] = win;
  const c = img.channels;
  const at = (y: number, x: number, k: number) =>
    img.data[((wy + y) * img.width + wx + (flip ? ww - 1 - x : x)) * c + k];
  const tap = (i: number, inSize: number, outSize: number) => {
    const src = f(f(f(i + 0.5) * f(inSize / outSize)) - 0.5);
    const lo = Math.floor(src);
    return [Math.max(lo, 0), Math.min(Math.ceil(src), inSize - 1), f(src - lo)];
  };
  const out = new Float32Array(oh * ow * c);
  for (let y = 0; y < oh; y++) {
    const [y0, y1, ly] = tap(y, wh, oh);
    for (let x = 0; x < ow; x++) {
      const [x0, x1, lx] = tap(x, ww, ow);
      for (let k = 0; k < c; k++) {
        const top = f(at(y0, x0, k) + f(f(at(y0, x1, k) - at(y0, x0, k)) * lx));
        const bot = f(at(y1, x0, k) + f(f(at(y1, x1, k) - at(y1, x0, k)) * lx));
        const v = f(top + f(f(bot - top) * ly));
        out[(y * ow + x) * c + k] = norm ? f(v - f(norm.mean[k])) / f(norm.stddev[k]) : v;
      }
    }
  }
  return out;
}

test('uint8 RGB fast path of cropFlipResizeBilinear equals the float32 TF loop, bit for bit', () => {
  const rng = new Rng(99);
  const [h, w] = [41, 67];
  const data = new Uint8Array(h * w * 3);
  for (let i = 0; i < data.length; i++) data[i] = rng.int(256);
  const image: Image = { data, height: h, width: w, channels: 3 };
  const asFloat: Image = { ...image, data: Float32Array.from(data) };
  const norm = { mean: [123.675, 116.28, 103.53], stddev: [58.395, 57.12, 57.375] };
  for (const win of [
    [0, 0, h, w],
    [5, 9, 30, 40],
    [1, 60, 7, 7],
  ] as [number, number, number, number][]) {
    // Up, down, and down by more than 2 (no source row shared between output rows).
    for (const [oh, ow] of [
      [24, 24],
      [50, 90],
      [12, 20],
    ]) {
      for (const flip of [false, true]) {
        for (const normalize of [undefined, norm]) {
          const where = `window ${win} -> ${oh}x${ow} flip ${flip} normalise ${!!normalize}`;
          const opts = {
            window: { offsetY: win[0], offsetX: win[1], height: win[2], width: win[3] },
            flipLeftRight: flip,
            normalize,
          };
          const fast = cropFlipResizeBilinear(image, oh, ow, opts).data;
          // Into a given array (holding stale values): the same result, in that array.
          const out = new Float32Array(oh * ow * 3).fill(Number.NaN);
          assert.equal(cropFlipResizeBilinear(image, oh, ow, { ...opts, out }).data, out);
          assert.deepEqual(out, fast, where);
          assert.deepEqual(fast, refFusedF32(image, win, oh, ow, flip, normalize), where);
          // The general loop (float32 source holding the same integers) agrees too.
          assert.deepEqual(fast, cropFlipResizeBilinear(asFloat, oh, ow, opts).data, where);
        }
      }
    }
  }
});

test('cropFlipResizeBilinear refuses an out array of the wrong size', () => {
  const image: Image = { data: new Uint8Array(4 * 4 * 3), height: 4, width: 4, channels: 3 };
  assert.throws(
    () => cropFlipResizeBilinear(image, 2, 2, { out: new Float32Array(11) }),
    /out holds 11 values, the 2x2x3 result 12/,
  );
});
