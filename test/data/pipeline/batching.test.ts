import { test } from 'node:test';
import assert from 'node:assert/strict';
import { stackBatch, validatePadding, type FeatureMap } from '../../../src/data/pipeline/index.js';

const f32 = (shape: number[], ...v: number[]) => ({ data: Float32Array.from(v), shape });

test('stackBatch stacks fixed-shape features along a new first axis, keeping the element type', () => {
  const a: FeatureMap = {
    image: f32([2, 2], 1, 2, 3, 4),
    label: { data: Int32Array.of(7), shape: [] },
  };
  const b: FeatureMap = {
    image: f32([2, 2], 5, 6, 7, 8),
    label: { data: Int32Array.of(9), shape: [] },
  };
  const batch = stackBatch([a, b], ['a', 'b']);
  assert.deepEqual(batch.image.shape, [2, 2, 2]);
  assert.deepEqual([...batch.image.data], [1, 2, 3, 4, 5, 6, 7, 8]);
  assert.ok(batch.label.data instanceof Int32Array);
  assert.deepEqual(batch.label.shape, [2]);
  assert.deepEqual([...batch.label.data], [7, 9]);
  assert.deepEqual(Object.keys(batch), ['image', 'label']);
});

test('stackBatch pads a variable first dimension and adds num_<feature>', () => {
  const rows = (n: number): FeatureMap => ({
    classes: { data: Uint8Array.from({ length: n }, (_, i) => i + 1), shape: [n] },
    boxes: f32([n, 2], ...Array.from({ length: 2 * n }, (_, i) => 10 * n + i)),
  });
  const batch = stackBatch([rows(2), rows(0), rows(3)], ['x', 'y', 'z'], {
    boxes: { maxLength: 3, value: -1 },
    classes: { maxLength: 4, value: 0 },
  });
  assert.deepEqual(batch.boxes.shape, [3, 3, 2]);
  assert.deepEqual(
    [...batch.boxes.data],
    [20, 21, 22, 23, -1, -1, -1, -1, -1, -1, -1, -1, 30, 31, 32, 33, 34, 35],
  );
  assert.deepEqual([...batch.num_boxes.data], [2, 0, 3]);
  assert.deepEqual(batch.num_boxes.shape, [3]);
  assert.deepEqual(batch.classes.shape, [3, 4]);
  assert.deepEqual([...batch.classes.data], [1, 2, 0, 0, 0, 0, 0, 0, 1, 2, 3, 0]);
  assert.ok(batch.classes.data instanceof Uint8Array);
});

test('stackBatch errors name the feature and the examples', () => {
  const a: FeatureMap = { x: f32([2], 1, 2) };
  assert.throws(
    () => stackBatch([a, { x: f32([3], 1, 2, 3) }], ['A', 'B']),
    /feature 'x' has shape \[2\] in A but \[3\] in B/,
  );
  assert.throws(
    () => stackBatch([a, { y: f32([2], 1, 2) }], ['A', 'B']),
    /feature 'x' is missing from B \(present in A\)/,
  );
  assert.throws(
    () => stackBatch([a, { x: f32([2], 1, 2), y: f32([1], 0) }], ['A', 'B']),
    /feature 'y' of B is not in A/,
  );
  assert.throws(
    () => stackBatch([a, { x: { data: Int32Array.of(1, 2), shape: [2] } }], ['A', 'B']),
    /feature 'x' is Float32Array in A but Int32Array in B/,
  );
  assert.throws(
    () => stackBatch([a, a], ['A', 'B'], { x: { maxLength: 1, value: 0 } }),
    /feature 'x' of A has 2 rows, more than padding maxLength 1/,
  );
  assert.throws(
    () =>
      stackBatch([{ m: f32([1, 2], 1, 2) }, { m: f32([1, 3], 1, 2, 3) }], ['A', 'B'], {
        m: { maxLength: 4, value: 0 },
      }),
    /only the first dimension may vary/,
  );
  assert.throws(
    () =>
      stackBatch([{ c: { data: Uint8Array.of(1), shape: [1] } }], ['A'], {
        c: { maxLength: 2, value: -1 },
      }),
    /padding.c.value -1 does not fit feature 'c' of type Uint8Array/,
  );
  assert.throws(
    () => stackBatch([a], ['A'], { boxes: { maxLength: 2, value: 0 } }),
    /padding names feature 'boxes', but A has only 'x'/,
  );
  assert.throws(
    () => stackBatch([{ s: f32([], 1) }], ['A'], { s: { maxLength: 2, value: 0 } }),
    /is a scalar and cannot be padded/,
  );
  assert.throws(
    () => validatePadding({ b: { maxLength: 2.5, value: 0 } }),
    /padding.b.maxLength must be a positive integer, got 2.5/,
  );
});

test('stackBatch keeps an array whose consecutive slots the examples are, and copies otherwise', () => {
  const whole = Float32Array.from({ length: 12 }, (_, i) => i);
  const slot = (e: number): FeatureMap => ({
    x: { data: whole.subarray(4 * e, 4 * e + 4), shape: [4] },
  });
  const kept = stackBatch([slot(0), slot(1), slot(2)], ['a', 'b', 'c']);
  assert.equal(kept.x.data.buffer, whole.buffer, 'no copy');
  assert.deepEqual([...kept.x.data], [...whole]);
  assert.deepEqual(kept.x.shape, [3, 4]);
  // Out of order, or not the whole array: copied, in example order.
  const swapped = stackBatch([slot(1), slot(0), slot(2)], ['b', 'a', 'c']);
  assert.notEqual(swapped.x.data.buffer, whole.buffer);
  assert.deepEqual([...swapped.x.data], [4, 5, 6, 7, 0, 1, 2, 3, 8, 9, 10, 11]);
  const part = stackBatch([slot(0), slot(1)], ['a', 'b']);
  assert.notEqual(part.x.data.buffer, whole.buffer);
  assert.deepEqual([...part.x.data], [0, 1, 2, 3, 4, 5, 6, 7]);
});
