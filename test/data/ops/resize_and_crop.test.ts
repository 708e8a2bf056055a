/**
 * resize_and_crop_image / _boxes / _masks on hand-computed cases: image_info with and without
 * scale jitter (float32 sizes, tf.round's half-to-even), crop offsets, zero padding, and boxes and
 * masks moved consistently with the image.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../../src/core/random.js';
import {
  computePaddedSize,
  cropImage,
  flipLeftRight,
  padToBoundingBox,
  resizeAndCropBoxes,
  resizeAndCropImage,
  resizeAndCropMasks,
  resizeBilinear,
  resizeWindowBilinear,
  type Image,
} from '../../../src/data/ops/index.js';
import { nonEmptyBoxIndices } from '../../../src/ops/box_ops.js';
import { assertClose } from '../../helpers.js';
import { ScriptedRng } from './scripted_rng.js';

function ramp(h: number, w: number): Image<Uint8Array> {
  return {
    data: Uint8Array.from({ length: h * w * 3 }, (_, i) => (i * 7) % 251),
    height: h,
    width: w,
    channels: 3,
  };
}

test('padded size: smallest stride multiple (MG docstring example)', () => {
  assert.deepEqual(computePaddedSize([100, 200], 32), [128, 224]);
});

test('no jitter: 6x8 into 8x8 keeps scale 1, pads two zero rows, no random draws', () => {
  const img = ramp(6, 8);
  const rng = new ScriptedRng([]);
  const { image, imageInfo } = resizeAndCropImage(img, rng, {
    desiredSize: [8, 8],
    paddedSize: [8, 8],
  });
  assert.deepEqual(Array.from(imageInfo), [6, 8, 8, 8, 1, 1, 0, 0]);
  assert.equal(rng.used, 0);
  assert.deepEqual([image.height, image.width], [8, 8]);
  assert.deepEqual(Array.from(image.data.subarray(0, 6 * 8 * 3)), Array.from(img.data));
  assert.ok(image.data.subarray(6 * 8 * 3).every((v) => v === 0));
});

test('no jitter: tf.round half to even (5x2 into [7, 1] scales by 0.5 to 2x1, not 3x1)', () => {
  const { image, imageInfo } = resizeAndCropImage(ramp(5, 2), new Rng(0), {
    desiredSize: [7, 1],
    paddedSize: [8, 4],
  });
  assertClose(imageInfo, [5, 2, 7, 1, 2 / 5, 0.5, 0, 0]);
  assert.deepEqual([image.height, image.width], [8, 4]);
});

test('jitter: scale 1.625 from u=0.75 in [0.5, 2]; offsets trunc([2, 5] * [0.5, 0.9]) = [1, 4]', () => {
  // random_scale = 0.5 + 1.5 * 0.75 = 1.625; target round(8 * 1.625) = 13 per side;
  // scale = min(13 / 6, 13 / 8) = 1.625; scaled = [round(9.75), round(13)] = [10, 13];
  // image_scale = [10 / 6, 13 / 8]; max offset = [10 - 8, 13 - 8] = [2, 5].
  const img = ramp(6, 8);
  const rng = new ScriptedRng([0.75, 0.5, 0.9]);
  const { image, imageInfo } = resizeAndCropImage(img, rng, {
    desiredSize: [8, 8],
    paddedSize: [8, 8],
    augScaleMin: 0.5,
    augScaleMax: 2.0,
  });
  assertClose(imageInfo, [6, 8, 8, 8, 10 / 6, 1.625, 1, 4]);
  assert.equal(rng.left, 0);
  const expected = cropImage(resizeBilinear(img, 10, 13), 1, 4, 8, 8);
  assert.deepEqual(Array.from(image.data), Array.from(expected.data));
});

test('jitter below 1: scaled image smaller than desired is zero padded, offset 0', () => {
  // u = 0 -> scale 0.5: target [4, 4]; scale = min(4/6, 4/8) = 0.5; scaled [3, 4].
  const img = ramp(6, 8);
  const { image, imageInfo } = resizeAndCropImage(img, new ScriptedRng([0, 0.99, 0.99]), {
    desiredSize: [8, 8],
    paddedSize: [8, 16],
    augScaleMin: 0.5,
    augScaleMax: 2.0,
  });
  assertClose(imageInfo, [6, 8, 8, 8, 0.5, 0.5, 0, 0]);
  assert.deepEqual([image.height, image.width], [8, 16]);
  const scaled = resizeBilinear(img, 3, 4);
  for (let y = 0; y < 8; y++) {
    for (let x = 0; x < 16; x++) {
      for (let k = 0; k < 3; k++) {
        const v = image.data[(y * 16 + x) * 3 + k];
        const want = y < 3 && x < 4 ? scaled.data[(y * 4 + x) * 3 + k] : 0;
        assert.equal(v, want, `pixel ${y},${x},${k}`);
      }
    }
  }
});

test('boxes follow the image: scale, shift by the offset, clip, drop the emptied', () => {
  // image_scale [10/6, 1.625], offset [1, 4], desired [8, 8] (the jitter case above).
  const scale = [10 / 6, 1.625];
  const boxes = [0, 0, 3, 4, 1.2, 6, 6, 8, 0, 0, 0.5, 2];
  const out = resizeAndCropBoxes(boxes, scale, [8, 8], [1, 4]);
  // box 0: [0*s-1, 0*1.625-4, 3*s-1, 4*1.625-4] = [-1, -4, 4, 2.5] -> [0, 0, 4, 2.5]
  // box 1: [1.2*s-1, 6*1.625-4, 6*s-1, 8*1.625-4] = [1, 5.75, 9, 9] -> [1, 5.75, 8, 8]
  // box 2: [-1, -4, 0.5*s-1, 2*1.625-4] = [-1, -4, -0.1667, -0.75] -> all 0: empty
  assertClose(out, [0, 0, 4, 2.5, 1, 5.75, 8, 8, 0, 0, 0, 0], { atol: 1e-5 });
  assert.deepEqual(nonEmptyBoxIndices(out), [0, 1]);
});

test('masks follow the image: nearest x2, offset [1, 2], padded to 4x6', () => {
  // One 3x3 mask with a single set pixel at (1, 1): x2 nearest -> rows 2..3, cols 2..3 of 6x6;
  // crop from (1, 2) -> rows 1..2, cols 0..1; output 4x6.
  const masks = { data: Uint8Array.of(0, 0, 0, 0, 1, 0, 0, 0, 0), count: 1, height: 3, width: 3 };
  const out = resizeAndCropMasks(masks, [2, 2], [4, 6], [1, 2]);
  assert.deepEqual([out.count, out.height, out.width], [1, 4, 6]);
  const want = new Uint8Array(24);
  for (const [y, x] of [
    [1, 0],
    [1, 1],
    [2, 0],
    [2, 1],
  ])
    want[y * 6 + x] = 1;
  assert.deepEqual(Array.from(out.data), Array.from(want));
});

test('seeded jitter: deterministic, scale in range, crop inside the scaled image', () => {
  for (let seed = 0; seed < 40; seed++) {
    const opts = {
      desiredSize: [32, 32] as [number, number],
      paddedSize: [32, 32] as [number, number],
      augScaleMin: 0.5,
      augScaleMax: 2,
    };
    const a = resizeAndCropImage(ramp(20, 30), new Rng(seed), opts);
    const b = resizeAndCropImage(ramp(20, 30), new Rng(seed), opts);
    assert.deepEqual(Array.from(a.imageInfo), Array.from(b.imageInfo));
    assert.deepEqual(Array.from(a.image.data), Array.from(b.image.data));
    const [, , , , sy, sx, oy, ox] = a.imageInfo;
    assert.ok(sx >= (0.5 * 32) / 30 - 0.05 && sx <= (2 * 32) / 30 + 0.05, `scale ${sx}`);
    const scaledH = Math.round(20 * sy);
    const scaledW = Math.round(30 * sx);
    assert.ok(
      oy >= 0 && oy <= Math.max(0, scaledH - 32) && ox >= 0 && ox <= Math.max(0, scaledW - 32),
    );
  }
});

test('bad sizes are named', () => {
  assert.throws(
    () => resizeAndCropImage(ramp(4, 4), new Rng(0), { desiredSize: [8, 8], paddedSize: [4, 8] }),
    /paddedSize \[4, 8\] is smaller than desiredSize \[8, 8\]/,
  );
  assert.throws(
    () =>
      resizeAndCropImage(ramp(4, 4), new Rng(0), {
        desiredSize: [8, 8],
        paddedSize: [8, 8],
        augScaleMin: 2,
        augScaleMax: 1,
      }),
    /augScaleMin <= augScaleMax/,
  );
});

test('resizeWindowBilinear is bitwise flip → resizeBilinear → crop → pad, computing only the window', () => {
  const rng = new Rng(123);
  const [h, w] = [23, 31];
  const u8 = new Uint8Array(h * w * 3).map(() => rng.int(256));
  const sources: Image[] = [
    { data: u8, height: h, width: w, channels: 3 },
    // Normalised values, as the detection parser resizes them.
    { data: Float32Array.from(u8, (v) => (v - 120.5) / 57.3), height: h, width: w, channels: 3 },
    {
      data: Float32Array.from({ length: h * w }, () => rng.uniform()),
      height: h,
      width: w,
      channels: 1,
    },
  ];
  for (const image of sources) {
    for (const [sh, sw] of [
      [46, 62], // up 2x, as the largest jitter
      [11, 16], // down
      [23, 31], // same size
    ]) {
      for (const flip of [false, true]) {
        const full = resizeBilinear(flip ? flipLeftRight(image) : image, sh, sw);
        for (const [oy, ox, wh, ww] of [
          [0, 0, sh, sw],
          [3, 5, Math.min(9, sh - 3), Math.min(12, sw - 5)],
          [sh - 1, sw - 1, 1, 1],
        ]) {
          const pad: [number, number] = [wh + 4, ww + 3];
          const expected = padToBoundingBox(cropImage(full, oy, ox, wh, ww), 0, 0, ...pad);
          const where = `${image.data.constructor.name} c${image.channels} -> ${sh}x${sw} flip ${flip} window ${[oy, ox, wh, ww]}`;
          const window = { offsetY: oy, offsetX: ox, height: wh, width: ww };
          const got = resizeWindowBilinear(image, sh, sw, {
            window,
            paddedSize: pad,
            flipLeftRight: flip,
          });
          assert.deepEqual(got.data, expected.data, where);
          assert.deepEqual([got.height, got.width, got.channels], [pad[0], pad[1], image.channels]);
          // Into an array holding stale values: the padding is zeroed too.
          const out = new Float32Array(pad[0] * pad[1] * image.channels).fill(7);
          resizeWindowBilinear(image, sh, sw, {
            window,
            paddedSize: pad,
            flipLeftRight: flip,
            out,
          });
          assert.deepEqual(out, expected.data, `${where} (into out)`);
        }
      }
    }
  }
  const image = sources[0];
  assert.throws(
    () =>
      resizeWindowBilinear(image, 10, 10, {
        window: { offsetY: 5, offsetX: 0, height: 6, width: 10 },
        paddedSize: [10, 10],
      }),
    /window .* is not inside the 10x10 resized image/,
  );
  assert.throws(
    () =>
      resizeWindowBilinear(image, 10, 10, {
        window: { offsetY: 0, offsetX: 0, height: 10, width: 10 },
        paddedSize: [10, 10],
        out: new Float32Array(5),
      }),
    /out holds 5 values, the 10x10x3 result 300/,
  );
});
