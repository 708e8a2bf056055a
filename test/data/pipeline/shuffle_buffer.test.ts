import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../../src/core/random.js';
import {
  arraySource,
  inOrder,
  shuffleBuffer,
  type Flagged,
} from '../../../src/data/pipeline/index.js';

async function* range(n: number): AsyncGenerator<number> {
  for (let i = 0; i < n; i++) yield i;
}

async function all<T>(it: AsyncIterable<Flagged<T>>): Promise<Flagged<T>[]> {
  const out: Flagged<T>[] = [];
  for await (const x of it) out.push(x);
  return out;
}

test('shuffleBuffer: a permutation in which output p comes from the first p + capacity inputs', async () => {
  for (const capacity of [1, 2, 5, 50, 200]) {
    const out = await all(shuffleBuffer(range(100), capacity, new Rng(3)));
    const items = out.map((x) => x.item);
    assert.deepEqual(
      [...items].sort((a, b) => a - b),
      Array.from({ length: 100 }, (_, i) => i),
      `capacity ${capacity}`,
    );
    items.forEach((v, p) =>
      assert.ok(v < p + capacity, `capacity ${capacity}: output ${p} is input ${v}`),
    );
    assert.deepEqual(
      out.map((x) => x.last),
      [...new Array(99).fill(false), true],
    );
    if (capacity === 1)
      assert.deepEqual(
        items,
        Array.from({ length: 100 }, (_, i) => i),
      );
  }
});

test('shuffleBuffer: same seed, same order; another seed, another order', async () => {
  const a = (await all(shuffleBuffer(range(60), 16, new Rng(1)))).map((x) => x.item);
  const b = (await all(shuffleBuffer(range(60), 16, new Rng(1)))).map((x) => x.item);
  const c = (await all(shuffleBuffer(range(60), 16, new Rng(2)))).map((x) => x.item);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
  // The first draw is uniform over the first 16 inputs: with capacity 16 it is Rng(1).int(16).
  assert.equal(a[0], new Rng(1).int(16));
  await assert.rejects(
    all(shuffleBuffer(range(3), 0, new Rng(1))),
    /shuffle buffer size must be a positive integer/,
  );
});

test('inOrder flags the last element; an input error comes after the element read before it', async () => {
  assert.deepEqual(await all(inOrder(range(3))), [
    { item: 0, last: false },
    { item: 1, last: false },
    { item: 2, last: true },
  ]);
  assert.deepEqual(await all(inOrder(range(0))), []);
  async function* failing(): AsyncGenerator<number> {
    yield 1;
    yield 2;
    throw new Error('disk on fire');
  }
  const seen: number[] = [];
  await assert.rejects(async () => {
    for await (const x of inOrder(failing())) seen.push(x.item);
  }, /disk on fire/);
  assert.deepEqual(seen, [1, 2]);
});

test('arraySource: shards of shardSize, locators, unknown shard', async () => {
  const ex = Array.from({ length: 7 }, (_, i) => Uint8Array.of(i));
  const src = arraySource('mem', ex, 3);
  assert.deepEqual(await src.shards(), ['shard-0', 'shard-1', 'shard-2']);
  const got: string[] = [];
  for await (const r of src.readShard('shard-2')) got.push(`${r.bytes[0]}@${r.where}`);
  assert.deepEqual(got, ['6@mem[6] (shard 2, example 0)']);
  assert.throws(() => src.readShard('shard-9'), /unknown shard 'shard-9' \(it has 3 shards\)/);
  assert.throws(() => arraySource('mem', ex, 0), /shardSize must be a positive integer/);
});
