/**
 * Memory of compiled steps: over 300 compiled training steps (after a warm-up) the process RSS
 * stays flat and no tfjs tensor is left behind.
 *
 * The model is small to run but has wide weights (a 2048×128 dense kernel: 1 MiB, and as much
 * again for its momentum slot and its EMA shadow), so every step moves ~3 MiB of state into ORT
 * and ~3 MiB back: a step that kept any of its inputs, outputs or ORT tensors alive would grow
 * the RSS by hundreds of MiB over 300 steps, far past the 20 MiB allowed for allocator noise.
 */
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import * as tf from '@tensorflow/tfjs-core';
import { Layer, type CallArgs } from '../../src/core/layer.js';
import { Rng, setGlobalSeed } from '../../src/core/random.js';
import type { Batch, ForwardResult, InputPipeline, Task } from '../../src/core/task.js';
import { createCompiledStepRunner } from '../../src/engine/compiled_step.js';
import { softmaxCrossEntropy } from '../../src/losses/classification.js';
import { modelL2Regularization } from '../../src/losses/l2.js';
import { Conv2D } from '../../src/modeling/layers/conv.js';
import { Dense } from '../../src/modeling/layers/dense.js';
import { Dropout } from '../../src/modeling/layers/dropout.js';
import { BatchNormalization } from '../../src/modeling/layers/normalization.js';
import { EmaState } from '../../src/train/ema.js';
import { buildOptimizer, OptimizerState } from '../../src/train/optimizers/index.js';
import { testOnEachBackend } from './backends.js';

setFlagsFromString('--expose-gc');
/** V8's collector, reachable once --expose-gc is set (new contexts get the `gc` global). */
const collectGarbage = runInNewContext('gc') as () => void;

type WideBatch = Batch & { images: tf.Tensor; labels: tf.Tensor };

const BATCH = 8;
const SIZE = 16;
const CLASSES = 10;

/** conv 3×3 + batch norm + relu, flatten, dense 2048→128 relu, dropout, dense → 10 logits. */
class WideNet extends Layer {
  private readonly conv = this.add(
    '_conv',
    new Conv2D({ filters: 8, kernelSize: 3, padding: 'same', useBias: false }),
  );
  private readonly norm = this.add('_norm', new BatchNormalization({ momentum: 0.9 }));
  private readonly hidden = this.add('_hidden', new Dense({ units: 128, activation: 'relu' }));
  private readonly drop = this.add('_dropout', new Dropout({ rate: 0.2 }));
  private readonly head = this.add('_head', new Dense({ units: CLASSES }));

  protected call(x: tf.Tensor, args: CallArgs): tf.Tensor {
    const y = tf.relu(this.norm.apply(this.conv.apply(x, args), args));
    const flat = tf.reshape(y, [y.shape[0], -1]);
    return this.head.apply(this.drop.apply(this.hidden.apply(flat, args), args), args);
  }
}

class WideTask implements Task<WideNet, WideBatch, { logits: tf.Tensor }> {
  readonly type = 'engine_memory_test';

  buildModel(): WideNet {
    return new WideNet({ name: 'wide_net' });
  }

  batch(seed: number): WideBatch {
    const rng = new Rng(seed);
    const n = BATCH * SIZE * SIZE * 4;
    const images = tf.tensor(
      Float32Array.from({ length: n }, () => rng.normal()),
      [BATCH, SIZE, SIZE, 4],
    );
    const ids = Int32Array.from({ length: BATCH }, () => rng.int(CLASSES));
    const labels = tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d(ids, 'int32'), CLASSES), 'float32'));
    return { images, labels };
  }

  dummyBatch(): WideBatch {
    return this.batch(0);
  }

  async buildInputs(): Promise<InputPipeline<WideBatch>> {
    throw new Error('the memory test drives steps directly');
  }

  forward(model: WideNet, batch: WideBatch, args: CallArgs): ForwardResult<{ logits: tf.Tensor }> {
    const logits = model.apply(batch.images, args);
    const cls = tf.mean(softmaxCrossEntropy(logits, batch.labels, 0)) as tf.Scalar;
    const l2 = modelL2Regularization(model.weights(), 1e-4);
    return {
      losses: { total_loss: tf.add(cls, l2) as tf.Scalar, cls_loss: cls, l2_loss: l2 },
      outputs: { logits },
    };
  }

  buildMetrics(): [] {
    return [];
  }
}

function rssMiB(): number {
  collectGarbage();
  collectGarbage();
  return process.memoryUsage().rss / 2 ** 20;
}

testOnEachBackend(
  '300 compiled steps: RSS stays flat and no tfjs tensor is left behind',
  async () => {
    setGlobalSeed(5);
    const task = new WideTask();
    const model = task.buildModel();
    tf.tidy(() => {
      task.forward(model, task.batch(1), { training: false });
    });
    const optimizer = new OptimizerState(
      buildOptimizer({ type: 'sgd', sgd: { momentum: 0.9 } } as Parameters<
        typeof buildOptimizer
      >[0]),
    );
    optimizer.ensureSlots(
      model.trainableWeights().map((w) => ({ path: w.path, variable: w.variable })),
    );
    const ema = new EmaState({ average_decay: 0.99 }, model.weights());
    const warnings: string[] = [];
    const runner = createCompiledStepRunner(
      { task, model, optimizer, ema, rng: new Rng(9) },
      { intraOpNumThreads: 1, warn: (m) => warnings.push(m) },
    );
    // A few different batches, made once: the test measures the runner, not batch creation.
    const batches = [1, 2, 3, 4].map((s) => task.batch(s));
    let step = 0;
    const runSteps = async (n: number): Promise<number[]> => {
      const losses: number[] = [];
      for (let i = 0; i < n; i++) {
        step += 1;
        const r = await runner.trainStep(batches[step % batches.length], 0.01, step);
        r.outputs.logits.dispose();
        losses.push(r.logs.total_loss);
      }
      return losses;
    };

    await runSteps(30);
    assert.equal(runner.modeFor('train', batches[0]), 'compiled');
    assert.deepEqual(warnings, []);
    const tensorsBefore = tf.memory().numTensors;
    const rssBefore = rssMiB();
    const losses = await runSteps(300);
    const rssAfter = rssMiB();
    const tensorsAfter = tf.memory().numTensors;

    assert.ok(losses.every(Number.isFinite), 'every loss is finite');
    assert.equal(tensorsAfter, tensorsBefore, 'tfjs tensors after 300 steps');
    assert.ok(
      rssAfter - rssBefore < 20,
      `RSS grew by ${(rssAfter - rssBefore).toFixed(1)} MiB over 300 steps ` +
        `(${rssBefore.toFixed(0)} → ${rssAfter.toFixed(0)} MiB)`,
    );

    runner.dispose();
    tf.dispose(batches.flatMap((b) => [b.images, b.labels]));
    optimizer.dispose();
    ema.dispose();
    model.dispose();
  },
);
