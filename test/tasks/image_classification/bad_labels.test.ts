/**
 * A classification example without a label, or with a negative one, is rejected naming its file
 * and record, as a label >= num_classes already was; before, both trained with an all-zero
 * target (classification_loss 0).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import * as tf from '@tensorflow/tfjs-core';
import '../../../src/tasks/index.js';
import { bytesFeature, encodeExample, int64Feature } from '../../../src/core/proto/index.js';
import { initBackend } from '../../../src/core/backend/index.js';
import { TFRecordWriter } from '../../../src/data/tfrecord/writer.js';
import { resolveExperiment } from '../../../src/train/run_experiment.js';
import { ImageClassificationTask } from '../../../src/tasks/image_classification/task.js';
import type { ImageClassificationTaskConfig } from '../../../src/tasks/image_classification/config.js';

process.env.VG_DATA_WORKERS = '0';
await initBackend('cpu');

const dir = mkdtempSync(join(tmpdir(), 'vg-bad-labels-'));
const png = new Uint8Array(
  await sharp(new Uint8Array(8 * 8 * 3).fill(90), { raw: { width: 8, height: 8, channels: 3 } })
    .png()
    .toBuffer(),
);

/** 6 records with label i % 8, except record `bad`, whose label is `label` (undefined: none). */
async function writeFile(name: string, bad: number, label: number | undefined): Promise<string> {
  const file = join(dir, name);
  const writer = new TFRecordWriter(file);
  for (let i = 0; i < 6; i++) {
    const l = i === bad ? label : i % 8;
    await writer.write(
      encodeExample({
        'image/encoded': bytesFeature(png),
        ...(l === undefined ? {} : { 'image/class/label': int64Feature(l) }),
      }),
    );
  }
  await writer.close();
  return file;
}

async function readAll(file: string): Promise<number[]> {
  const config = resolveExperiment({
    experiment: 'compact_resnet_shapes',
    paramsOverrides: [
      `task.validation_data.tfds_name='',task.validation_data.input_path='${file}',` +
        'task.validation_data.global_batch_size=3',
    ],
  }).config.task as unknown as ImageClassificationTaskConfig;
  const input = await new ImageClassificationTask(config).buildInputs('validation', {
    training: false,
    seed: 0,
  });
  const labels: number[] = [];
  try {
    for (;;) {
      const batch = await input.next();
      if (!batch) break;
      labels.push(...(await batch.label.data()));
      tf.dispose(Object.values(batch));
    }
  } finally {
    await (input as unknown as { close(): Promise<void> }).close();
  }
  return labels;
}

test('a record without a label is rejected, naming file and record', async () => {
  const file = await writeFile('nolabel.tfrecord', 4, undefined);
  await assert.rejects(readAll(file), (err: Error) => {
    assert.match(err.message, /nolabel\.tfrecord record 4 \(offset \d+\)/);
    assert.match(err.message, /feature 'image\/class\/label': no label/);
    return true;
  });
});

test('a negative label is rejected, naming file and record', async () => {
  // -1, the value the decoder gives a record without the feature, used to pass silently.
  const minusOne = await writeFile('minus_one.tfrecord', 1, -1);
  await assert.rejects(readAll(minusOne), /minus_one\.tfrecord record 1 .*: no label/);
  const file = await writeFile('negative.tfrecord', 2, -3);
  await assert.rejects(readAll(file), /negative\.tfrecord record 2 .*label -3 is outside \[0, 8\)/);
});

test('valid labels read back unchanged', async () => {
  const file = await writeFile('good.tfrecord', -1, undefined);
  assert.deepEqual(await readAll(file), [0, 1, 2, 3, 4, 5]);
});
