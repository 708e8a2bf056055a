/**
 * Trainer fields that were accepted and ignored: Model Garden's loss-bound check
 * (loss_upper_bound, recovery_begin_steps, recovery_max_trials; core/base_trainer.py Recovery)
 * and validation_summary_subdir. The generated-shapes task starts near ln(8) ≈ 2.08 loss, so a
 * bound of 0.5 is broken at the first step.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import '../../src/tasks/index.js';
import { createCompiledStepRunner } from '../../src/engine/compiled_step.js';
import { disposeRun, runExperiment } from '../../src/train/run_experiment.js';

const BASE =
  'trainer.train_steps=2,trainer.checkpoint_interval=1000,trainer.summary_interval=1000,' +
  'trainer.validation_interval=2,trainer.validation_steps=1,runtime.run_eagerly=true,' +
  'task.train_data.global_batch_size=8,task.validation_data.global_batch_size=8,' +
  'task.allow_image_summary=false';

function run(mode: 'train' | 'train_and_eval', overrides: string) {
  const modelDir = mkdtempSync(join(tmpdir(), 'vg-bound-'));
  return {
    modelDir,
    result: runExperiment({
      mode,
      experiment: 'compact_resnet_shapes',
      modelDir,
      backend: 'onnx',
      compiledSteps: createCompiledStepRunner,
      paramsOverrides: [BASE, overrides],
    }),
  };
}

test('a loss above trainer.loss_upper_bound stops training at its step (MG default trials 0)', async () => {
  await assert.rejects(
    run('train', 'trainer.loss_upper_bound=0.5').result,
    /total_loss is [\d.]+ at step 1 \(trainer\.loss_upper_bound 0\.5\); stopping/,
  );
});

test('recovery_max_trials -1 disables the bound; recovery_begin_steps delays it', async () => {
  for (const o of [
    'trainer.loss_upper_bound=0.5,trainer.recovery_max_trials=-1',
    'trainer.loss_upper_bound=0.5,trainer.recovery_begin_steps=3',
  ]) {
    const r = await run('train', o).result;
    assert.equal(r.step, 2, o);
    disposeRun(r);
  }
});

test('evaluation summaries go to trainer.validation_summary_subdir', async () => {
  const { modelDir, result } = run('train_and_eval', 'trainer.validation_summary_subdir=eval_sums');
  disposeRun(await result);
  assert.ok(existsSync(join(modelDir, 'eval_sums', 'metrics.jsonl')));
  assert.ok(!existsSync(join(modelDir, 'validation')));
});
