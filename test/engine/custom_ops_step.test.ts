/**
 * 3-D video blocks train compiled with no eager fallback: a MoViNet-style block (regular Conv3D
 * 3×3×3 + BN + ReLU, 1×1×1 expansion + BN + ReLU, depthwise 3×3×3 `conv3dGrouped` + BN + ReLU,
 * 1×1×1 projection + BN) under a classifier with dropout, softmax cross-entropy and l2, run as
 * compiled steps (shape-only traces) against eager tfjs steps on the same backend: every step's
 * losses and logits, the final weights, slots and moving statistics, to 1e-4 of each tensor's
 * scale; no warning, and the step's mode is 'compiled'.
 */
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { Layer, type CallArgs } from '../../src/core/layer.js';
import { heNormal } from '../../src/core/initializers.js';
import { Rng, setGlobalSeed } from '../../src/core/random.js';
import { createCompiledStepRunner } from '../../src/engine/compiled_step.js';
import { Conv3D } from '../../src/modeling/layers/conv.js';
import { BatchNormalization } from '../../src/modeling/layers/normalization.js';
import { conv3dGrouped } from '../../src/ops/conv3d_grouped.js';
import { EagerStepRunner } from '../../src/core/eager_step.js';
import { EmaState } from '../../src/train/ema.js';
import { buildOptimizer, OptimizerState } from '../../src/train/optimizers/index.js';
import { assertClose, assertTensorClose } from '../helpers.js';
import { testOnEachBackend } from './backends.js';
import { BlockTask, Classifier } from './models.js';

type Triple = [number, number, number];

/** A depthwise 3-D convolution (groups = channels, multiplier 1), tfjs SAME padding. */
class DepthwiseConv3D extends Layer {
  private kernel: tf.Variable | null = null;

  constructor(
    private readonly kernelSize: Triple,
    private readonly strides: Triple,
  ) {
    super({ name: 'depthwise_conv3d' });
  }

  protected override build(x: tf.Tensor): void {
    this.kernel = this.addWeight('depthwise_kernel', [...this.kernelSize, 1, x.shape[4] ?? 0], {
      initializer: heNormal(),
      regularize: true,
    });
  }

  protected call(x: tf.Tensor, _args: CallArgs): tf.Tensor {
    const k = this.kernel as tf.Variable;
    return conv3dGrouped(x as tf.Tensor5D, k as tf.Tensor5D, this.strides, 'same', 1, x.shape[4]);
  }
}

const bn = () => new BatchNormalization({ momentum: 0.9, epsilon: 1e-3 });

class MovinetStyleBlock extends Layer {
  private readonly stem = this.add(
    '_stem',
    new Conv3D({ filters: 4, kernelSize: 3, padding: 'same', useBias: false }),
  );
  private readonly n0 = this.add('_norm0', bn());
  private readonly expand = this.add(
    '_expansion',
    new Conv3D({ filters: 8, kernelSize: 1, padding: 'same', useBias: false }),
  );
  private readonly n1 = this.add('_norm1', bn());
  private readonly depthwise = this.add('_feature', new DepthwiseConv3D([3, 3, 3], [1, 2, 2]));
  private readonly n2 = this.add('_norm2', bn());
  private readonly project = this.add(
    '_projection',
    new Conv3D({ filters: 6, kernelSize: 1, padding: 'same', useBias: false }),
  );
  private readonly n3 = this.add('_norm3', bn());

  protected call(x: tf.Tensor, args: CallArgs): tf.Tensor {
    const s = tf.relu(this.n0.apply(this.stem.apply(x, args), args));
    const e = tf.relu(this.n1.apply(this.expand.apply(s, args), args));
    const d = tf.relu(this.n2.apply(this.depthwise.apply(e, args), args));
    return this.n3.apply(this.project.apply(d, args), args);
  }
}

/** BlockTask's conv3d inputs ([3, 6, 6, 2] clips) with the block above. */
class MovinetStyleTask extends BlockTask {
  constructor() {
    super('conv3d');
  }

  override buildModel(): Classifier {
    return new Classifier(new MovinetStyleBlock({ name: 'movinet_block' }), this.numClasses);
  }
}

function setup() {
  setGlobalSeed(7);
  const task = new MovinetStyleTask();
  const model = task.buildModel();
  tf.tidy(() => {
    task.forward(model, task.batch(4), { training: false });
  });
  const cfg = { type: 'sgd', sgd: { momentum: 0.9 } };
  const optimizer = new OptimizerState(buildOptimizer(cfg as Parameters<typeof buildOptimizer>[0]));
  optimizer.ensureSlots(
    model.trainableWeights().map((w) => ({ path: w.path, variable: w.variable })),
  );
  const ema = new EmaState({ average_decay: 0.9 }, model.weights());
  return { task, model, optimizer, ema, rng: new Rng(11) };
}

testOnEachBackend('a MoViNet-style 3-D block: compiled training steps equal eager', async () => {
  const eagerParts = setup();
  const compiledParts = setup();
  const eager = new EagerStepRunner(eagerParts);
  const warnings: string[] = [];
  const compiled = createCompiledStepRunner(compiledParts, {
    intraOpNumThreads: 1,
    warn: (m) => warnings.push(m),
  });
  for (let step = 1; step <= 8; step++) {
    const batch = eagerParts.task.batch(4, 100 + step);
    const e = await eager.trainStep(batch, 0.05, step);
    const c = await compiled.trainStep(batch, 0.05, step);
    for (const k of ['total_loss', 'cls_loss', 'l2_loss']) {
      assertClose([c.logs[k]], [e.logs[k]], { rtol: 1e-4, atol: 1e-7, msg: `step ${step} ${k}` });
    }
    assertTensorClose(c.outputs.logits, e.outputs.logits, `step ${step} logits`);
    tf.dispose([c.outputs.logits, e.outputs.logits, batch.images, batch.labels]);
  }
  assert.deepEqual(warnings, [], 'no eager fallback');
  assert.equal(compiled.modeFor('train', eagerParts.task.batch(4)), 'compiled');
  const wb = compiledParts.model.weights();
  assert.ok(wb.some((w) => /depthwise_kernel$/.test(w.path)));
  eagerParts.model.weights().forEach((w, i) => {
    assertTensorClose(wb[i].variable, w.variable, `weight ${w.path}`);
  });
  const sb = compiledParts.optimizer.slotVariables();
  eagerParts.optimizer.slotVariables().forEach((s, i) => {
    assertTensorClose(sb[i].variable, s.variable, `slot ${s.name}`);
  });
  compiled.dispose();
});
