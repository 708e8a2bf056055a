import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  arraySource,
  ParallelPipeline,
  type PipelineOptions,
} from '../../../src/data/pipeline/index.js';
import { encodeExample } from './fixtures/map_fns.js';
import { batchBytes, drain, FIXTURE_MODULE, ids, probe, take } from './helpers.js';

const EXT = /\.ts$/.test(new URL(import.meta.url).pathname) ? '.ts' : '.js';
const examples = (n: number): Uint8Array[] => Array.from({ length: n }, (_, i) => encodeExample(i));

function options(over: Partial<PipelineOptions>): PipelineOptions {
  return {
    source: arraySource('toy', examples(103), 20),
    map: probe({ delayEvery: 3, delayMs: 3, boxes: true }),
    training: true,
    batchSize: 8,
    seed: 11,
    shuffleBufferSize: 24,
    padding: { boxes: { maxLength: 4, value: -1 } },
    ...over,
  };
}

test('batches are byte-identical for workers = 0, 1, 2, 3 (training and eval)', async () => {
  const runs: ReturnType<typeof batchBytes>[][] = [];
  const evals: ReturnType<typeof batchBytes>[][] = [];
  for (const workers of [0, 1, 2, 3]) {
    const p = new ParallelPipeline(options({ workers }));
    runs.push((await take(p, 15)).map(batchBytes)); // 120 examples: past the first epoch
    assert.equal(p.stats().workers, workers);
    // Examples with id % 3 == 0 sleep 3 ms, so with 3 workers results do come back out of order.
    if (workers === 3) assert.ok(p.stats().outOfOrder > 0, 'the re-order stage was exercised');
    await p.close();
    if (workers === 0 || workers === 2) {
      const e = new ParallelPipeline(options({ workers, training: false }));
      evals.push((await drain(e)).map(batchBytes));
      await e.close();
    }
  }
  for (let w = 1; w < runs.length; w++)
    assert.deepEqual(runs[w], runs[0], `workers=${w} vs in-process`);
  assert.deepEqual(evals[1], evals[0], 'eval: workers=2 vs in-process');
  assert.equal(evals[0].length, 13, '103 examples in batches of 8');
});

test('map error in a worker: earlier batches arrive, then next() rejects naming the example', async () => {
  const p = new ParallelPipeline(
    options({
      workers: 2,
      training: false,
      batchSize: 10,
      map: probe({ failOnId: 42, delayEvery: 2 }),
      padding: {},
    }),
  );
  const before = await take(p, 4);
  assert.deepEqual(
    ids(before),
    Array.from({ length: 40 }, (_, i) => i),
  );
  await assert.rejects(p.next(), (err: Error) => {
    assert.match(
      err.message,
      /map function failed on toy\[42\] \(shard 2, example 2\): probe refuses example 42/,
    );
    return true;
  });
  await assert.rejects(p.next(), /probe refuses example 42/);
  await p.close();
  await assert.rejects(p.next(), /pipeline is closed/);
});

test('a worker that cannot load the map function fails next() with the reason', async () => {
  const p = new ParallelPipeline(
    options({ workers: 1, map: { module: FIXTURE_MODULE, factory: 'noSuchExport', options: {} } }),
  );
  await assert.rejects(p.next(), /has no exported function 'noSuchExport'/);
  await p.close();
});

test('a pipeline dropped without close() does not keep the process alive', () => {
  const pipelineUrl = new URL(`../../../src/data/pipeline/index${EXT}`, import.meta.url).href;
  const fixtureUrl = new URL(`./fixtures/map_fns${EXT}`, import.meta.url).href;
  const code = `
    const { ParallelPipeline, arraySource } = await import(${JSON.stringify(pipelineUrl)});
    const { encodeExample } = await import(${JSON.stringify(fixtureUrl)});
    const source = arraySource('toy', Array.from({ length: 50 }, (_, i) => encodeExample(i)));
    const p = new ParallelPipeline({ source, training: true, batchSize: 4, seed: 3, workers: 2,
      map: { module: ${JSON.stringify(FIXTURE_MODULE)}, factory: 'makeProbeMap', options: {} } });
    const b = await p.next();
    console.log('got ' + b.id.shape[0]);
  `;
  const child = spawnSync(
    process.execPath,
    [...process.execArgv, '--input-type=module', '-e', code],
    {
      encoding: 'utf8',
      timeout: 60_000,
    },
  );
  assert.equal(child.signal, null, `child was killed (hung?): ${child.stderr}`);
  assert.equal(child.status, 0, child.stderr);
  assert.match(child.stdout, /got 4/);
});
