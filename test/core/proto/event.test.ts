import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  decodeEvent,
  encodeEvent,
  float32TensorProto,
  stringTensorProto,
  tensorProtoValues,
  TF_DTYPE,
  type EventMessage,
} from '../../../src/core/proto/index.js';
import { readTFRecords } from '../../../src/data/tfrecord/index.js';
import { sharedData } from '../../helpers.js';

test('golden events re-encode to the exact bytes TF wrote', async () => {
  let n = 0;
  for await (const r of readTFRecords(
    sharedData('tfrecord-golden', 'events.out.tfevents.golden'),
  )) {
    assert.deepEqual(encodeEvent(decodeEvent(r.data)), r.data, `event ${r.index}`);
    n++;
  }
  assert.equal(n, 12);
});

test('Event wire bytes match a hand encoding', () => {
  // wall_time (field 1, fixed64 double 1.5 = 0x3ff8000000000000), step 7 (field 2 varint),
  // file_version "v" (field 3, length-delimited).
  const bytes = encodeEvent({ wallTime: 1.5, step: 7, fileVersion: 'v' });
  assert.deepEqual(
    Array.from(bytes),
    [0x09, 0, 0, 0, 0, 0, 0, 0xf8, 0x3f, 0x10, 0x07, 0x1a, 0x01, 0x76],
  );
  // Defaults are omitted (proto3): step 0 and wall_time 0 produce no bytes.
  assert.deepEqual(Array.from(encodeEvent({ wallTime: 0, step: 0 })), []);
});

test('Event round trip with summary values of each kind', () => {
  const event: EventMessage = {
    wallTime: 1234.5,
    step: -(2n ** 40n) * 2n ** 20n,
    summary: {
      value: [
        { tag: 'a', simpleValue: 0 },
        {
          tag: 'img',
          image: { height: 2, width: 3, colorspace: 3, encodedImageString: Uint8Array.of(1, 2, 3) },
        },
        {
          tag: 't',
          metadata: { pluginData: { pluginName: 'scalars' } },
          tensor: float32TensorProto([0.5, -1], [2]),
        },
      ],
    },
  };
  const back = decodeEvent(encodeEvent(event));
  assert.equal(back.step, -(2n ** 60n));
  assert.equal(back.wallTime, 1234.5);
  const [a, img, t] = back.summary!.value;
  assert.equal(a.simpleValue, 0);
  assert.equal(a.image, undefined);
  assert.deepEqual(img.image, {
    height: 2,
    width: 3,
    colorspace: 3,
    encodedImageString: Uint8Array.of(1, 2, 3),
  });
  const values = tensorProtoValues(t.tensor!);
  assert.deepEqual(values.shape, [2]);
  assert.deepEqual(values.values, Float32Array.of(0.5, -1));
  assert.throws(
    () => encodeEvent({ wallTime: 0, step: 0, fileVersion: 'x', graphDef: Uint8Array.of(1) }),
    /only one of/,
  );
});

test('tensorProtoValues: *_val lists repeat their last value; strings; int64', () => {
  const shape = { dim: [{ size: 2 }, { size: 2 }] };
  assert.deepEqual(
    tensorProtoValues({ dtype: TF_DTYPE.DT_FLOAT, tensorShape: shape, floatVal: [1, 2] }).values,
    Float32Array.of(1, 2, 2, 2),
  );
  assert.deepEqual(
    tensorProtoValues({ dtype: TF_DTYPE.DT_INT32, tensorShape: shape, intVal: [] }).values,
    new Int32Array(4),
  );
  assert.deepEqual(
    tensorProtoValues({
      dtype: TF_DTYPE.DT_INT64,
      tensorShape: { dim: [{ size: 2 }] },
      int64Val: [5, 2n ** 62n],
    }).values,
    [5, 2n ** 62n],
  );
  // int64 from raw little-endian content: -1 and 3.
  const content = Uint8Array.of(...Array(8).fill(0xff), 3, 0, 0, 0, 0, 0, 0, 0);
  assert.deepEqual(
    tensorProtoValues({
      dtype: TF_DTYPE.DT_INT64,
      tensorShape: { dim: [{ size: 2 }] },
      tensorContent: content,
    }).values,
    [-1, 3],
  );
  // half 0x3c00 = 1.0, 0xc000 = -2.0
  assert.deepEqual(
    tensorProtoValues({
      dtype: TF_DTYPE.DT_HALF,
      tensorShape: { dim: [{ size: 2 }] },
      halfVal: [0x3c00, 0xc000],
    }).values,
    Float32Array.of(1, -2),
  );
  const s = tensorProtoValues(stringTensorProto(['x', 'yz']));
  assert.deepEqual(s.shape, [2]);
  assert.deepEqual(s.values, [Uint8Array.of(0x78), Uint8Array.of(0x79, 0x7a)]);
  assert.throws(
    () =>
      tensorProtoValues({
        dtype: TF_DTYPE.DT_FLOAT,
        tensorShape: shape,
        tensorContent: new Uint8Array(8),
      }),
    /tensorContent has 8 bytes, shape needs 4 x 4/,
  );
});
