/**
 * ImageClassificationTask reading `input_path` TFRecords through the parallel pipeline: a short
 * train_and_eval run (finite loss, pipeline position in the checkpoint, resume from it), and an
 * eval pass that yields every example exactly once, in file order. The run uses the eager wasm
 * backend: tfjs-backend-cpu's convolution gradients take over a minute per step here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import * as tf from '@tensorflow/tfjs-core';
import '../../../src/tasks/index.js';
import { bytesFeature, encodeExample, int64Feature } from '../../../src/core/proto/index.js';
import { initBackend } from '../../../src/core/backend/index.js';
import { TFRecordWriter } from '../../../src/data/tfrecord/writer.js';
import { readCheckpointHeader } from '../../../src/train/checkpoint.js';
import { readJsonlLog } from '../../../src/train/jsonl_log.js';
import { disposeRun, resolveExperiment, runExperiment } from '../../../src/train/run_experiment.js';
import {
  ImageClassificationTask,
  TfRecordClassificationInput,
} from '../../../src/tasks/image_classification/task.js';
import type { ImageClassificationTaskConfig } from '../../../src/tasks/image_classification/config.js';
import { assertClose } from '../../helpers.js';

process.env.VG_DATA_WORKERS = '2';

const N = 40;
const LABELS = Array.from({ length: N }, (_, i) => (i * 3) % 8);
const dir = mkdtempSync(join(tmpdir(), 'vg-cls-tfrecord-'));
const file = join(dir, 'train-00000-of-00001.tfrecord');

/** 40 tiny 36x36 images (even index JPEG, odd PNG) whose colour depends on the label. */
async function writeRecords(): Promise<void> {
  const writer = new TFRecordWriter(file);
  for (let i = 0; i < N; i++) {
    const px = new Uint8Array(36 * 36 * 3);
    for (let p = 0; p < 36 * 36; p++) {
      px[3 * p] = 30 * LABELS[i];
      px[3 * p + 1] = (p * 7 + i) % 256;
      px[3 * p + 2] = 255 - 30 * LABELS[i];
    }
    const img = sharp(px, { raw: { width: 36, height: 36, channels: 3 } });
    const encoded = await (i % 2 === 0 ? img.jpeg({ quality: 90 }) : img.png()).toBuffer();
    await writer.write(
      encodeExample({
        'image/encoded': bytesFeature(new Uint8Array(encoded)),
        'image/class/label': int64Feature(LABELS[i]),
      }),
    );
  }
  await writer.close();
}

await writeRecords();

const overrides = (trainSteps: number) => [
  `task.train_data.tfds_name='',task.train_data.input_path='${file}',` +
    `task.train_data.global_batch_size=8,task.train_data.shuffle_buffer_size=16,` +
    `task.validation_data.tfds_name='',task.validation_data.input_path='${file}',` +
    `task.validation_data.global_batch_size=16,task.validation_data.drop_remainder=false,` +
    `trainer.train_steps=${trainSteps},trainer.steps_per_loop=1,trainer.summary_interval=1,` +
    `trainer.checkpoint_interval=3,trainer.validation_interval=3,trainer.validation_steps=-1`,
];

async function pipelineStateAt(modelDir: string, step: number): Promise<Record<string, unknown>> {
  const name = readdirSync(modelDir).find((f) => f.endsWith('.vgckpt') && f.includes(`-${step}`));
  assert.ok(name, `no checkpoint of step ${step} in ${readdirSync(modelDir).join(', ')}`);
  const { meta } = await readCheckpointHeader(join(modelDir, name));
  return meta.pipeline as Record<string, unknown>;
}

test('train_and_eval on input_path TFRecords: finite loss, pipeline state checkpointed and resumed', async () => {
  const modelDir = join(dir, 'model');
  const r = await runExperiment({
    mode: 'train_and_eval',
    experiment: 'compact_resnet_shapes',
    modelDir,
    backend: 'wasm',
    paramsOverrides: overrides(3),
  });
  assert.equal(r.step, 3);
  const losses = readJsonlLog(join(modelDir, 'train', 'metrics.jsonl'))
    .filter((e) => e.tag === 'classification_loss')
    .map((e) => e.value as number);
  assert.equal(losses.length, 3);
  assert.ok(losses.every(Number.isFinite), `losses ${losses.join(', ')}`);
  assert.ok(r.eval && r.eval.accuracy >= 0 && r.eval.accuracy <= 1, JSON.stringify(r.eval));
  // 3 steps of 8 from a 40-example epoch: 24 examples of epoch 0 consumed.
  assert.deepEqual(await pipelineStateAt(modelDir, 3), {
    kind: 'tfrecord_image_classification',
    epoch: 0,
    consumed: 24,
    index: 24,
  });
  disposeRun(r);

  // Resume to step 6: 48 examples in all, i.e. 8 into epoch 1.
  const r2 = await runExperiment({
    mode: 'train',
    experiment: 'compact_resnet_shapes',
    modelDir,
    backend: 'wasm',
    paramsOverrides: overrides(6),
  });
  assert.equal(r2.step, 6);
  assert.deepEqual(await pipelineStateAt(modelDir, 6), {
    kind: 'tfrecord_image_classification',
    epoch: 1,
    consumed: 8,
    index: 48,
  });
  disposeRun(r2);
});

