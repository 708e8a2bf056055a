/**
 * blendMasks (the translucent instance masks `predict --output` draws): on a mask's pixels the
 * image becomes 0.6 * pixel + 0.4 * the class colour (MG's mask_alpha 0.4), rounded; elsewhere it
 * is unchanged; a later mask blends over an earlier one; a mask of the wrong size is named.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { blendMasks } from '../../src/cli/draw_detections.js';

test('masks blend at alpha 0.4 in the class colour, later over earlier', () => {
  const image = { data: new Uint8Array(2 * 3 * 3).fill(100), height: 2, width: 3, channels: 3 };
  const box = { box: [0, 0, 2, 3], name: 'a', score: 0.9 };
  // Class 0 is #e6194b = (230, 25, 75); class 1 is #3cb44b = (60, 180, 75).
  const out = blendMasks(image, [
    { ...box, classId: 0, mask: Uint8Array.of(1, 1, 0, 0, 0, 0) },
    { ...box, classId: 1, mask: Uint8Array.of(0, 1, 0, 0, 0, 0) },
  ]);
  // pixel 0: 0.6 * 100 + 0.4 * (230, 25, 75) = (152, 70, 90);
  // pixel 1: (152, 70, 90) then 0.6 * that + 0.4 * (60, 180, 75) = (115.2, 114, 84) -> rounded.
  assert.deepEqual([...out.subarray(0, 6)], [152, 70, 90, 115, 114, 84]);
  assert.deepEqual([...out.subarray(6)], new Array(12).fill(100));
  assert.deepEqual([...image.data], new Array(18).fill(100), 'the input is not modified');
  assert.throws(
    () => blendMasks(image, [{ ...box, classId: 0, mask: new Uint8Array(5) }]),
    /mask of detection 0 has 5 pixels, the image 3x2/,
  );
});
