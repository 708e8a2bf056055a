/**
 * The video experiments (src/tasks/video_classification/experiments.ts): Model Garden's
 * add_trainer schedule derived by hand, the model types, and every shipped video YAML resolving
 * through its experiment (ResNet-3D rows through video_classification_kinetics400/600, MoViNet
 * rows through movinet_kinetics600), and the moving-shapes training YAMLs through the experiment
 * their header's run command names.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import '../../../src/tasks/index.js';
import { resolveExperiment } from '../../../src/train/run_experiment.js';
import { REPO_ROOT } from '../../helpers.js';

type Cfg = {
  task: {
    model: { model_type: string };
    train_data: { num_classes: number; feature_shape: number[]; aug_type: unknown };
    validation_data: { feature_shape: number[] };
  };
  trainer: {
    train_steps: number;
    validation_steps: number;
    optimizer_config: { warmup: { linear: { warmup_steps: number } } };
  };
};

test('video_classification_kinetics400/600: MG add_trainer schedule, ResNet-3D-50', () => {
  // K400: 215570 // 1024 = 210 steps an epoch; 44 epochs, 5 warmup; 17706 // 64 = 276.
  const k4 = resolveExperiment({ experiment: 'video_classification_kinetics400' })
    .config as unknown as Cfg;
  assert.equal(k4.trainer.train_steps, 44 * 210);
  assert.equal(k4.trainer.optimizer_config.warmup.linear.warmup_steps, 5 * 210);
  assert.equal(k4.trainer.validation_steps, 276);
  assert.equal(k4.task.model.model_type, 'video_classification');
  assert.deepEqual(k4.task.validation_data.feature_shape, [250, 224, 224, 3]);
  // K600: 366016 // 1024 = 357; 27780 // 64 = 434.
  const k6 = resolveExperiment({ experiment: 'video_classification_kinetics600' })
    .config as unknown as Cfg;
  assert.equal(k6.trainer.train_steps, 44 * 357);
  assert.equal(k6.trainer.validation_steps, 434);
  const mv = resolveExperiment({ experiment: 'movinet_kinetics600' }).config as unknown as Cfg;
  assert.equal(mv.task.model.model_type, 'movinet');
  assert.equal(mv.task.train_data.num_classes, 600);
});

test('every shipped video YAML resolves through its experiment', () => {
  const dir = join(REPO_ROOT, 'configs', 'experiments', 'video_classification');
  const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'));
  assert.ok(files.length >= 24, `${files.length} YAMLs`);
  for (const f of files) {
    const experiment = f.startsWith('movinet_')
      ? 'movinet_kinetics600'
      : f.startsWith('k400')
        ? 'video_classification_kinetics400'
        : 'video_classification_kinetics600';
    const cfg = resolveExperiment({ experiment, configFiles: [join(dir, f)] })
      .config as unknown as Cfg;
    assert.equal(
      cfg.task.model.model_type,
      f.startsWith('movinet_') ? 'movinet' : 'video_classification',
      f,
    );
    if (f.startsWith('movinet_')) {
      // MG's MoViNet YAMLs write aug_type: 'autoaug' (the policy's defaults).
      assert.equal((cfg.task.train_data.aug_type as { type: string }).type, 'autoaug', f);
    }
  }
});

test('each moving-shapes YAML resolves through the experiment its run command names', () => {
  const dir = join(REPO_ROOT, 'configs', 'experiments', 'video_classification', 'moving_shapes');
  const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'));
  assert.deepEqual(
    files.map((f) => f.split('_')[0]).sort(),
    ['movinet', 'r3d'],
    `one R3D and one MoViNet YAML: ${files.join(', ')}`,
  );
  for (const f of files) {
    const path = join(dir, f);
    const experiment = /--experiment (\S+)/.exec(readFileSync(path, 'utf8'))?.[1];
    assert.ok(experiment, `${f}: the header names no --experiment`);
    const cfg = resolveExperiment({ experiment, configFiles: [path] }).config as unknown as Cfg & {
      runtime: { engine_fallback: string };
    };
    assert.equal(
      cfg.task.model.model_type,
      f.startsWith('movinet_') ? 'movinet' : 'video_classification',
      f,
    );
    // Compiled training only, on the generated 8-class clips of 8 frames of 32x32.
    assert.equal(cfg.runtime.engine_fallback, 'error', f);
    assert.equal(cfg.task.train_data.num_classes, 8, f);
    assert.deepEqual(cfg.task.train_data.feature_shape, [8, 32, 32, 3], f);
    assert.deepEqual(cfg.task.validation_data.feature_shape, [8, 32, 32, 3], f);
  }
});

test("a model_type that is neither 'video_classification' nor 'movinet' is named in the error", () => {
  assert.throws(
    () =>
      resolveExperiment({
        experiment: 'video_classification',
        paramsOverrides: ['task.model.model_type=zz'],
      }),
    /task\.model\.model_type/,
  );
});
