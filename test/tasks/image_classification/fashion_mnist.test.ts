/**
 * The shipped Fashion-MNIST configs (configs/experiments/image_classification/fashion_mnist_*.yaml):
 * they parse strictly, build the architectures their comments describe (parameter counts derived
 * by hand below), and a shortened run of each on the default engine lowers the loss and beats
 * chance (10%) clearly on test images. The full runs (>= 93% and >= 88%) are recorded in the
 * issue notes, not run in CI.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '../../../src/tasks/index.js';
import { initBackend } from '../../../src/core/backend/index.js';
import { withShapeOnlyBuild } from '../../../src/core/layer.js';
import { setGlobalSeed } from '../../../src/core/random.js';
import { readJsonlLog } from '../../../src/train/jsonl_log.js';
import { disposeRun, resolveExperiment, runExperiment } from '../../../src/train/run_experiment.js';
import { createCompiledStepRunner } from '../../../src/engine/compiled_step.js';
import { ImageClassificationTask } from '../../../src/tasks/image_classification/task.js';
import type { ImageClassificationExperimentConfig } from '../../../src/tasks/image_classification/config.js';
import { REPO_ROOT } from '../../helpers.js';

const DIR = join(REPO_ROOT, 'configs', 'experiments', 'image_classification');
const STEPS_PER_EPOCH = Math.floor(60000 / 128); // 468

const RUNS = {
  resnet: {
    experiment: 'compact_resnet_fashion_mnist',
    file: join(DIR, 'fashion_mnist_compact_resnet.yaml'),
    epochs: 12,
    // 80 steps are too few for batch norm's moving statistics at momentum 0.99 (0.99^80 = 45% of
    // the initial 0/1 remain), which evaluation uses; the short run averages faster.
    shortRun: ['task.model.norm_activation.norm_momentum=0.9'],
    minAccuracy: 0.5,
    // Hand count, BN counted with its 4 vectors (gamma, beta, moving mean, moving variance):
    //   stem 3x3x1x32 + BN(32)                                        =     416
    //   block 32->32 /2: 2 convs 3x3x32x32, 1x1 projection, 3 BN(32)  =  19,840
    //   block 32->64 /2: 3x3x32x64 + 3x3x64x64 + 1x1x32x64 + 3 BN(64) =  58,112
    //   block 64->128 /1: 3x3x64x128 + 3x3x128x128 + 1x1x64x128 + 3 BN(128) = 230,912
    //   dense 128x10 + 10                                             =   1,290
    params: 416 + 19_840 + 58_112 + 230_912 + 1_290,
  },
  vit: {
    experiment: 'image_classification',
    file: join(DIR, 'fashion_mnist_vit.yaml'),
    epochs: 10,
    shortRun: [],
    // A ViT learns more slowly at first (45% after these 80 steps when this was written).
    minAccuracy: 0.3,
    // Hand count for width 64, 4x4 patches on 28x28 (49 tokens + class token), 6 blocks, MLP 128:
    //   patch conv 4x4x1x64 + 64 = 1,088; class token 64; position embedding 50x64 = 3,200
    //   per block: 2 LayerNorms 2x128; q, k, v 3x(64x64 + 64); output 64x64 + 64;
    //              MLP 64x128 + 128 + 128x64 + 64  → 33,472; six blocks 200,832
    //   final LayerNorm 128; dense 64x10 + 10 = 650
    params: 1_088 + 64 + 3_200 + 6 * 33_472 + 128 + 650,
  },
} as const;

function resolve(run: (typeof RUNS)[keyof typeof RUNS], overrides: string[] = []) {
  return resolveExperiment({
    experiment: run.experiment,
    configFiles: [run.file],
    paramsOverrides: overrides,
  }).config as unknown as ImageClassificationExperimentConfig;
}

for (const [name, run] of Object.entries(RUNS)) {
  test(`fashion_mnist ${name} YAML: schedule over ${run.epochs} epochs and ${run.params} parameters`, async () => {
    const c = resolve(run);
    const steps = run.epochs * STEPS_PER_EPOCH;
    assert.equal(c.trainer.train_steps, steps);
    assert.equal(c.trainer.optimizer_config.learning_rate.cosine.decay_steps, steps);
    assert.equal(c.trainer.validation_interval, STEPS_PER_EPOCH);
    assert.equal(c.trainer.validation_steps * c.task.validation_data.global_batch_size, 10000);
    assert.equal(c.task.train_data.tfds_name, 'fashion_mnist');
    assert.equal(c.task.validation_data.tfds_split, 'test');
    await initBackend('cpu');
    setGlobalSeed(0);
    const task = new ImageClassificationTask(c.task);
    const model = task.buildModel();
    withShapeOnlyBuild(() => tf.tidy(() => void model.apply(tf.zeros([1, 28, 28, 1]))));
    assert.equal(model.countParams(), run.params);
    model.dispose();
  });
}

for (const [name, run] of Object.entries(RUNS)) {
  test(`fashion_mnist ${name}: 80 steps lower the loss and beat chance (10%) on 2000 test images`, async () => {
    const dir = mkdtempSync(join(tmpdir(), `vg-fmnist-${name}-`));
    const r = await runExperiment({
      compiledSteps: createCompiledStepRunner,
      mode: 'train_and_eval',
      experiment: run.experiment,
      configFiles: [run.file],
      modelDir: dir,
      paramsOverrides: [
        'trainer.train_steps=80,trainer.validation_interval=80,trainer.checkpoint_interval=80,' +
          'trainer.summary_interval=20,trainer.steps_per_loop=20,trainer.validation_steps=4,' +
          'trainer.optimizer_config.learning_rate.cosine.decay_steps=80,' +
          'trainer.optimizer_config.warmup.linear.warmup_steps=10',
        ...run.shortRun,
      ],
    });
    const losses = readJsonlLog(join(dir, 'train', 'metrics.jsonl'))
      .filter((e) => e.tag === 'classification_loss')
      .map((e) => e.value as number);
    const seen = `losses ${losses.join(', ')}; accuracy ${r.eval?.accuracy}`;
    assert.equal(losses.length, 4, `a loss every 20 steps: ${seen}`);
    assert.ok(losses[3] < 0.85 * losses[0], `loss did not fall: ${seen}`);
    assert.ok(r.eval, 'train_and_eval returns eval results');
    assert.ok(
      r.eval.accuracy > run.minAccuracy,
      `accuracy not clearly above chance (0.1): ${seen}`,
    );
    disposeRun(r);
    rmSync(dir, { recursive: true, force: true });
  });
}
