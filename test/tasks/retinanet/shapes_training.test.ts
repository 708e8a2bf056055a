/**
 * The shipped shapes RetinaNet YAML (configs/experiments/retinanet/shapes_resnet18fpn_128.yaml),
 * shrunk through overrides (64 px scenes, ResNet-10, narrow FPN and head, a few steps), trains
 * compiled on `data shapes-detection` output with no eager fallback (engine_fallback 'error'
 * from the YAML): the losses stay finite and fall, and the evaluation on the held-out split
 * reports Model Garden's COCO box metrics.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import '../../../src/tasks/index.js';
import { shapesDetectionToTfRecord } from '../../../src/data/converters/shapes_detection.js';
import { createCompiledStepRunner } from '../../../src/engine/compiled_step.js';
import { readJsonlLog } from '../../../src/train/jsonl_log.js';
import { disposeRun, runExperiment } from '../../../src/train/run_experiment.js';
import { REPO_ROOT } from '../../helpers.js';

const YAML = join(REPO_ROOT, 'configs', 'experiments', 'retinanet', 'shapes_resnet18fpn_128.yaml');

test('the shapes RetinaNet YAML trains compiled with falling losses and evaluates AP', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vg-retinanet-shapes-'));
  await shapesDetectionToTfRecord({
    outputDir: dir,
    numTrain: 16,
    numVal: 4,
    imageSize: 64,
    seed: 1,
    maxShapes: 2,
    sizeFraction: [0.15, 0.3],
  });
  const shrink = {
    runtime: { num_threads: 1 },
    task: {
      model: {
        input_size: [64, 64, 3],
        backbone: { resnet: { model_id: 10, depth_multiplier: 0.25 } },
        decoder: { fpn: { num_filters: 16 } },
        head: { num_convs: 1, num_filters: 16 },
      },
      train_data: { input_path: join(dir, 'train*'), global_batch_size: 4 },
      validation_data: { input_path: join(dir, 'val*'), global_batch_size: 4 },
    },
    trainer: {
      train_steps: 24,
      steps_per_loop: 4,
      summary_interval: 4,
      checkpoint_interval: 24,
      validation_interval: 24,
      validation_steps: 1,
      optimizer_config: {
        learning_rate: { cosine: { initial_learning_rate: 0.003, decay_steps: 24 } },
        warmup: { linear: { warmup_steps: 2 } },
      },
    },
  };
  const r = await runExperiment({
    compiledSteps: createCompiledStepRunner,
    backend: 'onnx',
    mode: 'train_and_eval',
    experiment: 'retinanet',
    configFiles: [YAML],
    paramsOverrides: [JSON.stringify(shrink)],
    modelDir: join(dir, 'model'),
  });
  assert.equal(r.config.runtime.engine_fallback, 'error', 'the YAML forbids the eager fallback');
  const series = (tag: string) =>
    readJsonlLog(join(dir, 'model', 'train', 'metrics.jsonl'))
      .filter((e) => e.tag === tag)
      .map((e) => e.value as number);
  const total = series('total_loss');
  const cls = series('cls_loss');
  assert.equal(total.length, 6, `a loss every 4 steps: ${total.join(', ')}`);
  assert.ok(total.every(Number.isFinite), `non-finite loss: ${total.join(', ')}`);
  assert.ok(total[5] < 0.7 * total[0], `total loss did not fall: ${total.join(', ')}`);
  assert.ok(cls[5] < cls[0], `cls loss did not fall: ${cls.join(', ')}`);
  assert.ok(r.eval, 'train_and_eval returns eval results');
  for (const key of ['AP', 'AP50', 'AP75', 'APs', 'APm', 'APl', 'ARmax1', 'ARmax10', 'ARmax100']) {
    const v = r.eval[key];
    assert.ok(typeof v === 'number' && v >= -1 && v <= 1, `${key} = ${v}`);
  }
  assert.ok((r.eval.AP as number) >= 0, 'the held-out split has ground truth');
  disposeRun(r);
});