test('eval pass: every example once, in file order, last partial batch kept', async () => {
  await initBackend('cpu');
  const config = resolveExperiment({
    experiment: 'compact_resnet_shapes',
    paramsOverrides: overrides(1),
  }).config.task as unknown as ImageClassificationTaskConfig;
  const task = new ImageClassificationTask(config);
  const input = (await task.buildInputs('validation', {
    training: false,
    seed: 0,
  })) as TfRecordClassificationInput;
  const sizes: number[] = [];
  const labels: number[] = [];
  try {
    for (;;) {
      const batch = await input.next();
      if (!batch) break;
      assert.deepEqual(batch.image.shape.slice(1), [32, 32, 3]);
      assert.equal(batch.image.dtype, 'float32');
      assert.equal(batch.label.dtype, 'int32');
      sizes.push(batch.label.shape[0]);
      labels.push(...(await batch.label.data()));
      tf.dispose([batch.image, batch.label]);
    }
  } finally {
    await input.close();
  }
  assert.deepEqual(sizes, [16, 16, 8]);
  assert.deepEqual(labels, LABELS);
});

test('bad settings name the field', async () => {
  const config = resolveExperiment({
    experiment: 'compact_resnet_shapes',
    paramsOverrides: [
      `task.train_data.tfds_name='',task.train_data.input_path='',task.train_data.global_batch_size=8`,
    ],
  }).config.task as unknown as ImageClassificationTaskConfig;
  await assert.rejects(
    new ImageClassificationTask(config).buildInputs('train', { training: true, seed: 0 }),
    /task.train_data: set input_path to TFRecord files/,
  );
});

test('host batches become the in-memory keys and dtypes; MixUp mixes images and labels alike', async () => {
  await initBackend('cpu');
  // Two 1x2x3 "images" with classes 0 and 2, served by a stand-in for the pipeline.
  const host = {
    image: { data: Float32Array.of(1, 1, 1, 1, 1, 1, 5, 5, 5, 5, 5, 5), shape: [2, 1, 2, 3] },
    label: { data: Int32Array.of(0, 2), shape: [2] },
  };
  const fake = {
    getState: () => ({ epoch: 0, consumed: 0, index: 0 }),
    next: async () => host,
    close: async () => undefined,
  } as unknown as ConstructorParameters<typeof TfRecordClassificationInput>[0];

  const plain = await new TfRecordClassificationInput(fake, 0, null).next();
  assert.ok(plain);
  assert.deepEqual([plain.image.dtype, plain.label.dtype], ['float32', 'int32']);
  assert.deepEqual(plain.image.shape, [2, 1, 2, 3]);
  assert.deepEqual(Array.from(await plain.label.data()), [0, 2]);
  tf.dispose([plain.image, plain.label]);

  const mix = { mixupAlpha: 0.8, cutmixAlpha: 0, prob: 1, labelSmoothing: 0, numClasses: 4 };
  const mixed = await new TfRecordClassificationInput(fake, 0, mix).next();
  assert.ok(mixed);
  assert.deepEqual(mixed.label.shape, [2, 4]);
  const labels = await mixed.label.data();
  const images = await mixed.image.data();
  for (let i = 0; i < 2; i++) {
    const row = Array.from(labels.slice(4 * i, 4 * i + 4));
    assertClose([row.reduce((a, b) => a + b, 0)], [1], { atol: 1e-6 });
    // Image i is mixed with image 1 - i with the weight its own class got in the label.
    const lam = row[i === 0 ? 0 : 2];
    const own = i === 0 ? 1 : 5;
    const other = i === 0 ? 5 : 1;
    assertClose(images.slice(6 * i, 6 * i + 6), new Array(6).fill(lam * own + (1 - lam) * other), {
      atol: 1e-5,
    });
  }
  tf.dispose([mixed.image, mixed.label]);
});
