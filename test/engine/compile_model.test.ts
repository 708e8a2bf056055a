/**
 * Compiled inference (src/engine/compile_model.ts):
 *  - a classifier's compiled logits and probabilities equal eager tfjs-cpu (1e-5), outputs named
 *    by their path;
 *  - one session per input signature: the same signature hits the cache, a new batch size
 *    compiles once more;
 *  - RSS and the tfjs tensor count stay flat over repeated calls;
 *  - streaming: a causal convolution with a running sum, run frame by frame with explicit
 *    `state/*` inputs and outputs, equals the eager whole-clip computation; no variable holds
 *    the stream state;
 *  - a function that reads a variable not given to compileModel is refused.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import * as tf from '@tensorflow/tfjs-core';
import * as ort from 'onnxruntime-node';
import { initBackend } from '../../src/core/backend/index.js';
import { setGlobalSeed } from '../../src/core/random.js';
import { compileModel } from '../../src/engine/compile_model.js';
import type { OrtRuntime } from '../../src/engine/session.js';
import { Dense } from '../../src/modeling/layers/dense.js';
import { assertClose } from '../helpers.js';
import { testOnEachBackend } from './backends.js';
import { BlockTask } from './models.js';

setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

/** onnxruntime-node, counting the sessions it creates. */
function countingRuntime(): { runtime: OrtRuntime; sessions: () => number } {
  let sessions = 0;
  const runtime: OrtRuntime = {
    InferenceSession: {
      create: (model, opts) => {
        sessions++;
        return ort.InferenceSession.create(model, opts);
      },
    },
    Tensor: ort.Tensor,
  };
  return { runtime, sessions: () => sessions };
}

function classifier() {
  setGlobalSeed(9);
  const task = new BlockTask('bottleneck');
  const model = task.buildModel();
  tf.tidy(() => void task.forward(model, task.batch(2), { training: false }));
  const variables = model.weights().map((w) => ({ name: `model/${w.path}`, variable: w.variable }));
  const predict = (x: Record<string, tf.Tensor>) => {
    const logits = model.apply(x.images, { training: false });
    return { logits, probabilities: tf.softmax(logits) };
  };
  return { task, model, variables, predict };
}

testOnEachBackend('a compiled classifier equals eager; one session per signature', async () => {
  const { task, variables, predict } = classifier();
  const { runtime, sessions } = countingRuntime();
  const example = { images: task.batch(2, 1).images };
  const compiled = await compileModel(predict, example, {
    variables,
    runtime,
    intraOpNumThreads: 1,
  });
  assert.equal(sessions(), 1);
  assert.deepEqual(compiled.outputNames(example), ['logits', 'probabilities']);
  assert.deepEqual(compiled.inputNames(example), ['images', ...variables.map((v) => v.name)]);
  for (const [batchSize, seed] of [
    [2, 3],
    [2, 4],
    [3, 5],
    [3, 6],
    [2, 7],
  ]) {
    const images = task.batch(batchSize, seed).images;
    const got = await compiled.run({ images });
    const want = predict({ images });
    assert.deepEqual(got.logits.shape, [batchSize, 5]);
    assertClose(got.logits.dataSync(), want.logits.dataSync(), { rtol: 1e-5, atol: 1e-5 });
    assertClose(got.probabilities.dataSync(), want.probabilities.dataSync(), {
      rtol: 1e-5,
      atol: 1e-6,
    });
    tf.dispose([got.logits, got.probabilities, want.logits, want.probabilities, images]);
  }
  // Batch 2 compiled at creation, batch 3 on first use; the other calls hit the cache.
  assert.equal(sessions(), 2);
  assert.equal(compiled.signatures, 2);
  assert.equal(compiled.modeFor({ images: tf.zeros([3, 6, 6, 5]) }), 'compiled');
  assert.equal(compiled.modeFor({ images: tf.zeros([4, 6, 6, 5]) }), 'new');
  await compiled.dispose();
});

