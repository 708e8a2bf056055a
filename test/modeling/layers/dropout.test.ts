import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../src/core/backend/index.js';
import { Rng, setGlobalSeed } from '../../../src/core/random.js';
import {
  Dropout,
  getStochasticDepthRate,
  StochasticDepth,
} from '../../../src/modeling/layers/dropout.js';

await initBackend('cpu');

test('Dropout is the identity at inference and with rate 0', () => {
  const x = tf.tensor2d([
    [1, 2],
    [3, 4],
  ]);
  for (const args of [{}, { training: false }]) {
    const y = new Dropout({ rate: 0.5 }).apply(x, args);
    assert.deepEqual(Array.from(y.dataSync()), [1, 2, 3, 4]);
  }
  const y0 = new Dropout({ rate: 0 }).apply(x, { training: true });
  assert.deepEqual(Array.from(y0.dataSync()), [1, 2, 3, 4]);
  x.dispose();
});

test('Dropout in training drops about `rate` and scales the rest by 1/(1-rate)', () => {
  const rate = 0.3;
  const x = tf.ones([400, 250]);
  const y = new Dropout({ rate }).apply(x, { training: true, rng: new Rng(7) });
  const v = y.dataSync();
  let zeros = 0;
  for (const e of v) {
    if (e === 0) zeros++;
    else assert.ok(Math.abs(e - 1 / (1 - rate)) < 1e-6, `kept value ${e}`);
  }
  const frac = zeros / v.length;
  // Binomial sd for 100k draws is ~0.0014; allow 5 sd.
  assert.ok(Math.abs(frac - rate) < 0.007, `dropped fraction ${frac}`);
  const mean = tf.mean(y).dataSync()[0];
  assert.ok(Math.abs(mean - 1) < 0.02, `mean ${mean}`);
  tf.dispose([x, y]);
});

test('Dropout masks are reproducible from args.rng and from the layer stream', () => {
  const x = tf.ones([50, 40]);
  const a = new Dropout({ rate: 0.5 }).apply(x, { training: true, rng: new Rng(3) });
  const b = new Dropout({ rate: 0.5 }).apply(x, { training: true, rng: new Rng(3) });
  const c = new Dropout({ rate: 0.5 }).apply(x, { training: true, rng: new Rng(4) });
  assert.deepEqual(a.dataSync(), b.dataSync());
  assert.notDeepEqual(a.dataSync(), c.dataSync());
  setGlobalSeed(11);
  const own1 = new Dropout({ rate: 0.5 });
  const own2 = new Dropout({ rate: 0.5 });
  const first = own1.apply(x, { training: true });
  const second = own1.apply(x, { training: true });
  assert.deepEqual(own2.apply(x, { training: true }).dataSync(), first.dataSync());
  assert.notDeepEqual(first.dataSync(), second.dataSync(), 'each call draws a new mask');
  setGlobalSeed(0);
  tf.dispose([x, a, b, c, first, second]);
});

test('Dropout noiseShape shares the mask along size-1 axes', () => {
  const x = tf.ones([200, 6]);
  const y = new Dropout({ rate: 0.5, noiseShape: [null, 1] }).apply(x, {
    training: true,
    rng: new Rng(1),
  });
  const rows = y.arraySync() as number[][];
  for (const r of rows) assert.ok(r.every((v) => v === r[0]) && (r[0] === 0 || r[0] === 2));
  const dropped = rows.filter((r) => r[0] === 0).length;
  assert.ok(dropped > 60 && dropped < 140, `rows dropped ${dropped}`);
  assert.throws(
    () => new Dropout({ rate: 0.5, noiseShape: [3, 1] }).apply(x, { training: true }),
    /does not broadcast/,
  );
  assert.throws(() => new Dropout({ rate: 1 }), /rate must be in \[0, 1\)/);
  tf.dispose([x, y]);
});

test('StochasticDepth drops whole examples with floor(keep + U) and scales by 1/keep', () => {
  const dropRate = 0.25;
  const keep = 1 - dropRate;
  const x = tf.ones([2000, 3, 2, 1]);
  const layer = new StochasticDepth({ dropRate });
  const y = layer.apply(x, { training: true, rng: new Rng(5) });
  const v = y.dataSync();
  let dropped = 0;
  for (let b = 0; b < 2000; b++) {
    const ex = Array.from(v.slice(b * 6, (b + 1) * 6));
    assert.ok(
      ex.every((e) => e === ex[0]),
      'one decision per example',
    );
    if (ex[0] === 0) dropped++;
    else assert.ok(Math.abs(ex[0] - 1 / keep) < 1e-6);
  }
  // Binomial sd ~0.0097; allow ~5 sd.
  assert.ok(Math.abs(dropped / 2000 - dropRate) < 0.05, `dropped ${dropped}`);
  const inference = layer.apply(x);
  assert.equal(tf.sum(inference).dataSync()[0], 2000 * 6);
  const none = new StochasticDepth({ dropRate: null }).apply(x, { training: true });
  assert.equal(none, x);
  assert.equal(layer.name, 'stochastic_depth');
  tf.dispose([x, y]);
});

test('getStochasticDepthRate is init_rate * i / n', () => {
  assert.equal(getStochasticDepthRate(0.2, 3, 10), (0.2 * 3) / 10);
  assert.equal(getStochasticDepthRate(0.5, 4, 4), 0.5);
  assert.equal(getStochasticDepthRate(null, 1, 2), null);
  assert.throws(() => getStochasticDepthRate(1.5, 1, 2), /must be within 0 and 1/);
});
