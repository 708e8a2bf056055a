/**
 * Classification crops: the center crop's window by hand, TF's distorted-box sampler on a
 * scripted stream (hand-traced through GenerateRandomCrop), its constraints over many seeds, and
 * the whole-image fallback that Model Garden replaces with the center crop.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../../src/core/random.js';
import {
  centerCropImage,
  centerCropWindow,
  inceptionCrop,
  randomCropImage,
  sampleDistortedBoundingBox,
  type Image,
} from '../../../src/data/ops/index.js';
import { ScriptedRng } from './scripted_rng.js';

function indexImage(h: number, w: number): Image<Float32Array> {
  return {
    data: Float32Array.from({ length: h * w }, (_, i) => i),
    height: h,
    width: w,
    channels: 1,
  };
}

test('center crop 0.875: 10x16 -> 8x8 at (trunc(1.25/2), trunc(7.25/2)) = (0, 3)', () => {
  assert.deepEqual(centerCropWindow(10, 16), { offsetY: 0, offsetX: 3, height: 8, width: 8 });
  const out = centerCropImage(indexImage(10, 16));
  assert.equal(out.data[0], 3);
  assert.equal(out.data[63], 7 * 16 + 10);
});

test('distorted box, scripted: aspect 1.0417, height 28 + 34, width lrint(64.58) = 65', () => {
  // u0 = 0.5 -> aspect 0.75 + 0.5 * (4/3 - 3/4); min height lrint(sqrt(800 / a)) = 28,
  // max height lrint(sqrt(10000 / a)) = 98 but lrint(98 a) = 102 > 100 -> trunc(100.5 / a) = 96;
  // height 28 + trunc(0.5 * 69) = 62, width 65; y = trunc(0.5 * 38) = 19, x = trunc(0.5 * 35) = 17.
  const rng = new ScriptedRng([0.5, 0.5, 0.5, 0.5]);
  const win = sampleDistortedBoundingBox(100, 100, rng);
  assert.deepEqual(win, { offsetY: 19, offsetX: 17, height: 62, width: 65, sampled: true });
  assert.equal(rng.left, 0);
});

test('distorted box constraints hold over seeds', () => {
  const rng = new Rng(11);
  let sampled = 0;
  for (let i = 0; i < 300; i++) {
    const h = 20 + rng.int(200);
    const w = 20 + rng.int(200);
    const win = sampleDistortedBoundingBox(h, w, rng);
    assert.ok(win.offsetY >= 0 && win.offsetX >= 0);
    assert.ok(win.offsetY + win.height <= h && win.offsetX + win.width <= w);
    if (!win.sampled) continue;
    sampled++;
    const area = (win.height * win.width) / (h * w);
    assert.ok(area >= 0.08 - 1e-6 && area <= 1 + 1e-6, `area ${area}`);
    // width = lrint(height * aspect): aspect within rounding of [3/4, 4/3].
    const aspect = win.width / win.height;
    assert.ok(
      aspect >= 0.75 - 0.5 / win.height - 1e-6 && aspect <= 4 / 3 + 0.5 / win.height + 1e-6,
    );
  }
  assert.ok(sampled > 250, `only ${sampled} of 300 sampled`);
});

test('impossible constraints: whole image, and the Inception crop falls back to the center crop', () => {
  const img = indexImage(8, 8);
  // aspect 4 on 8x8 with area >= 0.5 never fits (width 12 > 8 after the area correction).
  const opts = {
    aspectRatioRange: [4, 4] as [number, number],
    areaRange: [0.5, 1] as [number, number],
  };
  const win = sampleDistortedBoundingBox(8, 8, new Rng(1), opts);
  assert.deepEqual(win, { offsetY: 0, offsetX: 0, height: 8, width: 8, sampled: false });
  assert.equal(randomCropImage(img, new Rng(1), opts).height, 8);
  const fallback = inceptionCrop(img, new Rng(1), opts);
  assert.deepEqual([fallback.height, fallback.width], [7, 7]);
  assert.deepEqual(Array.from(fallback.data), Array.from(centerCropImage(img).data));
});

test('crops are the pixels of their window; bad options are named', () => {
  const img = indexImage(40, 50);
  const rng = new Rng(5);
  const crop = randomCropImage(img, rng);
  const r2 = new Rng(5);
  const win = sampleDistortedBoundingBox(40, 50, r2);
  assert.equal(crop.data[0], win.offsetY * 50 + win.offsetX);
  assert.throws(
    () => sampleDistortedBoundingBox(10, 10, rng, { areaRange: [0.1, 1.5] }),
    /areaRange/,
  );
  assert.throws(
    () => sampleDistortedBoundingBox(10, 10, rng, { boxes: [0, 0, 1.2, 1] }),
    /outside \[0, 1\]/,
  );
});
