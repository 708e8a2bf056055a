/** runBatch: mapping the examples of one batch, its slot arrays and its errors. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runBatch, type BatchItem } from '../../../src/data/pipeline/map_runner.js';
import type { MapFn } from '../../../src/data/pipeline/index.js';

const items = (n: number): BatchItem[] =>
  Array.from({ length: n }, (_, i) => ({
    bytes: Uint8Array.of(i),
    task: { index: i, epoch: 0, where: `toy[${i}]`, training: true, seed: 3 },
  }));

test('allocFloat32: each example writes its slot of the batch array, later calls get new arrays', async () => {
  const seen: Float32Array[] = [];
  const fn: MapFn = async (bytes, ctx) => {
    const id = bytes[0];
    if (id % 2 === 0) await new Promise((r) => setTimeout(r, 1)); // interleave the lanes
    const image = ctx.allocFloat32!(3);
    image.set([id, id + 0.5, -id]);
    const extra = ctx.allocFloat32!(2);
    extra.set([id, id]);
    seen.push(image, extra);
    return { image: { data: image, shape: [3] }, extra: { data: extra, shape: [2] } };
  };
  const out = await runBatch(fn, items(5), {}, 2);
  assert.ok('batch' in out);
  const { image, extra } = out.batch;
  assert.deepEqual([...image.data], [0, 0.5, -0, 1, 1.5, -1, 2, 2.5, -2, 3, 3.5, -3, 4, 4.5, -4]);
  assert.deepEqual(image.shape, [5, 3]);
  assert.equal(image.data.byteLength, image.data.buffer.byteLength, 'the batch owns its array');
  assert.ok(seen.filter((a) => a.length === 3).every((a) => a.buffer === image.data.buffer));
  // The second array of each example is its own, so the feature is stacked by copying.
  assert.ok(seen.filter((a) => a.length === 2).every((a) => a.buffer !== extra.data.buffer));
  assert.deepEqual([...extra.data], [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]);
});

test('allocFloat32 with lengths that differ between examples falls back to new arrays', async () => {
  const fn: MapFn = (bytes, ctx) => {
    const n = bytes[0] === 1 ? 3 : 2;
    const x = ctx.allocFloat32!(n).fill(bytes[0]);
    return { x: { data: x, shape: [n] } };
  };
  const out = await runBatch(fn, items(3), { x: { maxLength: 3, value: -1 } }, 4);
  assert.ok('batch' in out);
  assert.deepEqual([...out.batch.x.data], [0, 0, -1, 1, 1, 1, 2, 2, -1]);
  assert.deepEqual([...out.batch.num_x.data], [2, 3, 2]);
});

test('the lowest failing example is reported, then stacking errors as slot -1', async () => {
  const failing: MapFn = async (bytes) => {
    if (bytes[0] === 4) throw new Error('four');
    if (bytes[0] === 2) {
      await new Promise((r) => setTimeout(r, 2)); // fails after example 4 has
      throw new Error('two');
    }
    return { x: { data: Float32Array.of(1), shape: [1] } };
  };
  const out = await runBatch(failing, items(6), {}, 3);
  assert.ok('slot' in out);
  assert.equal(out.slot, 2);
  assert.match(out.error.message, /two/);
  const ragged: MapFn = (bytes) => ({
    x: { data: new Float32Array(bytes[0] + 1), shape: [bytes[0] + 1] },
  });
  const bad = await runBatch(ragged, items(2), {}, 1);
  assert.ok('slot' in bad);
  assert.equal(bad.slot, -1);
  assert.match(bad.error.message, /feature 'x' has shape \[1\] in toy\[0\] but \[2\] in toy\[1\]/);
});
