/**
 * A tiny end-to-end segmentation run: the generated shapes segmentation set is written as a
 * TFRecord by the segmentation converter; a narrow DeepLabV3+ on a dilated ResNet trains on it
 * through the segmentation parser, compiled (engine_fallback 'error', so no eager fallback), with
 * finite and falling losses, then one evaluation reports mean and per-class IoU.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import '../../../src/tasks/index.js';
import { segmentationToTfRecord } from '../../../src/data/converters/segmentation.js';
import { createCompiledStepRunner } from '../../../src/engine/compiled_step.js';
import { readJsonlLog } from '../../../src/train/jsonl_log.js';
import { disposeRun, runExperiment } from '../../../src/train/run_experiment.js';

test('DeepLabV3+ trains compiled on generated shapes and evaluates per-class IoU', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vg-seg-train-'));
  await segmentationToTfRecord({
    layout: 'shapes',
    numExamples: 16,
    imageSize: 32,
    seed: 1,
    outputPrefix: join(dir, 'train'),
  });
  const records = join(dir, 'train-*');
  const configPath = join(dir, 'tiny.yaml');
  writeFileSync(
    configPath,
    JSON.stringify({
      runtime: { engine_fallback: 'error' },
      task: {
        model: {
          num_classes: 9,
          input_size: [32, 32, 3],
          backbone: {
            type: 'dilated_resnet',
            dilated_resnet: {
              model_id: 50,
              output_stride: 8,
              block_specs: [
                ['bottleneck', 4, 1],
                ['bottleneck', 8, 1],
                ['bottleneck', 8, 1],
                ['bottleneck', 8, 1],
              ],
            },
          },
          decoder: { type: 'aspp', aspp: { level: 3, dilation_rates: [2], num_filters: 16 } },
          head: {
            level: 3,
            num_convs: 1,
            num_filters: 16,
            feature_fusion: 'deeplabv3plus',
            low_level: 2,
            low_level_num_filters: 8,
          },
        },
        train_data: {
          input_path: records,
          output_size: [32, 32],
          global_batch_size: 4,
        },
        validation_data: {
          input_path: records,
          output_size: [32, 32],
          global_batch_size: 4,
          drop_remainder: false,
        },
      },
      trainer: {
        train_steps: 24,
        steps_per_loop: 4,
        summary_interval: 4,
        checkpoint_interval: 24,
        validation_interval: 24,
        validation_steps: -1,
        optimizer_config: {
          optimizer: { type: 'adam' },
          learning_rate: { type: 'constant', constant: { learning_rate: 0.01 } },
        },
      },
    }),
  );
  const r = await runExperiment({
    compiledSteps: createCompiledStepRunner,
    backend: 'onnx',
    mode: 'train_and_eval',
    experiment: 'semantic_segmentation',
    configFiles: [configPath],
    modelDir: join(dir, 'model'),
  });
  const total = readJsonlLog(join(dir, 'model', 'train', 'metrics.jsonl'))
    .filter((e) => e.tag === 'total_loss')
    .map((e) => e.value as number);
  assert.ok(total.length >= 5, `expected a loss every 4 steps, got ${total.length}`);
  assert.ok(total.every(Number.isFinite), `non-finite loss: ${total.join(', ')}`);
  assert.ok(total[total.length - 1] < 0.7 * total[0], `loss did not fall: ${total.join(', ')}`);
  assert.ok(r.eval, 'train_and_eval returns eval results');
  const miou = r.eval.mean_iou;
  assert.ok(typeof miou === 'number' && miou > 0 && miou <= 1, `mean_iou ${miou}`);
  for (let c = 0; c < 9; c++) assert.equal(typeof r.eval[`iou/${c}`], 'number', `iou/${c}`);
  disposeRun(r);
});
