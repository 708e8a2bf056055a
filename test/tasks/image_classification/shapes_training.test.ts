/**
 * A shortened real run of the demo experiment on the default Node backend (wasm): the loss must
 * fall and accuracy must clearly beat chance (1/8) on held-out generated shapes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import '../../../src/tasks/index.js';
import { readJsonlLog } from '../../../src/train/jsonl_log.js';
import { disposeRun, runExperiment } from '../../../src/train/run_experiment.js';
import { createCompiledStepRunner } from '../../../src/engine/compiled_step.js';

test('compact_resnet_shapes: 120 steps lower the loss and beat chance on the test split', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vg-shapes-'));
  const r = await runExperiment({
    compiledSteps: createCompiledStepRunner,
    mode: 'train_and_eval',
    experiment: 'compact_resnet_shapes',
    modelDir: dir,
    paramsOverrides: [
      'trainer.train_steps=120,trainer.validation_interval=120,trainer.checkpoint_interval=120,' +
        'trainer.summary_interval=20,trainer.optimizer_config.learning_rate.cosine.decay_steps=120,' +
        'task.validation_data.tfds_split=test/512',
    ],
  });
  const losses = readJsonlLog(join(dir, 'train', 'metrics.jsonl'))
    .filter((e) => e.tag === 'classification_loss')
    .map((e) => e.value as number);
  assert.ok(losses.length >= 6, `expected a loss every 20 steps, got ${losses.length}`);
  assert.ok(losses[losses.length - 1] < 0.8 * losses[0], `loss did not fall: ${losses.join(', ')}`);
  assert.ok(r.eval, 'train_and_eval returns eval results');
  assert.ok(
    r.eval.accuracy > 0.3,
    `accuracy ${r.eval.accuracy} is not clearly above chance (0.125; 0.3 is 2.4x chance)`,
  );
  disposeRun(r);
});
