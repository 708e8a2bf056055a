/**
 * Eager tfjs-cpu step vs compiled ONNX Runtime step on a small ResNet block (two residual blocks,
 * projection shortcut, batch norm, softmax cross-entropy, SGD momentum), batch 32.
 *
 *   npx tsx bench/engine/step_timing.ts [--batch 32] [--size 16] [--steps 5] [--threads N]
 *
 * Prints the median step time of each runner and their ratio. Steps alternate between the two
 * runners so machine noise hits both alike.
 */
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/core/backend/index.js';
import { Layer, type CallArgs } from '../../src/core/layer.js';
import { Rng, setGlobalSeed } from '../../src/core/random.js';
import type { Batch, ForwardResult, InputPipeline, Task } from '../../src/core/task.js';
import { createCompiledStepRunner } from '../../src/engine/compiled_step.js';
import { softmaxCrossEntropy } from '../../src/losses/classification.js';
import { ResidualBlock } from '../../src/modeling/blocks/residual_block.js';
import { Dense } from '../../src/modeling/layers/dense.js';
import { EagerStepRunner } from '../../src/core/eager_step.js';
import { buildOptimizer, OptimizerState } from '../../src/train/optimizers/index.js';

const { values } = parseArgs({
  options: {
    batch: { type: 'string', default: '32' },
    size: { type: 'string', default: '16' },
    steps: { type: 'string', default: '5' },
    threads: { type: 'string', default: String(availableParallelism()) },
  },
});
const batchSize = Number(values.batch);
const size = Number(values.size);
const steps = Number(values.steps);
const threads = Number(values.threads);
const classes = 10;

type B = Batch & { images: tf.Tensor; labels: tf.Tensor };

class SmallResNet extends Layer {
  private readonly b1 = this.add(
    '_block1',
    new ResidualBlock({ filters: 16, strides: 1, useProjection: true }),
  );
  private readonly b2 = this.add(
    '_block2',
    new ResidualBlock({ filters: 32, strides: 2, useProjection: true }),
  );
  private readonly head = this.add('_head', new Dense({ units: classes }));
  protected call(x: tf.Tensor, args: CallArgs): tf.Tensor {
    const y = this.b2.apply(this.b1.apply(x, args), args);
    return this.head.apply(tf.mean(y, [1, 2]), args);
  }
}

const task: Task<SmallResNet, B, { logits: tf.Tensor }> = {
  type: 'bench_small_resnet',
  buildModel: () => new SmallResNet({ name: 'small_resnet' }),
  dummyBatch: (n) => makeBatch(n, 0),
  async buildInputs(): Promise<InputPipeline<B>> {
    throw new Error('the benchmark feeds batches directly');
  },
  forward(model, batch, args): ForwardResult<{ logits: tf.Tensor }> {
    const logits = model.apply(batch.images, args);
    const loss = tf.mean(softmaxCrossEntropy(logits, batch.labels)) as tf.Scalar;
    return { losses: { total_loss: loss }, outputs: { logits } };
  },
  buildMetrics: () => [],
};

function makeBatch(n: number, seed: number): B {
  const rng = new Rng(seed);
  const shape = [n, size, size, 8];
  const count = shape.reduce((a, b) => a * b, 1);
  const images = tf.tensor(
    Float32Array.from({ length: count }, () => rng.normal()),
    shape,
  );
  const labels = tf.oneHot(
    Int32Array.from({ length: n }, () => rng.int(classes)),
    classes,
  );
  return { images, labels: tf.cast(labels, 'float32') };
}

function parts() {
  setGlobalSeed(1);
  const model = task.buildModel();
  tf.tidy(() => {
    task.forward(model, makeBatch(2, 0), { training: false });
  });
  const optimizer = new OptimizerState(
    buildOptimizer({ type: 'sgd', sgd: { momentum: 0.9 } } as never),
  );
  optimizer.ensureSlots(
    model.trainableWeights().map((w) => ({ path: w.path, variable: w.variable })),
  );
  return { task, model, optimizer, ema: null, rng: new Rng(2) };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

await initBackend('cpu');
const eager = new EagerStepRunner(parts());
const compiled = createCompiledStepRunner(parts(), { intraOpNumThreads: threads });
const t0 = performance.now();
await compiled.trainStep(makeBatch(batchSize, 1), 0.1, 1);
const compileMs = performance.now() - t0;
await eager.trainStep(makeBatch(batchSize, 1), 0.1, 1);
const eagerMs: number[] = [];
const compiledMs: number[] = [];
for (let s = 2; s < 2 + steps; s++) {
  const batch = makeBatch(batchSize, s);
  let t = performance.now();
  const e = await eager.trainStep(batch, 0.1, s);
  eagerMs.push(performance.now() - t);
  t = performance.now();
  const c = await compiled.trainStep(batch, 0.1, s);
  compiledMs.push(performance.now() - t);
  tf.dispose([e.outputs.logits, c.outputs.logits, batch.images, batch.labels]);
}
const em = median(eagerMs);
const cm = median(compiledMs);
console.log(
  `small ResNet block train step, batch ${batchSize}, ${size}x${size}x8 input, ORT threads ${threads}`,
);
console.log(`first compiled step (trace + lower + session + run): ${compileMs.toFixed(0)} ms`);
console.log(
  `eager tfjs-cpu: ${em.toFixed(1)} ms/step   compiled ORT: ${cm.toFixed(1)} ms/step   speed-up ${(em / cm).toFixed(1)}x`,
);
