/** parseExample / parseSequenceExample follow tf.io.parse_single_(sequence_)example's rules. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  bytesFeature,
  encodeExample,
  encodeSequenceExample,
  floatFeature,
  int64Feature,
} from '../../../src/core/proto/index.js';
import { ExampleDecodeError } from '../../../src/data/decoders/errors.js';
import {
  fixedLenFeature,
  fixedLenSequenceFeature,
  parseExample,
  parseSequenceExample,
  scalarFeature,
  varLenFeature,
} from '../../../src/data/decoders/feature_spec.js';

const record = { file: 'train-00000-of-00001.tfrecord', index: 5, offset: 1234 };
const example = encodeExample({
  'image/encoded': bytesFeature('abc'),
  'image/class/label': int64Feature(7),
  boxes: floatFeature(0.5, 0.25, 1.5),
  pair: int64Feature(3, 4),
  'extra/ignored': bytesFeature('x'),
});

test('fixed scalars, fixed shapes and var lists parse to their dtypes', () => {
  const p = parseExample(example, {
    'image/encoded': scalarFeature('string'),
    'image/class/label': scalarFeature('int64'),
    pair: fixedLenFeature('int64', [2]),
    boxes: varLenFeature('float32'),
  });
  assert.deepEqual(Array.from(p['image/encoded']), [97, 98, 99]);
  assert.equal(p['image/class/label'], 7);
  assert.deepEqual(p.pair, [3, 4]);
  assert.ok(p.boxes instanceof Float32Array);
  assert.deepEqual(Array.from(p.boxes), [0.5, 0.25, 1.5]);
  // keys the spec does not name are ignored, as in TF
  assert.equal(Object.keys(p).length, 4);
});

test('a spec key the record lacks: default, empty var list, or an error naming key and record', () => {
  const p = parseExample(
    example,
    {
      'image/height': scalarFeature('int64', -1),
      'image/object/area': varLenFeature('float32'),
      'image/source_id': scalarFeature('string', ''),
      triple: fixedLenFeature('float32', [3], 0.5),
    },
    record,
  );
  assert.equal(p['image/height'], -1);
  assert.equal(p['image/object/area'].length, 0);
  assert.equal(p['image/source_id'].length, 0);
  assert.deepEqual(Array.from(p.triple), [0.5, 0.5, 0.5]);

  assert.throws(
    () => parseExample(example, { 'image/unknown': scalarFeature('string') }, record),
    (err: unknown) =>
      err instanceof ExampleDecodeError &&
      err.key === 'image/unknown' &&
      err.message.includes("feature 'image/unknown'") &&
      err.message.includes('record 5 of train-00000-of-00001.tfrecord (byte offset 1234)') &&
      err.message.includes('not in the record'),
  );
});

test('a dtype mismatch and a wrong fixed count are errors naming the key', () => {
  assert.throws(
    () => parseExample(example, { 'image/class/label': scalarFeature('float32') }, record),
    /record 5 .*'image\/class\/label'.*int64_list \(int64\).*float_list \(float\)/,
  );
  assert.throws(
    () => parseExample(example, { boxes: fixedLenFeature('float32', [2]) }, record),
    /'boxes': fixed-length feature has 3 values, shape \[2\] needs 2/,
  );
  assert.throws(
    () => parseExample(example, { pair: scalarFeature('int64') }, record),
    /'pair': fixed-length feature has 2 values, shape \[\] needs 1/,
  );
});

test('bad specs and bad bytes are reported', () => {
  assert.throws(
    () => parseExample(example, { x: { kind: 'dense', dtype: 'int64' } as never }),
    /feature spec 'x': kind must be/,
  );
  assert.throws(
    () => parseExample(example, { x: { kind: 'var', dtype: 'int32' } as never }),
    /feature spec 'x': dtype must be/,
  );
  assert.throws(
    () => parseExample(Uint8Array.of(0x0a, 0x05, 0x01), { x: varLenFeature('int64') }, record),
    /record 5 of .*: not a valid tf.train.Example/,
  );
});

test('int64 values beyond 2^53 are an error, not a silent rounding', () => {
  const big = encodeExample({ id: int64Feature(2n ** 60n) });
  assert.throws(
    () => parseExample(big, { id: scalarFeature('int64') }),
    /outside the exactly representable/,
  );
  const ok = encodeExample({ id: int64Feature(-(2 ** 40)) });
  assert.equal(parseExample(ok, { id: scalarFeature('int64') }).id, -(2 ** 40));
});

test('SequenceExample: context, fixed sequences concatenated, var sequences per step', () => {
  const bytes = encodeSequenceExample({
    context: { 'clip/label/index': int64Feature(3, 9), 'clip/media_id': bytesFeature('c0') },
    featureLists: {
      'image/encoded': [bytesFeature('f0'), bytesFeature('f1'), bytesFeature('f2')],
      xy: [floatFeature(1, 2), floatFeature(3, 4)],
      ragged: [int64Feature(1), int64Feature(), int64Feature(2, 3)],
    },
  });
  const { context, sequence } = parseSequenceExample(
    bytes,
    { 'clip/label/index': varLenFeature('int64'), 'clip/media_id': scalarFeature('string') },
    {
      'image/encoded': fixedLenSequenceFeature('string'),
      xy: fixedLenSequenceFeature('float32', [2]),
      ragged: varLenFeature('int64'),
      missing: fixedLenSequenceFeature('int64', [], true),
    },
    record,
  );
  assert.deepEqual(context['clip/label/index'], [3, 9]);
  assert.equal(new TextDecoder().decode(context['clip/media_id']), 'c0');
  assert.deepEqual(
    sequence['image/encoded'].map((b) => new TextDecoder().decode(b)),
    ['f0', 'f1', 'f2'],
  );
  assert.deepEqual(Array.from(sequence.xy), [1, 2, 3, 4]);
  assert.deepEqual(sequence.ragged, [[1], [], [2, 3]]);
  assert.deepEqual(sequence.missing, []);

  assert.throws(
    () => parseSequenceExample(bytes, {}, { absent: fixedLenSequenceFeature('string') }, record),
    /record 5 .*'absent': required feature list/,
  );
  assert.throws(
    () => parseSequenceExample(bytes, {}, { xy: fixedLenSequenceFeature('float32', [3]) }, record),
    /'xy': step 0 has 2 values, shape \[3\] needs 3/,
  );
});
