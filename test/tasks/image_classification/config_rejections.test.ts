/**
 * Config fields that would change results but are not implemented are rejected when set, naming
 * the full key path and the source; range checks run while the config is resolved, before
 * anything is written; fields checked at build time (ViT sizes, is_training, the in-memory
 * inputs) say what they would have been ignored for.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import '../../../src/tasks/index.js';
import { initBackend } from '../../../src/core/backend/index.js';
import { ConfigError } from '../../../src/core/config/errors.js';
import { resolveExperiment, runExperiment } from '../../../src/train/run_experiment.js';
import { ImageClassificationTask } from '../../../src/tasks/image_classification/task.js';
import type { ImageClassificationTaskConfig } from '../../../src/tasks/image_classification/config.js';

const dir = mkdtempSync(join(tmpdir(), 'vg-rejections-'));

function rejected(overrides: string[], files: string[] = []): ConfigError {
  try {
    resolveExperiment({
      experiment: 'compact_resnet_shapes',
      paramsOverrides: overrides,
      configFiles: files,
    });
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  assert.fail(`expected a ConfigError for ${overrides.join(' ')}`);
}

test('a not-implemented field set to a non-default value is rejected at its full key path', () => {
  for (const [override, path] of [
    ['task.train_data.cycle_length=4', 'task.train_data.cycle_length'],
    ['task.validation_data.aug_policy=randaug', 'task.validation_data.aug_policy'],
    ['task.model.output_softmax=true', 'task.model.output_softmax'],
    [
      'task.evaluation.report_per_class_precision_and_recall=true',
      'task.evaluation.report_per_class_precision_and_recall',
    ],
    [
      'task.train_data.aug_type.randaug.magnitude_std=0.5',
      'task.train_data.aug_type.randaug.magnitude_std',
    ],
    [
      'trainer.optimizer_config.optimizer.slide.beta_1=0.5',
      'trainer.optimizer_config.optimizer.slide',
    ],
    [
      'task.differential_privacy_config={noise_multiplier: 1.0}',
      'task.differential_privacy_config',
    ],
    [
      'task.model.backbone.vit.output_2d_feature_maps=true',
      'task.model.backbone.vit.output_2d_feature_maps',
    ],
    ['trainer.recovery_max_trials=2', 'trainer.recovery_max_trials'],
  ] as const) {
    const err = rejected([override]);
    assert.equal(err.issues.length, 1, err.message);
    assert.equal(err.issues[0].path, path, err.message);
    assert.match(err.issues[0].message, /not supported yet/, err.message);
    assert.match(err.message, new RegExp(`override '${override.replace(/[[\]{}.]/g, '\\$&')}'`));
  }
});

test('selecting an unimplemented oneOf branch is rejected; the default value is accepted', () => {
  const err = rejected(['trainer.optimizer_config.optimizer.type=adafactor']);
  assert.equal(err.issues[0].path, 'trainer.optimizer_config.optimizer.type');
  assert.match(
    err.issues[0].message,
    /'adafactor' is not supported yet \(supported: 'sgd', 'adam'/,
  );
  const lr = rejected(['trainer.optimizer_config.learning_rate.type=step_cosine_with_offset']);
  assert.match(lr.message, /learning_rate\.type: 'step_cosine_with_offset' is not supported yet/);
  // Explicit defaults pass.
  const ok = resolveExperiment({
    experiment: 'compact_resnet_shapes',
    paramsOverrides: ['task.train_data.cycle_length=10,task.train_data.block_length=1'],
  });
  assert.equal(ok.config.task.train_data.cycle_length, 10);
});

test('range checks name the file and key, and run before model_dir is written', async () => {
  const cases: [string, string, RegExp][] = [
    ['trainer:\n  max_to_keep: 0\n', 'trainer.max_to_keep', />\s*0|positive|too small/i],
    ['trainer:\n  checkpoint_interval: -1\n', 'trainer.checkpoint_interval', />=\s*0|too small/i],
    ['trainer:\n  train_steps: -5\n', 'trainer.train_steps', />=\s*0|too small/i],
    [
      'task:\n  train_data:\n    global_batch_size: -8\n',
      'task.train_data.global_batch_size',
      />=\s*0|too small/i,
    ],
  ];
  for (const [i, [text, path, why]] of cases.entries()) {
    const file = join(dir, `range${i}.yaml`);
    writeFileSync(file, text);
    const err = rejected([], [file]);
    assert.equal(err.source, `file '${file}'`);
    assert.equal(err.issues[0].path, path, err.message);
    assert.match(err.issues[0].message, why, err.message);
    const modelDir = join(dir, `run${i}`);
    await assert.rejects(
      runExperiment({
        mode: 'train',
        experiment: 'compact_resnet_shapes',
        modelDir,
        configFiles: [file],
      }),
      ConfigError,
    );
    assert.equal(existsSync(modelDir), false, 'nothing is written for a bad config');
  }
});

function shapesTaskConfig(overrides: string[]): ImageClassificationTaskConfig {
  return resolveExperiment({ experiment: 'compact_resnet_shapes', paramsOverrides: overrides })
    .config.task as ImageClassificationTaskConfig;
}

test('ViT sizes that VIT_SPECS would override are rejected; the spec value or MG default pass', () => {
  const vit = 'task.model.backbone.type=vit,task.model.backbone.vit.model_name=vit-xs4';
  const bad = new ImageClassificationTask(
    shapesTaskConfig([`${vit},task.model.backbone.vit.hidden_size=96`]),
  );
  assert.throws(
    () => bad.buildModel(),
    /task\.model\.backbone\.vit\.hidden_size: 96 would be ignored: model_name 'vit-xs4' sets it to 64/,
  );
  const layers = new ImageClassificationTask(
    shapesTaskConfig([`${vit},task.model.backbone.vit.transformer.num_layers=3`]),
  );
  assert.throws(() => layers.buildModel(), /transformer\.num_layers: 3 would be ignored/);
  for (const ok of ['hidden_size=64', 'hidden_size=1', 'patch_size=4', 'transformer.mlp_dim=128']) {
    const task = new ImageClassificationTask(
      shapesTaskConfig([`${vit},task.model.backbone.vit.${ok}`]),
    );
    task.buildModel();
  }
});

test('is_training must match the input it configures', async () => {
  const task = new ImageClassificationTask(
    shapesTaskConfig(['task.validation_data.is_training=true']),
  );
  await assert.rejects(
    task.buildInputs('validation', { training: false, seed: 0 }),
    /task\.validation_data\.is_training: true is not supported yet/,
  );
});

test('augmentation fields the built-in in-memory datasets do not apply are rejected there', async () => {
  for (const [field, value] of [
    ['color_jitter', '0.4'],
    ['aug_type.type', 'randaug'],
    ['center_crop_fraction', '0.5'],
  ]) {
    const task = new ImageClassificationTask(
      shapesTaskConfig([`task.train_data.${field}=${value}`]),
    );
    const top = field.split('.')[0];
    await assert.rejects(
      task.buildInputs('train', { training: true, seed: 0 }),
      new RegExp(`task\\.train_data\\.${top}: not supported yet with tfds_name 'vg_shapes'`),
    );
  }
});

test('validation_data.drop_remainder is applied by the in-memory input too', async () => {
  await initBackend('cpu');
  const counts: number[] = [];
  for (const drop of [true, false]) {
    const task = new ImageClassificationTask(
      shapesTaskConfig([
        `task.validation_data.tfds_split=test/130,task.validation_data.global_batch_size=50,` +
          `task.validation_data.drop_remainder=${drop}`,
      ]),
    );
    const input = await task.buildInputs('validation', { training: false, seed: 0 });
    let n = 0;
    for (let b = await input.next(); b; b = await input.next()) {
      n += b.label.shape[0];
      b.image.dispose();
      b.label.dispose();
    }
    counts.push(n);
  }
  assert.deepEqual(counts, [100, 130]);
});
