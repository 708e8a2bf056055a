/**
 * A tiny end-to-end RetinaNet run: generated rectangles (two classes) are written as COCO JSON +
 * PNG files and converted to a detection TFRecord with src/data's COCO converter; a small
 * ResNet-10 + FPN RetinaNet trains on it through the RetinaNet parser, compiled (the onnx step
 * runner; engine_fallback 'error', so no eager fallback), with finite and falling losses, then
 * one evaluation reports Model Garden's COCO box metrics.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import '../../../src/tasks/index.js';
import { cocoToTfRecord } from '../../../src/data/converters/coco.js';
import { createCompiledStepRunner } from '../../../src/engine/compiled_step.js';
import { readJsonlLog } from '../../../src/train/jsonl_log.js';
import { disposeRun, runExperiment } from '../../../src/train/run_experiment.js';
import { writeCocoRectangles } from '../../fixture_writers.js';

const SIZE = 64;

test('RetinaNet trains compiled on a generated detection TFRecord and evaluates COCO AP', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vg-retinanet-'));
  const imagesDir = join(dir, 'images');
  mkdirSync(imagesDir);
  const annotationsPath = await writeCocoRectangles(imagesDir, 8, { size: SIZE });
  await cocoToTfRecord({
    annotationsPath,
    imagesDir,
    outputPrefix: join(dir, 'train'),
    numShards: 1,
  });
  const records = join(dir, 'train-*');
  const configPath = join(dir, 'tiny.yaml');
  writeFileSync(
    configPath,
    JSON.stringify({
      runtime: { engine_fallback: 'error' },
      task: {
        model: {
          num_classes: 3,
          input_size: [SIZE, SIZE, 3],
          min_level: 3,
          max_level: 5,
          anchor: { num_scales: 1, aspect_ratios: [1.0], anchor_size: 3 },
          backbone: { type: 'resnet', resnet: { model_id: 10 } },
          decoder: { type: 'fpn', fpn: { num_filters: 16 } },
          head: { num_convs: 1, num_filters: 16 },
        },
        losses: { l2_weight_decay: 1e-5 },
        train_data: {
          input_path: records,
          is_training: true,
          global_batch_size: 4,
          parser: { match_threshold: 0.4, unmatched_threshold: 0.4 },
        },
        validation_data: {
          input_path: records,
          is_training: false,
          global_batch_size: 4,
          drop_remainder: false,
        },
      },
      trainer: {
        train_steps: 40,
        steps_per_loop: 5,
        summary_interval: 5,
        checkpoint_interval: 40,
        validation_interval: 40,
        validation_steps: -1,
        optimizer_config: {
          optimizer: { type: 'adam' },
          learning_rate: { type: 'constant', constant: { learning_rate: 0.003 } },
        },
      },
    }),
  );
  const r = await runExperiment({
    compiledSteps: createCompiledStepRunner,
    backend: 'onnx',
    mode: 'train_and_eval',
    experiment: 'retinanet',
    configFiles: [configPath],
    modelDir: join(dir, 'model'),
  });
  const series = (tag: string) =>
    readJsonlLog(join(dir, 'model', 'train', 'metrics.jsonl'))
      .filter((e) => e.tag === tag)
      .map((e) => e.value as number);
  const total = series('total_loss');
  const cls = series('cls_loss');
  assert.ok(total.length >= 8, `expected a loss every 5 steps, got ${total.length}`);
  assert.ok(total.every(Number.isFinite), `non-finite loss: ${total.join(', ')}`);
  assert.ok(
    total[total.length - 1] < 0.7 * total[0],
    `total loss did not fall: ${total.join(', ')}`,
  );
  assert.ok(cls[cls.length - 1] < cls[0], `cls loss did not fall: ${cls.join(', ')}`);
  assert.ok(r.eval, 'train_and_eval returns eval results');
  for (const key of ['AP', 'AP50', 'AP75', 'APs', 'APm', 'APl', 'ARmax1', 'ARmax10', 'ARmax100']) {
    const v = r.eval[key];
    assert.ok(typeof v === 'number' && v >= -1 && v <= 1, `${key} = ${v}`);
  }
  // Every generated box is 16-31 px a side, area < 32^2: COCO's 'small' range only, so the
  // medium and large rows have no ground truth (-1) when boxes are read in original pixels.
  assert.notEqual(r.eval.APs, -1, 'small objects are evaluated');
  assert.equal(r.eval.APm, -1);
  assert.equal(r.eval.APl, -1);
  disposeRun(r);
});