test('memory stays flat over repeated compiled calls', async () => {
  await initBackend('cpu');
  setGlobalSeed(2);
  // A 2048×128 kernel (1 MiB) is fed every call: a leak of feeds or outputs would show in RSS.
  const dense = new Dense({ units: 128 });
  const x = tf.randomNormal([4, 2048]);
  tf.dispose(dense.apply(x));
  const variables = dense.weights().map((w) => ({ name: w.path, variable: w.variable }));
  const compiled = await compileModel(
    (i) => ({ y: tf.relu(dense.apply(i.x)) }),
    { x },
    {
      variables,
      intraOpNumThreads: 1,
    },
  );
  const call = async () => {
    const inputs = { x: tf.randomNormal([4, 2048]) };
    const out = await compiled.run(inputs);
    tf.dispose([out.y, inputs.x]);
  };
  for (let i = 0; i < 20; i++) await call();
  collectGarbage();
  const tensors = tf.memory().numTensors;
  const rss = process.memoryUsage().rss;
  for (let i = 0; i < 300; i++) {
    // A new weight buffer every 10 calls: the cached ORT copy must be replaced, not accumulated.
    if (i % 10 === 0) {
      const k = dense.weights()[0].variable;
      const scaled = tf.mul(k, 1.0001);
      k.assign(scaled);
      scaled.dispose();
    }
    await call();
  }
  collectGarbage();
  const grown = (process.memoryUsage().rss - rss) / 2 ** 20;
  assert.equal(tf.memory().numTensors, tensors);
  assert.ok(grown < 20, `RSS grew by ${grown.toFixed(1)} MiB over 300 calls`);
  await compiled.dispose();
  tf.dispose(x);
  dense.dispose();
});

testOnEachBackend(
  'streaming: frame-by-frame compiled with state/* equals eager whole-clip',
  async () => {
    const T = 7;
    const C = 3;
    const K = 3;
    const weight = tf.variable(tf.tensor2d([0.5, -1, 2, 0.25, 1, -0.5, 1.5, 0.75, -2], [K, C]));
    const variablesBefore = Object.keys(tf.engine().registeredVariables).length;
    const clip = tf.randomNormal([T, C], 0, 1, 'float32', 4);
    /** One frame: causal conv over the buffer of the last K-1 frames, and a running sum. */
    const step = (i: Record<string, tf.Tensor>) => {
      const window = tf.concat([i['state/buffer'], i.frame], 0); // [K, C]
      const sum = tf.add(i['state/sum'], i.frame);
      return {
        y: tf.sum(tf.mul(window, weight), 0),
        total: sum,
        state: { buffer: tf.slice(window, [1, 0], [K - 1, C]), sum },
      };
    };
    const frames = tf.unstack(clip).map((f) => ({ frame: tf.reshape(f, [1, C]) }));
    const initial = { 'state/buffer': tf.zeros([K - 1, C]), 'state/sum': tf.zeros([1, C]) };
    const compiled = await compileModel(
      step,
      { ...frames[0], ...initial },
      {
        variables: [{ name: 'weight', variable: weight }],
        intraOpNumThreads: 1,
      },
    );
    const { outputs, state } = await compiled.runStream(frames, initial);
    assert.equal(compiled.signatures, 1);
    assert.equal(Object.keys(tf.engine().registeredVariables).length, variablesBefore);
    // Eager over the whole clip: zero-padded causal convolution and a cumulative sum.
    const padded = tf.concat([tf.zeros([K - 1, C]), clip], 0);
    const want = tf.stack(
      Array.from({ length: T }, (_, t) =>
        tf.sum(tf.mul(tf.slice(padded, [t, 0], [K, C]), weight), 0),
      ),
    );
    const got = tf.stack(outputs.map((o) => o.y));
    assertClose(got.dataSync(), want.dataSync(), { rtol: 1e-5, atol: 1e-6 });
    assertClose(state['state/sum'].dataSync(), tf.sum(clip, 0).dataSync(), {
      rtol: 1e-5,
      atol: 1e-6,
    });
    assertClose(outputs[3].total.dataSync(), tf.sum(tf.slice(clip, 0, 4), 0).dataSync(), {
      rtol: 1e-5,
      atol: 1e-6,
    });
    assert.ok(!('state' in outputs[0]), 'the state is returned once, not per frame');
    await compiled.dispose();
    tf.dispose([weight, clip, padded, want, got, ...Object.values(state)]);
  },
);

test('reading a variable that is not given is refused', async () => {
  await initBackend('cpu');
  const { task, predict } = classifier();
  await assert.rejects(
    compileModel(predict, { images: task.batch(2).images }, { fallback: 'error' }),
    /the model cannot be compiled \(runtime.engine_fallback is 'error'\): it reads variables that are not the given variables/,
  );
});
