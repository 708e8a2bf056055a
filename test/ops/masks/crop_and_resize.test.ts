/**
 * cropAndResizeMask against tf.image.crop_and_resize's sampling rule worked by hand on a mask
 * linear in (y, x) (bilinear sampling reproduces it exactly inside the mask), with zero
 * extrapolation outside and the single-sample (S = 1) centre rule.
 */
import { test } from 'node:test';
import { cropAndResizeMask } from '../../../src/ops/masks/crop_and_resize.js';
import { assertClose } from '../../helpers.js';

// 5×5 mask m[y][x] = 10y + x.
const M = Float32Array.from({ length: 25 }, (_, k) => 10 * Math.floor(k / 5) + (k % 5));

test('bilinear samples on the box corners grid, zero outside, centre for one sample', () => {
  // Box y 0.25..0.75, x 0..0.5 of a 5×5 mask → y ∈ {1, 2, 3}, x ∈ {0, 1, 2}.
  assertClose(
    cropAndResizeMask(M, 5, 5, [0.25, 0, 0.75, 0.5], 3),
    [10, 11, 12, 20, 21, 22, 30, 31, 32],
  );
  // Box y 0.1..0.35 → y ∈ {0.4, 1.4}; x 0.5..1.25 → x ∈ {2, 5}: x 5 lies outside → 0.
  assertClose(cropAndResizeMask(M, 5, 5, [0.1, 0.5, 0.35, 1.25], 2), [6, 0, 16, 0], { atol: 1e-5 });
  // One sample: the centre (0.5·4, 0.5·4) = (2, 2).
  assertClose(cropAndResizeMask(M, 5, 5, [0, 0, 1, 1], 1), [22]);
});
