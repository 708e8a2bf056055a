import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/core/backend/index.js';
import { Rng } from '../../src/core/random.js';
import {
  computeFans,
  constant,
  getInitializer,
  glorotNormal,
  glorotUniform,
  heNormal,
  heUniform,
  lecunNormal,
  lecunUniform,
  ones,
  randomNormal,
  randomUniform,
  truncatedNormal,
  varianceScaling,
  zeros,
} from '../../src/core/initializers.js';
import type { Initializer } from '../../src/core/layer.js';

await initBackend('cpu');

function draw(init: Initializer, shape: number[], seed = 1): Float32Array {
  const t = init(shape, new Rng(seed));
  const v = t.dataSync() as Float32Array;
  t.dispose();
  return v;
}

function stats(v: ArrayLike<number>): { mean: number; variance: number; min: number; max: number } {
  let s = 0;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < v.length; i++) {
    s += v[i];
    min = Math.min(min, v[i]);
    max = Math.max(max, v[i]);
  }
  const mean = s / v.length;
  let ss = 0;
  for (let i = 0; i < v.length; i++) ss += (v[i] - mean) ** 2;
  return { mean, variance: ss / v.length, min, max };
}

/** Variance of a standard normal truncated to [-2, 2]: 1 - 4·φ(2) / (Φ(2) - Φ(-2)). */
const TRUNC2_VARIANCE = (() => {
  const phi2 = Math.exp(-2) / Math.sqrt(2 * Math.PI);
  const mass = 0.9544997361036416; // Φ(2) - Φ(-2)
  return 1 - (4 * phi2) / mass;
})();

test('fans follow Keras: dense, conv receptive field, vectors and scalars', () => {
  assert.deepEqual(computeFans([]), { fanIn: 1, fanOut: 1 });
  assert.deepEqual(computeFans([7]), { fanIn: 7, fanOut: 7 });
  assert.deepEqual(computeFans([5, 3]), { fanIn: 5, fanOut: 3 });
  assert.deepEqual(computeFans([3, 3, 16, 32]), { fanIn: 144, fanOut: 288 });
  assert.deepEqual(computeFans([2, 3, 3, 4, 8]), { fanIn: 72, fanOut: 144 });
});

test('constant initializers have the shape and value asked for', () => {
  for (const [init, v] of [
    [zeros, 0],
    [ones, 1],
    [constant(2.5), 2.5],
    [constant(), 0],
  ] as const) {
    const t = init([2, 3], new Rng(0));
    assert.deepEqual(t.shape, [2, 3]);
    assert.ok(Array.from(t.dataSync()).every((x) => x === v));
    t.dispose();
  }
});

test('same seed reproduces, different seed differs', () => {
  const a = draw(heNormal(), [3, 3, 4, 8], 11);
  const b = draw(heNormal(), [3, 3, 4, 8], 11);
  const c = draw(heNormal(), [3, 3, 4, 8], 12);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
});

test('randomNormal / randomUniform match their moments', () => {
  const n = draw(randomNormal({ mean: 1, stddev: 2 }), [200000]);
  const sn = stats(n);
  assert.ok(Math.abs(sn.mean - 1) < 0.02, `mean ${sn.mean}`);
  assert.ok(Math.abs(sn.variance - 4) < 0.06, `variance ${sn.variance}`);
  const u = draw(randomUniform({ minval: -1, maxval: 3 }), [200000]);
  const su = stats(u);
  assert.ok(su.min >= -1 && su.max < 3);
  assert.ok(Math.abs(su.mean - 1) < 0.02);
  assert.ok(Math.abs(su.variance - 16 / 12) < 0.02, `variance ${su.variance}`);
  // Keras defaults: RandomNormal stddev 0.05, RandomUniform ±0.05.
  const d = stats(draw(randomNormal(), [100000]));
  assert.ok(Math.abs(Math.sqrt(d.variance) - 0.05) < 0.001);
  const du = stats(draw(randomUniform(), [100000]));
  assert.ok(du.min >= -0.05 && du.max < 0.05 && du.max > 0.049);
});

test('truncatedNormal respects 2-stddev bounds and the truncated variance', () => {
  const v = draw(truncatedNormal({ mean: 0.5, stddev: 0.1 }), [200000]);
  const s = stats(v);
  assert.ok(s.min >= 0.5 - 0.2 - 1e-6 && s.max <= 0.5 + 0.2 + 1e-6, `${s.min}..${s.max}`);
  assert.ok(Math.abs(s.mean - 0.5) < 0.002);
  const expected = 0.01 * TRUNC2_VARIANCE;
  assert.ok(Math.abs(s.variance / expected - 1) < 0.02, `variance ${s.variance} vs ${expected}`);
});

