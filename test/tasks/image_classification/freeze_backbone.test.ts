/**
 * `task.freeze_backbone` (Model Garden's ImageClassificationTask sets the backbone's Keras
 * `trainable = False`): over 3 training steps every backbone weight, batch-norm moving statistics
 * included, stays bit-identical while the head's weights change, with the compiled (ONNX) steps
 * and with the eager steps (`runtime.run_eagerly`). Without the flag the backbone does change.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '../../../src/tasks/index.js';
import { initBackend } from '../../../src/core/backend/index.js';
import { createCompiledStepRunner } from '../../../src/engine/compiled_step.js';
import { buildTrainer, resolveExperiment } from '../../../src/train/run_experiment.js';
import { EagerStepRunner } from '../../../src/core/eager_step.js';
import { CompiledStepRunner } from '../../../src/engine/compiled_step.js';

await initBackend('onnx');

function snapshot(weights: { path: string; variable: tf.Variable }[]): Map<string, Float32Array> {
  return new Map(weights.map((w) => [w.path, w.variable.dataSync().slice() as Float32Array]));
}

async function threeSteps(overrides: string) {
  const resolved = resolveExperiment({
    experiment: 'compact_resnet_shapes',
    paramsOverrides: [
      'trainer.train_steps=3,trainer.checkpoint_interval=1000,trainer.summary_interval=1000,' +
        'task.train_data.global_batch_size=8,task.allow_image_summary=false',
      overrides,
    ],
  });
  const dir = mkdtempSync(join(tmpdir(), 'vg-freeze-'));
  const { trainer } = buildTrainer(resolved, dir, undefined, 'onnx', createCompiledStepRunner);
  const runner = (trainer as unknown as { runner: object }).runner;
  const model = trainer.model as unknown as {
    weights(): { path: string; variable: tf.Variable }[];
    trainableWeights(): { path: string }[];
  };
  const before = snapshot(model.weights());
  await trainer.train(false);
  const after = snapshot(model.weights());
  const trainable = new Set(model.trainableWeights().map((w) => w.path));
  await trainer.close();
  trainer.dispose();
  return { runner, before, after, trainable };
}

function changed(
  before: Map<string, Float32Array>,
  after: Map<string, Float32Array>,
  path: string,
) {
  const a = before.get(path) as Float32Array;
  const b = after.get(path) as Float32Array;
  return a.some((v, i) => !Object.is(v, b[i]));
}

for (const eager of [false, true]) {
  test(`freeze_backbone keeps the backbone bit-identical for 3 steps (${eager ? 'eager' : 'compiled'} steps)`, async () => {
    const r = await threeSteps(`task.freeze_backbone=true,runtime.run_eagerly=${eager}`);
    assert.ok(eager ? r.runner instanceof EagerStepRunner : r.runner instanceof CompiledStepRunner);
    const backbone = [...r.before.keys()].filter((p) => p.includes('/compact_resnet/'));
    const head = [...r.before.keys()].filter((p) => !p.includes('/compact_resnet/'));
    assert.ok(backbone.length > 10 && head.length >= 2, `${backbone.length} / ${head.length}`);
    assert.ok(
      backbone.some((p) => p.endsWith('moving_mean')),
      'batch-norm statistics checked',
    );
    for (const p of backbone) {
      assert.ok(!r.trainable.has(p), `${p} is trainable`);
      assert.ok(!changed(r.before, r.after, p), `${p} changed`);
    }
    for (const p of head)
      assert.ok(changed(r.before, r.after, p), `head weight ${p} did not change`);
  });
}

test('without freeze_backbone the same 3 steps change backbone weights and statistics', async () => {
  const r = await threeSteps('task.freeze_backbone=false,runtime.run_eagerly=true');
  const backbone = [...r.before.keys()].filter((p) => p.includes('/compact_resnet/'));
  assert.ok(backbone.filter((p) => changed(r.before, r.after, p)).length === backbone.length);
});
