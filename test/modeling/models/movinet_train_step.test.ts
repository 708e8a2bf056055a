/**
 * A small MoViNet (T0, causal, '3d_2plus1d' convolutions, SE '2plus3d', positional encoding; stochastic depth 0.2, dropout 0.2) trains as a compiled
 * step (src/engine, shape-only trace) with no eager fallback, equal to an eager tfjs step: the
 * loss and the logits (1e-4 of their scale), every gradient (read back through plain SGD:
 * (w0 − w1) / lr; tolerance below) and the moving statistics (1e-4 of each tensor's scale). ReZero scalars start at 0.5 (at 0 no gradient reaches the
 * blocks' convolutions in the first step).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../src/core/backend/index.js';
import { EagerStepRunner } from '../../../src/core/eager_step.js';
import type { CallArgs } from '../../../src/core/layer.js';
import { Rng, setGlobalSeed } from '../../../src/core/random.js';
import type { ForwardResult, InputPipeline, Task } from '../../../src/core/task.js';
import { createCompiledStepRunner } from '../../../src/engine/compiled_step.js';
import { softmaxCrossEntropy } from '../../../src/losses/classification.js';
import {
  buildMovinetModel,
  parseMovinetModelConfig,
  type MovinetClassifier,
} from '../../../src/modeling/models/movinet_model.js';
import { EmaState } from '../../../src/train/ema.js';
import { buildOptimizer, OptimizerState } from '../../../src/train/optimizers/index.js';
import { assertClose, assertTensorClose } from '../../helpers.js';

await initBackend('cpu');

type Batch = { images: tf.Tensor; labels: tf.Tensor };
const CLASSES = 4;
const LR = 0.1;
/**
 * Gradient tolerance: 1e-3 of the model's largest gradient. Batch norms over 2 clips of 2 frames
 * (the head's over 4 positions) amplify float32 summation-order differences on the way back: the
 * measured largest difference was 6e-4 of that scale (the stem's batch-norm gamma); small
 * gradients (ReZero scalars, betas feeding another batch norm, mathematically zero) carry
 * absolute, not relative, noise.
 */
const GRAD_TOL = 1e-3;

class VideoTask implements Task<MovinetClassifier, Batch, { logits: tf.Tensor }> {
  readonly type = 'movinet_step_test';
  constructor(private readonly backbone: Record<string, unknown>) {}

  buildModel(): MovinetClassifier {
    return buildMovinetModel(
      parseMovinetModelConfig({ backbone: { movinet: { model_id: 't0', ...this.backbone } } }),
      CLASSES,
    );
  }

  batch(size: number, seed: number): Batch {
    const rng = new Rng(seed);
    const shape = [size, 2, 16, 16, 3];
    const n = shape.reduce((a, b) => a * b, 1);
    const images = tf.tensor(
      Float32Array.from({ length: n }, () => rng.uniform()),
      shape,
    );
    const ids = Int32Array.from({ length: size }, () => rng.int(CLASSES));
    return { images, labels: tf.cast(tf.oneHot(ids, CLASSES), 'float32') };
  }

  dummyBatch(size: number): Batch {
    return this.batch(size, 1);
  }

  buildInputs(): Promise<InputPipeline<Batch>> {
    throw new Error('not used');
  }

  forward(
    model: MovinetClassifier,
    batch: Batch,
    args: CallArgs,
  ): ForwardResult<{ logits: tf.Tensor }> {
    const { logits } = model.apply({ image: batch.images }, args);
    const loss = tf.mean(softmaxCrossEntropy(logits, batch.labels, 0.1)) as tf.Scalar;
    return { losses: { total_loss: loss }, outputs: { logits } };
  }

  buildMetrics(): [] {
    return [];
  }
}

function setup(backbone: Record<string, unknown>) {
  setGlobalSeed(7);
  const task = new VideoTask(backbone);
  const model = task.buildModel();
  tf.tidy(() => {
    task.forward(model, task.batch(2, 1), { training: false });
  });
  for (const w of model.weights()) if (w.variable.rank === 0) w.variable.assign(tf.scalar(0.5));
  const optimizer = new OptimizerState(
    buildOptimizer({ type: 'sgd', sgd: { momentum: 0 } } as Parameters<typeof buildOptimizer>[0]),
  );
  optimizer.ensureSlots(
    model.trainableWeights().map((w) => ({ path: w.path, variable: w.variable })),
  );
  const ema = new EmaState({ average_decay: 0.9 }, model.weights());
  return { task, model, optimizer, ema, rng: new Rng(11) };
}

const CASES: [string, Record<string, unknown>][] = [
  [
    'causal 3d_2plus1d, SE 2plus3d, positional encoding',
    { causal: true, conv_type: '3d_2plus1d', se_type: '2plus3d', use_positional_encoding: true },
  ],
];

for (const [what, backbone] of CASES) {
  test(`MoViNet-T0 (${what}): compiled training steps equal eager, no eager fallback`, async () => {
    const eagerParts = setup(backbone);
    const compiledParts = setup(backbone);
    const eager = new EagerStepRunner(eagerParts);
    const warnings: string[] = [];
    const compiled = createCompiledStepRunner(compiledParts, {
      intraOpNumThreads: 1,
      fallback: 'error',
      warn: (m) => warnings.push(m),
    });
    const before = eagerParts.model.weights().map((w) => tf.clone(w.variable));
    const batch = eagerParts.task.batch(2, 101);
    const e = await eager.trainStep(batch, LR, 1);
    const c = await compiled.trainStep(batch, LR, 1);
    assertClose([c.logs.total_loss], [e.logs.total_loss], { rtol: 1e-5, msg: 'total_loss' });
    assertTensorClose(c.outputs.logits, e.outputs.logits, 'logits');
    tf.dispose([c.outputs.logits, e.outputs.logits, batch.images, batch.labels]);
    assert.deepEqual(warnings, []);
    assert.equal(compiled.modeFor('train', eagerParts.task.batch(2, 1)), 'compiled');
    const got = compiledParts.model.weights();
    const want = eagerParts.model.weights();
    let nonZero = 0;
    const grads: [string, tf.Tensor, tf.Tensor][] = [];
    want.forEach((w, i) => {
      if (w.trainable) {
        // (w0 − w1) / lr: the gradient each runner applied.
        const gradE = tf.div(tf.sub(before[i], w.variable), LR);
        const gradC = tf.div(tf.sub(before[i], got[i].variable), LR);
        if (tf.max(tf.abs(gradE)).dataSync()[0] > 1e-6) nonZero++;
        grads.push([w.path, gradC, gradE]);
      } else {
        assertTensorClose(got[i].variable, w.variable, `moving statistic ${w.path}`);
      }
    });
    const scale = Math.max(...grads.map(([, , g]) => tf.max(tf.abs(g)).dataSync()[0]));
    for (const [path, gc, ge] of grads) {
      assertClose(gc.dataSync(), ge.dataSync(), {
        rtol: 0,
        atol: GRAD_TOL * scale,
        msg: `gradient of ${path}`,
      });
    }
    tf.dispose(grads.flatMap(([, gc, ge]) => [gc, ge]));
    assert.ok(
      nonZero > want.filter((w) => w.trainable).length * 0.9,
      `${nonZero} gradients non-zero`,
    );
    tf.dispose(before);
    compiled.dispose();
    eagerParts.model.dispose();
    compiledParts.model.dispose();
  });
}
