import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildLearningRate } from '../../src/train/schedules.js';
import { assertClose } from '../helpers.js';

function values(fn: (s: number) => number, steps: number[]): number[] {
  return steps.map(fn);
}

test('constant (MG default 0.1)', () => {
  assert.equal(buildLearningRate({ type: 'constant', constant: {} })(123), 0.1);
  assert.equal(buildLearningRate({ type: 'constant', constant: { learning_rate: 0.3 } })(0), 0.3);
});

test('stepwise: PiecewiseConstantDecay boundaries are inclusive on the left interval; offset', () => {
  const cfg = { boundaries: [100, 200], values: [1.0, 0.5, 0.1] };
  const lr = buildLearningRate({ type: 'stepwise', stepwise: cfg });
  assert.deepEqual(values(lr, [0, 100, 101, 200, 201, 10000]), [1.0, 1.0, 0.5, 0.5, 0.1, 0.1]);
  const shifted = buildLearningRate({ type: 'stepwise', stepwise: { ...cfg, offset: 10 } });
  assert.deepEqual(values(shifted, [110, 111, 210, 211]), [1.0, 0.5, 0.5, 0.1]);
  assert.throws(
    () => buildLearningRate({ type: 'stepwise', stepwise: { boundaries: [1], values: [1] } }),
    /values needs one entry more than boundaries/,
  );
  assert.throws(
    () => buildLearningRate({ type: 'stepwise', stepwise: { values: [1] } }),
    /learning_rate\.stepwise\.boundaries must be set/,
  );
});

test('exponential: lr0·rate^(step/decay_steps), staircase floors; offset', () => {
  const base = { initial_learning_rate: 0.1, decay_steps: 10, decay_rate: 0.5 };
  const lr = buildLearningRate({ type: 'exponential', exponential: base });
  assertClose(values(lr, [0, 5, 10, 15]), [0.1, 0.1 * Math.SQRT1_2, 0.05, 0.1 * 0.5 ** 1.5]);
  const stairs = buildLearningRate({
    type: 'exponential',
    exponential: { ...base, staircase: true },
  });
  assertClose(values(stairs, [9, 10, 15, 20]), [0.1, 0.05, 0.05, 0.025]);
  const off = buildLearningRate({ type: 'exponential', exponential: { ...base, offset: 5 } });
  assertClose([off(15)], [0.05]);
  assert.throws(
    () => buildLearningRate({ type: 'exponential', exponential: { initial_learning_rate: 1 } }),
    /exponential\.decay_steps must be set/,
  );
});

test('polynomial: clamps at decay_steps, cycles to the next multiple', () => {
  const base = { initial_learning_rate: 1.0, decay_steps: 100, power: 2 }; // end 0.0001 (MG default)
  const lr = buildLearningRate({ type: 'polynomial', polynomial: base });
  assertClose(values(lr, [0, 50, 100, 150]), [1.0, 0.9999 * 0.25 + 0.0001, 0.0001, 0.0001]);
  const cyc = buildLearningRate({ type: 'polynomial', polynomial: { ...base, cycle: true } });
  // step 150 → decay over 200 steps: 0.9999·(1 − 0.75)² + 0.0001
  assertClose(values(cyc, [0, 100, 150]), [1.0, 0.0001, 0.9999 * 0.0625 + 0.0001]);
  const off = buildLearningRate({
    type: 'polynomial',
    polynomial: { ...base, offset: 50, power: 1 },
  });
  assertClose([off(100)], [0.9999 * 0.5 + 0.0001]);
});

test('cosine: lr0·((1−α)·½(1+cos(π·s/D)) + α), s clamped to D', () => {
  const lr = buildLearningRate({
    type: 'cosine',
    cosine: { initial_learning_rate: 0.1, decay_steps: 100, alpha: 0.1 },
  });
  const at25 = 0.1 * (0.9 * 0.5 * (1 + Math.cos(Math.PI / 4)) + 0.1);
  assertClose(values(lr, [0, 25, 50, 100, 200]), [0.1, at25, 0.055, 0.01, 0.01]);
});

test('linear warmup from warmup_learning_rate to the schedule value at warmup_steps', () => {
  // The optimizer_factory.py docstring example.
  const lr = buildLearningRate(
    { type: 'stepwise', stepwise: { boundaries: [10000, 20000], values: [0.1, 0.01, 0.001] } },
    { type: 'linear', linear: { warmup_steps: 500, warmup_learning_rate: 0.01 } },
  );
  assertClose(values(lr, [0, 250, 499, 500, 10000, 10001]), [
    0.01,
    0.055,
    0.01 + (499 / 500) * 0.09,
    0.1,
    0.1,
    0.01,
  ]);
  // The end point is the schedule at warmup_steps, not its initial value.
  const cos = buildLearningRate(
    { type: 'cosine', cosine: { initial_learning_rate: 1.0, decay_steps: 100 } },
    { type: 'linear', linear: { warmup_steps: 50 } },
  );
  assertClose(values(cos, [0, 25, 50]), [0, 0.25, 0.5]);
  assert.throws(
    () => buildLearningRate({ type: 'constant' }, { type: 'linear', linear: {} }),
    /warmup\.linear\.warmup_steps must be set/,
  );
});

test('polynomial warmup: lr(warmup_steps)·(max(step,1)/warmup_steps)^power', () => {
  const lr = buildLearningRate(
    { type: 'constant', constant: { learning_rate: 0.1 } },
    { type: 'polynomial', polynomial: { warmup_steps: 100, power: 2 } },
  );
  assertClose(values(lr, [0, 1, 50, 99, 100, 500]), [1e-5, 1e-5, 0.025, 0.1 * 0.99 ** 2, 0.1, 0.1]);
});

test('no warmup when warmup.type is null (schema default)', () => {
  const lr = buildLearningRate(
    { type: 'constant', constant: { learning_rate: 0.2 } },
    { type: null, linear: { warmup_steps: 100 } },
  );
  assert.equal(lr(0), 0.2);
});

test('power schedules', () => {
  const p = buildLearningRate({ type: 'power', power: { initial_learning_rate: 1.0 } });
  assertClose(values(p, [0, 1, 4]), [1, 1, 0.5]);
  const pl = buildLearningRate({
    type: 'power_linear',
    power_linear: { initial_learning_rate: 1.0, total_decay_steps: 100 },
  });
  assertClose(values(pl, [4, 95, 100, 120]), [0.5, 0.5 / Math.sqrt(95), 0, 0]);
  const po = buildLearningRate({
    type: 'power_with_offset',
    power_with_offset: { initial_learning_rate: 1.0, offset: 10, pre_offset_learning_rate: 2.0 },
  });
  assertClose(values(po, [5, 10, 11, 14]), [2, 2, 1, 0.5]);
});

test('unknown or missing type is an error', () => {
  assert.throws(() => buildLearningRate({ type: null }), /learning_rate\.type must be specified/);
  assert.throws(() => buildLearningRate({ type: 'cyclic' }), /'cyclic' is not supported/);
  assert.throws(
    () => buildLearningRate({ type: 'constant' }, { type: 'exp' }),
    /warmup\.type 'exp' is not supported/,
  );
});
