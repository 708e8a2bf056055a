import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../../src/core/random.js';
import {
  arraySource,
  epochShards,
  ParallelPipeline,
  type PipelineOptions,
} from '../../../src/data/pipeline/index.js';
import { boxRows, encodeExample } from './fixtures/map_fns.js';
import { batchBytes, drain, FIXTURE_MODULE, ids, probe, take } from './helpers.js';

const examples = (n: number): Uint8Array[] => Array.from({ length: n }, (_, i) => encodeExample(i));

function pipeline(over: Partial<PipelineOptions> = {}): ParallelPipeline {
  return new ParallelPipeline({
    source: arraySource('toy', examples(103), 20),
    map: probe(),
    training: false,
    batchSize: 10,
    seed: 7,
    workers: 0,
    ...over,
  });
}

test('eval: 103 examples, batch 10 -> 11 batches (last of 3), every example once in file order', async () => {
  const p = pipeline();
  const batches = await drain(p);
  assert.equal(batches.length, 11);
  assert.deepEqual(
    batches.map((b) => b.id.shape[0]),
    [10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 3],
  );
  assert.deepEqual(
    ids(batches),
    Array.from({ length: 103 }, (_, i) => i),
  );
  assert.deepEqual(
    batches.flatMap((b) => [...b.index.data]),
    Array.from({ length: 103 }, (_, i) => i),
  );
  assert.deepEqual([...batches[0].training.data], new Array(10).fill(0));
  assert.equal(await p.next(), null, 'stays done');
  await p.close();
});

test('eval with dropRemainder: 10 full batches', async () => {
  const p = pipeline({ dropRemainder: true });
  const batches = await drain(p);
  assert.equal(batches.length, 10);
  assert.deepEqual(
    ids(batches),
    Array.from({ length: 100 }, (_, i) => i),
  );
  await p.close();
});

test('per-example rng is Rng.derive(seed, pipeline/epoch/<e>/example/<k>)', async () => {
  const p = pipeline({ training: true, shuffleBufferSize: 8 });
  const batches = await take(p, 12); // 120 examples: all of epoch 0 and 17 of epoch 1
  const ks = batches.flatMap((b) => [...b.index.data]);
  assert.deepEqual(
    ks,
    Array.from({ length: 120 }, (_, i) => i),
    'k counts across epochs',
  );
  const epochs = batches.flatMap((b) => [...b.epoch.data]);
  assert.deepEqual(epochs, [...new Array(103).fill(0), ...new Array(17).fill(1)]);
  const noise = batches.flatMap((b) => [...b.noise.data]);
  for (let k = 0; k < 120; k++) {
    const rng = Rng.derive(7, `pipeline/epoch/${epochs[k]}/example/${k}`);
    const expected = [rng.uniform(), rng.uniform(), rng.uniform()].map(Math.fround);
    assert.deepEqual(noise.slice(3 * k, 3 * k + 3), expected, `noise of k=${k}`);
  }
  await p.close();
});

/**
 * Independent model of the training order: shards permuted with Rng.derive(seed,
 * 'pipeline/shards/<e>'), then a buffer of `size` from which a uniformly drawn element leaves and
 * the last one takes its place, refilled from the input before every draw.
 */
function expectedTrainingOrder(
  n: number,
  shardSize: number,
  seed: number,
  size: number,
  epoch: number,
): number[] {
  const numShards = Math.ceil(n / shardSize);
  const order = Array.from({ length: numShards }, (_, s) => s);
  Rng.derive(seed, `pipeline/shards/${epoch}`).shuffle(order);
  const input = order.flatMap((s) =>
    Array.from(
      { length: Math.min(n, (s + 1) * shardSize) - s * shardSize },
      (_, j) => s * shardSize + j,
    ),
  );
  const rng = Rng.derive(seed, `pipeline/shuffle/${epoch}`);
  const buf: number[] = [];
  const out: number[] = [];
  let next = 0;
  for (;;) {
    while (buf.length < size && next < input.length) buf.push(input[next++]);
    if (buf.length === 0) return out;
    const j = rng.int(buf.length);
    out.push(buf[j]);
    buf[j] = buf[buf.length - 1];
    buf.pop();
  }
}

test('training order: seeded shard shuffle then shuffle buffer, each epoch a permutation', async () => {
  const p = pipeline({ training: true, shuffleBufferSize: 16 });
  const got = ids(await take(p, 21)); // 210 examples = epochs 0 and 1 and 4 of epoch 2
  const e0 = expectedTrainingOrder(103, 20, 7, 16, 0);
  const e1 = expectedTrainingOrder(103, 20, 7, 16, 1);
  const e2 = expectedTrainingOrder(103, 20, 7, 16, 2);
  assert.deepEqual(got, [...e0, ...e1, ...e2.slice(0, 4)]);
  assert.deepEqual(
    [...e0].sort((a, b) => a - b),
    Array.from({ length: 103 }, (_, i) => i),
  );
  assert.notDeepEqual(e0, e1, 'epochs are shuffled differently');
  assert.notDeepEqual(
    await epochShards(arraySource('toy', examples(103), 20), true, 7, 0),
    await epochShards(arraySource('toy', examples(103), 20), true, 7, 1),
  );
  await p.close();
});

