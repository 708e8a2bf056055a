/**
 * A real Model Garden config: the trainer and runtime sections of
 * official/vision/configs/experiments/image_classification/imagenet_resnet50_tpu.yaml, copied
 * into test/fixtures/config/. The expected values are the ones written in that file; the rest
 * must stay at MG's defaults.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import {
  activeBranch,
  config,
  loadYamlFile,
  resolveConfig,
  runtimeConfig,
  sub,
  trainerConfig,
  validateConfig,
} from '../../../src/core/config/index.js';
import { REPO_ROOT } from '../../helpers.js';

const FIXTURE = join(
  REPO_ROOT,
  'test',
  'fixtures',
  'config',
  'imagenet_resnet50_tpu_trainer_runtime.yaml',
);

/** An experiment without a task section: exactly what the fixture holds. */
const trainerAndRuntime = config({ trainer: sub(trainerConfig), runtime: sub(runtimeConfig) });

test('imagenet_resnet50_tpu.yaml trainer section parses into TrainerConfig', () => {
  const cfg = resolveConfig(trainerAndRuntime, { files: [FIXTURE] });
  const t = cfg.trainer;
  assert.equal(t.train_steps, 28080);
  assert.equal(t.validation_steps, 13);
  assert.equal(t.validation_interval, 312);
  assert.equal(t.steps_per_loop, 312);
  assert.equal(t.summary_interval, 312);
  assert.equal(t.checkpoint_interval, 312);
  const opt = t.optimizer_config;
  assert.equal(opt.optimizer.type, 'sgd');
  assert.equal(activeBranch(opt.optimizer), opt.optimizer.sgd);
  assert.equal(opt.optimizer.sgd.momentum, 0.9);
  assert.equal(opt.optimizer.sgd.nesterov, false); // not in the file: SGDConfig default
  assert.equal(opt.learning_rate.type, 'stepwise');
  assert.deepEqual(opt.learning_rate.stepwise.boundaries, [9360, 18720, 24960]);
  assert.deepEqual(opt.learning_rate.stepwise.values, [1.6, 0.16, 0.016, 0.0016]);
  assert.equal(opt.learning_rate.stepwise.offset, 0);
  assert.equal(opt.warmup.type, 'linear');
  assert.equal(opt.warmup.linear.warmup_steps, 1560);
  assert.equal(opt.warmup.linear.warmup_learning_rate, 0);
  assert.equal(opt.ema, null);
  assert.equal(t.max_to_keep, 5); // TrainerConfig default
});

test('imagenet_resnet50_tpu.yaml runtime section parses into RuntimeConfig', () => {
  const raw = loadYamlFile(FIXTURE);
  const r = validateConfig(runtimeConfig, raw.runtime, 'runtime section');
  assert.equal(r.distribution_strategy, 'tpu');
  assert.equal(r.mixed_precision_dtype, 'bfloat16');
  assert.equal(r.enable_xla, false);
  assert.equal(r.num_gpus, 0);
  const t = validateConfig(trainerConfig, raw.trainer, 'trainer section');
  assert.equal(t.train_steps, 28080);
});
