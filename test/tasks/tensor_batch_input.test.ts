/**
 * The one TFRecord input builder of the detection, segmentation and video tasks
 * (src/tasks/tensor_batch_input.ts `tfRecordBatchInput`): a DataConfig it cannot read is refused
 * with one line naming the field, before any file is opened or worker started.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tfRecordBatchInput, type TfRecordDataConfig } from '../../src/tasks/tensor_batch_input.js';

const good: TfRecordDataConfig = {
  input_path: '/nonexistent/train-*',
  tfds_name: '',
  file_type: 'tfrecord',
  global_batch_size: 2,
  is_training: true,
  seed: null,
  shuffle_buffer_size: 10,
  drop_remainder: true,
};

const spec = {
  family: 'detection',
  records: 'detection tf.Examples',
  parser: () => {
    throw new Error('the parser is made only after the checks pass');
  },
  kind: 'tfrecord_test',
};

test('bad DataConfigs are refused by field, in one line', async () => {
  const cases: [Partial<TfRecordDataConfig>, RegExp][] = [
    [{ global_batch_size: 0 }, /^task\.train_data\.global_batch_size must be > 0, got 0$/],
    [{ is_training: false }, /^task\.train_data\.is_training: false is not supported/],
    [{ tfds_name: 'coco' }, /^task\.train_data\.tfds_name: .* not supported for detection/],
    [{ file_type: 'sstable' }, /^task\.train_data\.file_type 'sstable' is not readable here/],
    [{ input_path: { a: 'x' } }, /^task\.train_data\.input_path: a mapping of named inputs/],
    [{ input_path: '' }, /^task\.train_data\.input_path: set it to TFRecord files of detection/],
    [{ input_path: [] }, /^task\.train_data\.input_path: set it to TFRecord files of detection/],
  ];
  for (const [change, message] of cases) {
    await assert.rejects(
      tfRecordBatchInput('train', { ...good, ...change }, { training: true, seed: 1 }, spec),
      (err: Error) => message.test(err.message) && !err.message.includes('\n'),
      JSON.stringify(change),
    );
  }
  await assert.rejects(
    tfRecordBatchInput('train', good, { training: true, seed: 1 }, spec),
    /the parser is made only after the checks pass/,
  );
});
