/**
 * A short end-to-end video run: generated moving shapes (direction x shape classes) are written as
 * SequenceExample TFRecords of JPEG frames (src/data/converters/video.ts), read through Model
 * Garden's video parser on the worker threads, and a small ResNet-3D trains on them compiled (the
 * onnx step runner, engine_fallback 'error': no eager fallback) with finite, falling losses; the
 * evaluation runs 2 clips x 3 crops per video and averages their softmax.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import '../../../src/tasks/index.js';
import { writeVideoTfRecords } from '../../../src/data/converters/video.js';
import { generateMovingShapes } from '../../../src/data/synthetic/shapes.js';
import { createCompiledStepRunner } from '../../../src/engine/compiled_step.js';
import { readJsonlLog } from '../../../src/train/jsonl_log.js';
import { runExperiment } from '../../../src/train/run_experiment.js';

test('a small R3D trains compiled on generated moving-shapes SequenceExamples; 6-view eval', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vg-video-train-'));
  try {
    const data = generateMovingShapes({ numExamples: 16, numFrames: 8, imageSize: 32, seed: 3 });
    await writeVideoTfRecords(join(dir, 'train'), data);
    const records = join(dir, 'train-*');
    const clip = { feature_shape: [4, 24, 24, 3], num_classes: 8, input_path: records };
    const configPath = join(dir, 'tiny.yaml');
    writeFileSync(
      configPath,
      JSON.stringify({
        runtime: { engine_fallback: 'error' },
        task: {
          model: {
            backbone: {
              type: 'resnet_3d',
              resnet_3d: {
                model_id: 50,
                block_filters: [4, 4, 8, 8],
                stem_conv_temporal_stride: 1,
              },
            },
            dropout_rate: 0.0,
          },
          train_data: {
            ...clip,
            is_training: true,
            global_batch_size: 8,
            temporal_stride: 1,
            min_image_size: 32,
          },
          validation_data: {
            ...clip,
            is_training: false,
            global_batch_size: 8,
            drop_remainder: false,
            num_test_clips: 2,
            num_test_crops: 3,
            min_image_size: 32,
          },
        },
        trainer: {
          train_steps: 20,
          steps_per_loop: 5,
          summary_interval: 5,
          checkpoint_interval: 20,
          validation_interval: 20,
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
      experiment: 'video_classification',
      configFiles: [configPath],
      modelDir: join(dir, 'model'),
    });
    const total = readJsonlLog(join(dir, 'model', 'train', 'metrics.jsonl'))
      .filter((e) => e.tag === 'total_loss')
      .map((e) => e.value as number);
    assert.ok(total.length >= 4, `a loss every 5 steps, got ${total.length}`);
    assert.ok(total.every(Number.isFinite), `non-finite loss: ${total.join(', ')}`);
    assert.ok(total[total.length - 1] < total[0], `loss did not fall: ${total.join(', ')}`);
    assert.ok(r.eval, 'train_and_eval returns eval results');
    const acc = Object.entries(r.eval).find(([k]) => k.includes('accuracy'));
    assert.ok(acc && acc[1] >= 0 && acc[1] <= 1, JSON.stringify(r.eval));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