test('varianceScaling truncated normal has variance scale/fan after the 0.8796 correction', () => {
  // fan_in of [3,3,8,16] = 72; he_normal: variance 2/72.
  const v = draw(heNormal(), [3, 3, 8, 16 * 100]);
  const s = stats(v);
  const target = 2 / 72;
  assert.ok(Math.abs(s.mean) < 0.003);
  assert.ok(Math.abs(s.variance / target - 1) < 0.02, `variance ${s.variance} vs ${target}`);
  const limit = (2 * Math.sqrt(target)) / 0.87962566103423978;
  assert.ok(s.max <= limit + 1e-6 && s.min >= -limit - 1e-6);
  assert.ok(s.max > 0.95 * limit, 'draws reach close to the truncation bound');
});

test('varianceScaling modes and distributions give the Keras variances', () => {
  const shape = [40, 5000]; // fan_in 40, fan_out 5000
  const cases: [Initializer, number][] = [
    [heUniform(), 2 / 40],
    [glorotUniform(), 2 / 5040],
    [glorotNormal(), 2 / 5040],
    [lecunNormal(), 1 / 40],
    [lecunUniform(), 1 / 40],
    [varianceScaling({ scale: 3, mode: 'fan_out', distribution: 'untruncated_normal' }), 3 / 5000],
  ];
  for (const [init, target] of cases) {
    const s = stats(draw(init, shape));
    assert.ok(
      Math.abs(s.variance / target - 1) < 0.02,
      `${init.description}: variance ${s.variance} vs ${target}`,
    );
  }
  // Uniform bound is sqrt(3 * scale / n).
  const u = stats(draw(heUniform(), shape));
  const limit = Math.sqrt(6 / 40);
  assert.ok(u.max < limit && u.min >= -limit && u.max > 0.99 * limit);
  // Untruncated normal exceeds 2 stddev sometimes (about 4.6% of draws).
  const un = draw(varianceScaling({ distribution: 'untruncated_normal' }), [100000]);
  const sd = Math.sqrt(1 / 100000);
  const outside = Array.from(un).filter((x) => Math.abs(x) > 2 * sd).length / un.length;
  assert.ok(Math.abs(outside - 0.0455) < 0.005, `fraction outside 2 sd: ${outside}`);
});

test('getInitializer resolves Keras names and configs', () => {
  const shape = [50, 4000];
  const he1 = draw(getInitializer('he_normal'), shape);
  const he2 = draw(getInitializer('HeNormal'), shape);
  assert.deepEqual(he1, he2);
  assert.deepEqual(he1, draw(heNormal(), shape));
  // 'VarianceScaling' alone is Keras' default: scale 1, fan_in, truncated normal.
  assert.deepEqual(draw(getInitializer('VarianceScaling'), shape), draw(lecunNormal(), shape));
  const cfg = getInitializer({
    class_name: 'VarianceScaling',
    config: { scale: 2, mode: 'fan_out', distribution: 'uniform', seed: null },
  });
  assert.deepEqual(
    draw(cfg, shape),
    draw(varianceScaling({ scale: 2, mode: 'fan_out', distribution: 'uniform' }), shape),
  );
  const tn = stats(
    draw(getInitializer({ class_name: 'TruncatedNormal', config: { stddev: 0.02 } }), [100000]),
  );
  assert.ok(tn.max <= 0.04 + 1e-7 && tn.min >= -0.04 - 1e-7);
  const c = getInitializer({ class_name: 'Constant', config: { value: 3 } })([2], new Rng(0));
  assert.deepEqual(Array.from(c.dataSync()), [3, 3]);
  c.dispose();
  for (const name of [
    'zeros',
    'Ones',
    'glorot_uniform',
    'random_normal',
    'RandomUniform',
    'truncated_normal',
    'lecun_uniform',
  ]) {
    assert.equal(typeof getInitializer(name), 'function', name);
  }
});

test('getInitializer rejects unknown names listing the valid ones, and bad configs', () => {
  assert.throws(
    () => getInitializer('he_normall'),
    /unknown initializer 'he_normall'; valid names: .*VarianceScaling, HeNormal/,
  );
  assert.throws(
    () => getInitializer({ class_name: 'VarianceScaling', config: { mode: 'fan_sideways' } }),
    /mode 'fan_sideways'/,
  );
  assert.throws(
    () => getInitializer({ class_name: 'RandomNormal', config: { stddev: 'big' } }),
    /config.stddev must be a number/,
  );
});

test('initializers return the requested dtype', () => {
  const t = zeros([2], new Rng(0), 'int32');
  assert.equal(t.dtype, 'int32');
  t.dispose();
  const before = tf.memory().numTensors;
  glorotUniform()([3, 3], new Rng(0)).dispose();
  assert.equal(tf.memory().numTensors, before);
});
