/**
 * Short end-to-end video runs: generated moving shapes (direction x shape classes) are written as
 * SequenceExample TFRecords of JPEG frames (src/data/converters/video.ts), read through Model
 * Garden's video parser on the worker threads, and a small ResNet-3D and a small MoViNet train on
 * them compiled (the onnx step runner, engine_fallback 'error': no eager fallback) with finite,
 * falling losses; the evaluation runs its views per video and averages their softmax.
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

interface TinyRun {
  /** Registered experiment the config file is applied over. */
  experiment: string;
  /** `task.model`. */
  model: object;
  /** Validation views per video. */
  numTestClips: number;
  numTestCrops: number;
  learningRate: number;
  /** `trainer.optimizer_config.warmup` (the MoViNet experiment's default warms up for ~2k steps). */
  warmup?: object;
}

/**
 * Trains `run` for 20 compiled steps on 16 generated clips (4 frames of 24 px cropped from 8 of
 * 32), evaluating once; returns the logged total losses and the evaluation's accuracy.
 */
async function trainTiny(run: TinyRun): Promise<{ losses: number[]; accuracy: number }> {
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
          model: run.model,
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
            num_test_clips: run.numTestClips,
            num_test_crops: run.numTestCrops,
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
            learning_rate: { type: 'constant', constant: { learning_rate: run.learningRate } },
            ...(run.warmup ? { warmup: run.warmup } : {}),
          },
        },
      }),
    );
    const r = await runExperiment({
      compiledSteps: createCompiledStepRunner,
      backend: 'onnx',
      mode: 'train_and_eval',
      experiment: run.experiment,
      configFiles: [configPath],
      modelDir: join(dir, 'model'),
    });
    const losses = readJsonlLog(join(dir, 'model', 'train', 'metrics.jsonl'))
      .filter((e) => e.tag === 'total_loss')
      .map((e) => e.value as number);
    assert.ok(r.eval, 'train_and_eval returns eval results');
    const acc = Object.entries(r.eval).find(([k]) => k.includes('accuracy'));
    assert.ok(acc, JSON.stringify(r.eval));
    return { losses, accuracy: acc[1] };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function assertLossesFall(losses: number[]): void {
  assert.ok(losses.length >= 4, `a loss every 5 steps, got ${losses.length}`);
  assert.ok(losses.every(Number.isFinite), `non-finite loss: ${losses.join(', ')}`);
  assert.ok(losses[losses.length - 1] < losses[0], `loss did not fall: ${losses.join(', ')}`);
}

test('a small R3D trains compiled on generated moving-shapes SequenceExamples; 6-view eval', async () => {
  const { losses, accuracy } = await trainTiny({
    experiment: 'video_classification',
    model: {
      backbone: {
        type: 'resnet_3d',
        resnet_3d: { model_id: 50, block_filters: [4, 4, 8, 8], stem_conv_temporal_stride: 1 },
      },
      dropout_rate: 0.0,
    },
    numTestClips: 2,
    numTestCrops: 3,
    learningRate: 0.01,
  });
  assertLossesFall(losses);
  assert.ok(accuracy >= 0 && accuracy <= 1, `accuracy ${accuracy}`);
});

test('a MoViNet-T0 trains compiled on generated moving-shapes SequenceExamples', async () => {
  // Model Garden's movinet_kinetics600 experiment (MovinetModel) with the smallest spec, no
  // stochastic depth or dropout so that 20 steps on 16 clips show the fall.
  const { losses, accuracy } = await trainTiny({
    experiment: 'movinet_kinetics600',
    model: {
      backbone: { movinet: { model_id: 't0', stochastic_depth_drop_rate: 0.0 } },
      dropout_rate: 0.0,
      norm_activation: { norm_momentum: 0.9 },
    },
    numTestClips: 1,
    numTestCrops: 1,
    learningRate: 0.003,
    warmup: { type: 'linear', linear: { warmup_steps: 2 } },
  });
  assertLossesFall(losses);
  assert.ok(accuracy >= 0 && accuracy <= 1, `accuracy ${accuracy}`);
});
