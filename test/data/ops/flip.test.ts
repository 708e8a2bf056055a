/** Random horizontal flip: geometry of image, boxes and masks, and the coin. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../../src/core/random.js';
import { randomHorizontalFlip, type Image } from '../../../src/data/ops/index.js';
import { assertClose } from '../../helpers.js';
import { ScriptedRng } from './scripted_rng.js';

// 2x3 RGB image, pixel (y, x) = [y, x, 9].
const image: Image = {
  data: Uint8Array.from(
    { length: 18 },
    (_, i) => [Math.floor(i / 9), Math.floor(i / 3) % 3, 9][i % 3],
  ),
  height: 2,
  width: 3,
  channels: 3,
};
const boxes = [0.0, 0.1, 0.5, 0.4, 0.5, 0.5, 1.0, 1.0];
const masks = {
  data: Uint8Array.of(1, 0, 0, 1, 1, 0, 0, 0, 1, 0, 1, 1),
  count: 2,
  height: 2,
  width: 3,
};

test('u < 0.5 flips image, boxes and masks together', () => {
  const r = randomHorizontalFlip(new ScriptedRng([0.49]), image, boxes, masks);
  assert.equal(r.flipped, true);
  for (let y = 0; y < 2; y++) {
    for (let x = 0; x < 3; x++) {
      const p = (y * 3 + x) * 3;
      assert.deepEqual(Array.from(r.image.data.subarray(p, p + 3)), [y, 2 - x, 9]);
    }
  }
  assertClose(r.boxes!, [0.0, 0.6, 0.5, 0.9, 0.5, 0.0, 1.0, 0.5]);
  assert.deepEqual(Array.from(r.masks!.data), [0, 0, 1, 0, 1, 1, 1, 0, 0, 1, 1, 0]);
});

test('u >= 0.5 leaves everything as it was', () => {
  const r = randomHorizontalFlip(new ScriptedRng([0.5]), image, boxes, masks);
  assert.equal(r.flipped, false);
  assert.deepEqual(Array.from(r.image.data), Array.from(image.data));
  assertClose(r.boxes!, boxes);
});

test('flip rate for prob 0.5 is about one half; masks must match boxes', () => {
  const rng = new Rng(3);
  let n = 0;
  for (let i = 0; i < 2000; i++) n += randomHorizontalFlip(rng, image).flipped ? 1 : 0;
  assert.ok(n > 900 && n < 1100, `flipped ${n} of 2000`);
  assert.throws(() => randomHorizontalFlip(rng, image, [0, 0, 1, 1], masks), /2 masks for 1 boxes/);
});