test('shuffleBufferSize 1 keeps the (shard-shuffled) record order', async () => {
  const p = pipeline({ training: true, shuffleBufferSize: 1 });
  const got = ids(await take(p, 11)).slice(0, 103);
  const order = await epochShards(arraySource('toy', examples(103), 20), true, 7, 0);
  const expected = order.flatMap((s) => {
    const first = Number(s.split('-')[1]) * 20;
    return Array.from({ length: Math.min(103, first + 20) - first }, (_, j) => first + j);
  });
  assert.deepEqual(got, expected);
  await p.close();
});

test('resume: batches after setState(getState()) equal the uninterrupted stream', async () => {
  const reference = pipeline({ training: true, shuffleBufferSize: 16 });
  const all = (await take(reference, 25)).map(batchBytes);
  await reference.close();
  for (const cut of [7, 10, 11, 20]) {
    const first = pipeline({ training: true, shuffleBufferSize: 16 });
    await take(first, cut);
    const state = JSON.parse(JSON.stringify(first.getState()));
    await first.close();
    const resumed = pipeline({ training: true, shuffleBufferSize: 16 });
    resumed.setState(state);
    const next = (await take(resumed, 5)).map(batchBytes);
    assert.deepEqual(
      next,
      all.slice(cut, cut + 5),
      `resumed after ${cut} batches (state ${JSON.stringify(state)})`,
    );
    await resumed.close();
  }
});

test('resume: getState values and a hand-written state without index', async () => {
  const p = pipeline({ training: true, shuffleBufferSize: 16 });
  assert.deepEqual(p.getState(), { epoch: 0, consumed: 0, index: 0 });
  await take(p, 7);
  assert.deepEqual(p.getState(), { epoch: 0, consumed: 70, index: 70 });
  await take(p, 4); // 110 examples: epoch 1, 7 consumed
  assert.deepEqual(p.getState(), { epoch: 1, consumed: 7, index: 110 });
  const after = batchBytes((await take(p, 1))[0]);
  // setState on a running pipeline discards its read-ahead and replays.
  p.setState({ epoch: 1, consumed: 7 });
  assert.deepEqual(batchBytes((await take(p, 1))[0]), after);
  assert.deepEqual(p.getState(), { epoch: 1, consumed: 17, index: 120 });
  await p.close();
});

test('a batch that ends an epoch leaves the state at the start of the next epoch', async () => {
  const p = pipeline({ training: true, shuffleBufferSize: 16, batchSize: 103 });
  const [epoch0] = await take(p, 1);
  assert.deepEqual(p.getState(), { epoch: 1, consumed: 0, index: 103 });
  assert.deepEqual(
    [...epoch0.id.data].sort((x, y) => x - y),
    Array.from({ length: 103 }, (_, i) => i),
  );
  const [epoch1] = await take(p, 1);
  const q = pipeline({ training: true, shuffleBufferSize: 16, batchSize: 103 });
  q.setState({ epoch: 1, consumed: 0, index: 103 });
  assert.deepEqual(batchBytes((await take(q, 1))[0]), batchBytes(epoch1));
  const done = pipeline();
  await drain(done);
  assert.deepEqual(done.getState(), { epoch: 1, consumed: 0, index: 103 });
  const again = pipeline();
  again.setState(done.getState());
  assert.equal(await again.next(), null, 'a finished eval pass stays finished');
  await Promise.all([p.close(), q.close(), done.close(), again.close()]);
});

test('eval resume continues the single pass', async () => {
  const p = pipeline();
  await take(p, 4);
  const state = p.getState();
  assert.deepEqual(state, { epoch: 0, consumed: 40, index: 40 });
  const q = pipeline();
  q.setState(state);
  assert.deepEqual(
    ids(await drain(q)),
    Array.from({ length: 63 }, (_, i) => 40 + i),
  );
  await Promise.all([p.close(), q.close()]);
});

test('padding: boxes padded to maxLength with value, num_boxes holds the true counts', async () => {
  const p = pipeline({
    map: probe({ boxes: true }),
    batchSize: 6,
    padding: { boxes: { maxLength: 5, value: -1 } },
  });
  const [b] = await take(p, 1);
  assert.deepEqual(b.boxes.shape, [6, 5, 4]);
  assert.deepEqual(
    [...b.num_boxes.data],
    [0, 1, 2, 3, 0, 1].map((_, i) => boxRows(i)),
  );
  assert.ok(b.num_boxes.data instanceof Int32Array);
  const expected: number[] = [];
  for (let id = 0; id < 6; id++) {
    for (let r = 0; r < 5; r++)
      expected.push(...(r < boxRows(id) ? [id, r, id + r, 0.5] : [-1, -1, -1, -1]));
  }
  assert.deepEqual([...b.boxes.data], expected);
  await p.close();
});

