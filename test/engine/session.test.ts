/**
 * Runtime injection (src/engine/session.ts): the engine runs on the ONNX Runtime module it is
 * given. onnxruntime-node is injected explicitly, wrapped to count what the engine asks of it, so
 * the test fails if any session or tensor comes from elsewhere.
 */
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import * as ort from 'onnxruntime-node';
import { Rng, setGlobalSeed } from '../../src/core/random.js';
import { EagerStepRunner } from '../../src/core/eager_step.js';
import { compileFunction } from '../../src/engine/compile.js';
import { createCompiledStepRunner } from '../../src/engine/compiled_step.js';
import type { OrtRuntime, OrtSessionOptions } from '../../src/engine/session.js';
import { buildOptimizer, OptimizerState } from '../../src/train/optimizers/index.js';
import { assertClose } from '../helpers.js';
import { testOnEachBackend } from './backends.js';
import { BlockTask } from './models.js';

/** onnxruntime-node behind counters. */
function countingRuntime() {
  const counts = { sessions: 0, tensors: 0, runs: 0 };
  const options: OrtSessionOptions[] = [];
  const runtime: OrtRuntime = {
    InferenceSession: {
      async create(model, opts) {
        counts.sessions++;
        options.push({ ...opts });
        const session = await ort.InferenceSession.create(model, opts);
        return {
          run: (feeds) => {
            counts.runs++;
            return session.run(feeds as Record<string, ort.Tensor>);
          },
          release: () => session.release(),
          endProfiling: () => session.endProfiling(),
        };
      },
    },
    // Called with `new`: a constructor function returning its own object yields that object.
    Tensor: function (
      type: 'float32' | 'int32' | 'bool',
      data: Float32Array | Int32Array | Uint8Array,
      dims: readonly number[],
    ) {
      counts.tensors++;
      return new ort.Tensor(type, data, dims);
    } as unknown as OrtRuntime['Tensor'],
  };
  return { runtime, counts, options };
}

testOnEachBackend('compileFunction runs on the injected runtime', async () => {
  const { runtime, counts, options } = countingRuntime();
  const a = tf.tensor2d([1, -2, 3, 4, 5, -6], [2, 3]);
  const b = tf.tensor2d([0.5, 1, -1, 2, 0, 3], [3, 2]);
  const fn = (x: Record<string, tf.Tensor>) => [tf.relu(tf.matMul(x.a, x.b))];
  const compiled = await compileFunction({ a, b }, fn, { runtime, intraOpNumThreads: 1 });
  const [got] = await compiled.run({ a, b });
  const [want] = fn({ a, b });
  assertClose(got.dataSync(), want.dataSync(), { rtol: 1e-6 });
  assert.deepEqual(counts, { sessions: 1, tensors: 2, runs: 1 });
  assert.equal(options[0].intraOpNumThreads, 1);
  await compiled.dispose();
  tf.dispose([a, b, got, want]);
});

testOnEachBackend('a compiled training step runs on the injected runtime', async () => {
  const { runtime, counts } = countingRuntime();
  const parts = () => {
    setGlobalSeed(5);
    const task = new BlockTask('bottleneck');
    const model = task.buildModel();
    tf.tidy(() => void task.forward(model, task.batch(2), { training: false }));
    const optimizer = new OptimizerState(buildOptimizer({ type: 'sgd', sgd: { momentum: 0.9 } }));
    return { task, model, optimizer, ema: null, rng: new Rng(2) };
  };
  const eagerParts = parts();
  const compiledParts = parts();
  const eager = new EagerStepRunner(eagerParts);
  const compiled = createCompiledStepRunner(compiledParts, { runtime, intraOpNumThreads: 1 });
  for (let step = 1; step <= 2; step++) {
    const batch = eagerParts.task.batch(2, step);
    const e = await eager.trainStep(batch, 0.05, step);
    const c = await compiled.trainStep(batch, 0.05, step);
    assertClose([c.logs.total_loss], [e.logs.total_loss], { rtol: 1e-4 });
    tf.dispose([e.outputs.logits, c.outputs.logits]);
  }
  assert.equal(counts.sessions, 1);
  assert.equal(counts.runs, 2);
  assert.ok(counts.tensors > 2 * compiledParts.model.weights().length, `${counts.tensors} feeds`);
  compiled.dispose();
});

testOnEachBackend('memory options reach the session and leave the steps unchanged', async () => {
  // enableCpuMemArena / enableMemPattern (the large-graph setting of bench/engine/run.ts) are
  // passed to ORT as given, and training steps with both off equal the eager steps.
  const { runtime, options } = countingRuntime();
  const parts = () => {
    setGlobalSeed(7);
    const task = new BlockTask('bottleneck');
    const model = task.buildModel();
    tf.tidy(() => void task.forward(model, task.batch(2), { training: false }));
    const optimizer = new OptimizerState(buildOptimizer({ type: 'sgd', sgd: { momentum: 0.9 } }));
    return { task, model, optimizer, ema: null, rng: new Rng(3) };
  };
  const eagerParts = parts();
  const compiledParts = parts();
  const eager = new EagerStepRunner(eagerParts);
  const compiled = createCompiledStepRunner(compiledParts, {
    runtime,
    intraOpNumThreads: 1,
    enableCpuMemArena: false,
    enableMemPattern: false,
  });
  for (let step = 1; step <= 3; step++) {
    const batch = eagerParts.task.batch(2, step);
    const e = await eager.trainStep(batch, 0.05, step);
    const c = await compiled.trainStep(batch, 0.05, step);
    assertClose([c.logs.total_loss], [e.logs.total_loss], { rtol: 1e-4 });
    tf.dispose([e.outputs.logits, c.outputs.logits]);
  }
  assert.equal(options.length, 1);
  assert.equal(options[0].enableCpuMemArena, false);
  assert.equal(options[0].enableMemPattern, false);
  compiled.dispose();
  // Left unset, ORT's defaults apply: the engine passes neither option.
  const plain = countingRuntime();
  const a = tf.tensor2d([1, 2, 3, 4], [2, 2]);
  const f = await compileFunction({ a }, (x) => [tf.relu(x.a)], { runtime: plain.runtime });
  tf.dispose(await f.run({ a }));
  assert.ok(
    !('enableCpuMemArena' in plain.options[0]) && !('enableMemPattern' in plain.options[0]),
  );
  await f.dispose();
  a.dispose();
});
