/**
 * Rotate / Shear / Translate as TF's projective transform with nearest sampling: hand-derived
 * translations in both fill modes, a 90-degree rotation as an index permutation, and shears
 * against the transform formula written out here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../../src/core/random.js';
import {
  rotate,
  shearX,
  shearY,
  translateX,
  translateY,
  type Image,
} from '../../../src/data/ops/index.js';

function gray(values: number[], h: number, w: number): Image<Uint8Array> {
  return { data: Uint8Array.from(values), height: h, width: w, channels: 1 };
}

test('translate x by 2: content moves left; reflect mirrors, constant fills 128', () => {
  const row = gray([1, 2, 3, 4], 1, 4);
  // Output x samples x + 2: 3, 4, then 4 and 5 reflect to 3 and 2 (zero-based: d, c).
  assert.deepEqual(Array.from(translateX(row, 2).data), [3, 4, 4, 3]);
  assert.deepEqual(Array.from(translateX(row, 2, { fillMode: 'constant' }).data), [3, 4, 128, 128]);
  assert.deepEqual(Array.from(translateX(row, -1, { fillMode: 'constant' }).data), [128, 1, 2, 3]);
  const col = gray([1, 2, 3, 4], 4, 1);
  assert.deepEqual(
    Array.from(translateY(col, 1, { fillMode: 'constant', replace: [9] }).data),
    [2, 3, 4, 9],
  );
});

test('rotate 90 degrees is the permutation out(x, y) = in(W - 1 - y, x)', () => {
  const n = 5;
  const img = gray(
    Array.from({ length: n * n }, (_, i) => i),
    n,
    n,
  );
  const out = rotate(img, 90);
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++)
      assert.equal(out.data[y * n + x], x * n + (n - 1 - y), `(${y},${x})`);
  }
  assert.deepEqual(Array.from(rotate(img, 0).data), Array.from(img.data));
});

test('shears sample (x + l y, y) and (x, l x + y), rounded, constant fill outside', () => {
  const rng = new Rng(2);
  const h = 7;
  const w = 9;
  const img: Image<Uint8Array> = {
    data: Uint8Array.from({ length: h * w * 3 }, () => rng.int(256)),
    height: h,
    width: w,
    channels: 3,
  };
  for (const level of [0.3, -0.21]) {
    for (const [op, map] of [
      [shearX, (x: number, y: number) => [x + level * y, y]],
      [shearY, (x: number, y: number) => [x, level * x + y]],
    ] as const) {
      const out = op(img, level, { fillMode: 'constant' });
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          const [sx, sy] = map(x, y);
          const inside = sx >= 0 && sx <= w - 1 && sy >= 0 && sy <= h - 1;
          for (let k = 0; k < 3; k++) {
            const want = inside ? img.data[(Math.round(sy) * w + Math.round(sx)) * 3 + k] : 128;
            assert.equal(out.data[(y * w + x) * 3 + k], want, `${op.name} ${level} (${y},${x})`);
          }
        }
      }
    }
  }
});