test('padding overflow names the feature and the example', async () => {
  const p = pipeline({
    map: probe({ boxes: true }),
    padding: { boxes: { maxLength: 2, value: 0 } },
  });
  await assert.rejects(
    p.next(),
    /feature 'boxes' of toy\[3\] \(shard 0, example 3\) has 3 rows, more than padding maxLength 2/,
  );
  await p.close();
});

test('variable shapes without padding: error names the feature and both examples', async () => {
  const p = pipeline({ map: probe({ boxes: true }) });
  await assert.rejects(
    p.next(),
    /feature 'boxes' has shape \[0, 4\] in toy\[0\].* but \[1, 4\] in toy\[1\]/,
  );
  await p.close();
});

test('map error (in-process) names the example and the original message; the error is sticky', async () => {
  const p = pipeline({ map: probe({ failOnId: 42 }) });
  await take(p, 4);
  await assert.rejects(
    p.next(),
    /map function failed on toy\[42\] \(shard 2, example 2\): probe refuses example 42/,
  );
  await assert.rejects(p.next(), /probe refuses example 42/);
  await p.close();
});

test('bad map reference and bad options fail clearly', async () => {
  const missing = pipeline({
    map: { module: FIXTURE_MODULE, factory: 'noSuchExport', options: {} },
  });
  await assert.rejects(missing.next(), /has no exported function 'noSuchExport'/);
  const notFn = pipeline({
    map: { module: FIXTURE_MODULE, factory: 'notAMapFactory', options: {} },
  });
  await assert.rejects(notFn.next(), /returned number, not a function/);
  assert.throws(() => pipeline({ batchSize: 0 }), /batchSize must be an integer >= 1, got 0/);
  assert.throws(
    () => pipeline({ padding: { boxes: { maxLength: 0, value: 0 } } }),
    /padding.boxes.maxLength/,
  );
  const p = pipeline();
  assert.throws(
    () => p.setState({ epoch: -1, consumed: 0 }),
    /state.epoch must be a non-negative integer/,
  );
  p.setState({ epoch: 0, consumed: 500 });
  await assert.rejects(
    p.next(),
    /500 examples of epoch 0 were consumed, but source 'toy' has only 103/,
  );
  const empty = new ParallelPipeline({
    source: arraySource('nothing', []),
    map: probe(),
    training: true,
    batchSize: 2,
    seed: 1,
    workers: 0,
  });
  await assert.rejects(empty.next(), /source 'nothing' has no examples/);
  await Promise.all([missing.close(), notFn.close(), p.close(), empty.close()]);
});

test('back-pressure: over 200 batches buffers stay within their bounds', async () => {
  const p = pipeline({
    training: true,
    shuffleBufferSize: 32,
    batchSize: 4,
    prefetchBatches: 3,
    map: probe({ delayEvery: 5, delayMs: 1 }),
  });
  for (let i = 0; i < 200; i++) {
    await p.next();
    if (i % 3 === 0) await new Promise((r) => setTimeout(r, 1)); // a consumer that sometimes lags
    const s = p.stats();
    assert.ok(
      s.readyBatches <= 3 && s.inFlight <= s.maxInFlight && s.bufferedExamples <= 20,
      JSON.stringify(s),
    );
  }
  const s = p.stats();
  // Batches are mapped whole: in-process the default is 2 batches of 4 in flight.
  assert.equal(s.maxInFlight, 8);
  assert.ok(s.peakReadyBatches <= 3, `peak ready ${s.peakReadyBatches}`);
  assert.ok(s.peakInFlight <= 8, `peak in flight ${s.peakInFlight}`);
  // (prefetch 3 + 2 batches in flight) * 4.
  assert.ok(s.peakBufferedExamples <= (3 + 2) * 4, `peak buffered ${s.peakBufferedExamples}`);
  assert.ok(s.peakReadyBatches >= 1 && s.peakInFlight >= 1, 'the stages did run ahead');
  assert.equal(s.batchesDelivered, 200);
  await p.close();
  await assert.rejects(p.next(), /pipeline is closed/);
  // A maxInFlight below one batch is raised to one batch, which then runs alone.
  const one = pipeline({ training: true, batchSize: 4, maxInFlight: 1 });
  await take(one, 20);
  assert.equal(one.stats().maxInFlight, 4);
  assert.equal(one.stats().peakInFlight, 4);
  assert.ok(one.stats().peakBufferedExamples <= (2 + 1) * 4);
  await one.close();
});
