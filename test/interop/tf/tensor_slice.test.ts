/**
 * Slice keys (TensorFlow's EncodeTensorNameSlice in OrderedCode) against hand-derived bytes, and
 * placing a slice's row-major data into the full tensor. (The fixtures made with TensorFlow in
 * bundle_reader.test.ts check the same against real checkpoints.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  copySliceInto,
  resolveExtents,
  tensorSliceKey,
} from '../../../src/interop/tf/tensor_slice.js';

test('slice keys: NumIncreasing, escaped String, SignedNumIncreasing', () => {
  // 00 | "w" 00 01 | rank 01 02 | dim 0: start 0 → 80, whole (-1) → 7f | dim 1: 2 → 82, 2 → 82
  assert.deepEqual(
    Array.from(tensorSliceKey('w', [{ start: 0 }, { start: 2, length: 2 }])),
    [0x00, 0x77, 0x00, 0x01, 0x01, 0x02, 0x80, 0x7f, 0x82, 0x82],
  );
  // 100 needs two bytes: 0x0064 with header bits 11 → c0 64; -100: 0xff9c ^ 0xc000 → 3f 9c;
  // 300 → 0x012c ^ 0xc000 → c1 2c; 63 → bf (one byte); 64 → c0 40.
  assert.deepEqual(
    Array.from(
      tensorSliceKey('v', [
        { start: 100, length: -100 },
        { start: 300, length: 63 },
        { start: 64 },
      ]),
    ).slice(6),
    [0xc0, 0x64, 0x3f, 0x9c, 0xc1, 0x2c, 0xbf, 0xc0, 0x40, 0x7f],
  );
  // A 0x00 or 0xff byte in the name is escaped: 00 → 00 ff, ff → ff 00.
  assert.deepEqual(
    Array.from(tensorSliceKey('a\u0000', [])).slice(0, 6),
    [0x00, 0x61, 0x00, 0xff, 0x00, 0x01],
  );
});

test('a slice of a [2, 3, 4] tensor lands at its place', () => {
  const shape = [2, 3, 4];
  const full = new Uint8Array(24).fill(255);
  const ext = resolveExtents(
    [{ start: 1 }, { start: 1, length: 2 }, { start: 2, length: 2 }],
    shape,
    't',
  );
  assert.deepEqual(ext, [
    { start: 1, length: 1 },
    { start: 1, length: 2 },
    { start: 2, length: 2 },
  ]);
  copySliceInto(full, shape, Uint8Array.of(1, 2, 3, 4), ext, 1);
  // Elements [1, 1, 2], [1, 1, 3], [1, 2, 2], [1, 2, 3] = flat 18, 19, 22, 23.
  const expected = new Array(24).fill(255);
  expected[18] = 1;
  expected[19] = 2;
  expected[22] = 3;
  expected[23] = 4;
  assert.deepEqual(Array.from(full), expected);
  assert.throws(
    () => resolveExtents([{ start: 3, length: 2 }], [4], 'var x'),
    /var x: slice \[3, \+2\) outside dimension 0 of size 4/,
  );
});
