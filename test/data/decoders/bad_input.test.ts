/**
 * Decoder semantics on hand-built records, and bad input (issue 4 item 8): an unknown key in a
 * feature spec, an undecodable image, a box outside [0, 1], a mask count that differs from the
 * box count -- each an error naming the file and the record.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  bytesFeature,
  encodeExample,
  floatFeature,
  int64Feature,
  type FeatureMapInput,
} from '../../../src/core/proto/index.js';
import { ClassificationDecoder } from '../../../src/data/decoders/classification.js';
import { TfExampleDecoder } from '../../../src/data/decoders/detection.js';
import { ExampleDecodeError } from '../../../src/data/decoders/errors.js';
import { parseExample, scalarFeature } from '../../../src/data/decoders/feature_spec.js';
import { encodeGrayPng, encodePng } from '../../../src/data/decoders/image.js';
import { readTFRecords, TFRecordWriter, type TFRecord } from '../../../src/data/tfrecord/index.js';
import { sharedData } from '../../helpers.js';

const H = 4;
const W = 6;

/** A 4x6 RGB image with pixel (y, x) = [10y, 10x, 7]. */
async function smallPng(): Promise<Uint8Array> {
  const data = new Uint8Array(H * W * 3);
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++) data.set([10 * y, 10 * x, 7], (y * W + x) * 3);
  return encodePng({ data, height: H, width: W, channels: 3 });
}

/** Mask with ones in rows [y0, y1) and columns [x0, x1). */
async function maskPng(y0: number, y1: number, x0: number, x1: number): Promise<Uint8Array> {
  const m = new Uint8Array(H * W);
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) m[y * W + x] = 1;
  return encodeGrayPng(m, H, W);
}

async function detectionFeatures(overrides: FeatureMapInput = {}): Promise<FeatureMapInput> {
  return {
    'image/encoded': bytesFeature(await smallPng()),
    'image/source_id': bytesFeature('42'),
    'image/height': int64Feature(H),
    'image/width': int64Feature(W),
    'image/object/bbox/ymin': floatFeature(0.25, 0),
    'image/object/bbox/xmin': floatFeature(0.5, 0),
    'image/object/bbox/ymax': floatFeature(0.75, 0.5),
    'image/object/bbox/xmax': floatFeature(1, 1 / 3),
    'image/object/class/label': int64Feature(3, 17),
    'image/object/mask': bytesFeature(await maskPng(1, 3, 3, 6), await maskPng(0, 2, 0, 2)),
    ...overrides,
  };
}

test('detection decoder: stacking, defaults for area / is_crowd / size, masks', async () => {
  const features = await detectionFeatures();
  delete features['image/height'];
  delete features['image/width'];
  const ex = await new TfExampleDecoder({ includeMask: true }).decode(encodeExample(features));
  assert.equal(ex.sourceId, '42');
  // height/width default to -1 and are then taken from the decoded image
  assert.deepEqual([ex.height, ex.width], [H, W]);
  assert.equal(ex.numInstances, 2);
  const f = Math.fround;
  assert.deepEqual(Array.from(ex.boxes), [0.25, 0.5, 0.75, 1, 0, 0, 0.5, f(1 / 3)]);
  assert.deepEqual(Array.from(ex.classes), [3, 17]);
  assert.deepEqual(ex.isCrowd, [false, false]);
  // no image/object/area: (xmax - xmin) * (ymax - ymin) * H * W = 0.5*0.5*24 = 6 and
  // (1/3)*0.5*24 = 4 (in float32)
  assert.equal(ex.areas[0], 6);
  assert.equal(ex.areas[1], f(f(f(f(1 / 3) * 0.5) * 4) * 6));
  assert.ok(Math.abs(ex.areas[1] - 4) < 1e-6);
  const plane = H * W;
  const sums = [0, 1].map((j) =>
    ex.masks!.subarray(j * plane, (j + 1) * plane).reduce((a, v) => a + v, 0),
  );
  assert.deepEqual(sums, [6, 4]);
  assert.equal(ex.masks![1 * W + 4], 1); // mask 0 covers (1, 4)
  assert.equal(ex.image!.data[(2 * W + 3) * 3], 20); // pixel (2, 3) red = 10 * 2
});

test('classification decoder: label default -1 when the record has none', async () => {
  const bytes = encodeExample({ 'image/encoded': bytesFeature(await smallPng()) });
  const ex = await new ClassificationDecoder().decode(bytes);
  assert.equal(ex.label, -1);
  assert.deepEqual([ex.image.height, ex.image.width, ex.image.channels], [H, W, 3]);
});

test('bad records in a TFRecord file: each error names the file, the record and the key', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'vg-bad-input-'));
  try {
    const file = join(dir, 'bad.tfrecord');
    const writer = new TFRecordWriter(file);
    await writer.write(encodeExample(await detectionFeatures())); // 0: fine
    await writer.write(
      encodeExample(
        await detectionFeatures({ 'image/encoded': bytesFeature('definitely not an image') }),
      ),
    ); // 1: undecodable image
    const truncatedPng = (await smallPng()).subarray(0, 40);
    await writer.write(
      encodeExample(await detectionFeatures({ 'image/encoded': bytesFeature(truncatedPng) })),
    ); // 2
    await writer.write(
      encodeExample(await detectionFeatures({ 'image/object/bbox/xmax': floatFeature(1.5, 0.25) })),
    ); // 3: box outside [0, 1]
    await writer.write(
      encodeExample(
        await detectionFeatures({ 'image/object/mask': bytesFeature(await maskPng(0, 1, 0, 1)) }),
      ),
    ); // 4: 1 mask for 2 boxes
    await writer.write(
      encodeExample(
        await detectionFeatures({
          'image/object/mask': bytesFeature(await maskPng(0, 1, 0, 1), 'junk'),
        }),
      ),
    ); // 5: undecodable mask
    await writer.close();

    const records: TFRecord[] = [];
    for await (const r of readTFRecords(file)) records.push(r);
    assert.equal(records.length, 6);
    const decoder = new TfExampleDecoder({ includeMask: true });
    const expectError = async (i: number, key: string, detail: RegExp) => {
      await assert.rejects(decoder.decode(records[i].data, records[i]), (err: unknown) => {
        assert.ok(err instanceof ExampleDecodeError, String(err));
        assert.ok(
          err.message.includes(`record ${i} of ${file} (byte offset ${records[i].offset})`),
          err.message,
        );
        assert.ok(err.message.includes(`'${key}'`), err.message);
        assert.match(err.message, detail);
        return true;
      });
    };
    const ok = await decoder.decode(records[0].data, records[0]);
    assert.equal(ok.numInstances, 2);
    await expectError(1, 'image/encoded', /undecodable image/);
    await expectError(2, 'image/encoded', /undecodable png image/);
    await expectError(
      3,
      'image/object/bbox/xmax',
      /box 0 has xmax = 1.5, outside the normalised range \[0, 1\]/,
    );
    await expectError(4, 'image/object/mask', /mask count 1 does not match box count 2/);
    await expectError(5, 'image/object/mask[1]', /undecodable image/);

    // An unknown key in a caller's feature spec (fixed, no default) names the key and record.
    assert.throws(
      () =>
        parseExample(records[0].data, { 'image/no_such_key': scalarFeature('string') }, records[0]),
      (err: unknown) =>
        err instanceof ExampleDecodeError &&
        err.message.startsWith(`record 0 of ${file} (byte offset 0), feature 'image/no_such_key'`),
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('inconsistent per-object lists and sizes are errors', async () => {
  const decoder = new TfExampleDecoder({ includeMask: true });
  const ctx = { file: 'x.tfrecord', index: 2 };
  await assert.rejects(
    decoder.decode(
      encodeExample(await detectionFeatures({ 'image/object/bbox/ymin': floatFeature(0.1) })),
      ctx,
    ),
    /record 2 of x.tfrecord, feature 'image\/object\/bbox\/xmin': has 2 values but image\/object\/bbox\/ymin has 1/,
  );
  await assert.rejects(
    decoder.decode(
      encodeExample(await detectionFeatures({ 'image/object/class/label': int64Feature(1) })),
      ctx,
    ),
    /'image\/object\/class\/label': has 1 values for 2 boxes/,
  );
  await assert.rejects(
    decoder.decode(
      encodeExample(await detectionFeatures({ 'image/height': int64Feature(5) })),
      ctx,
    ),
    /decoded image is 4x6 but image\/height x image\/width is 5x6/,
  );
  const noSource = await detectionFeatures();
  delete noSource['image/source_id'];
  await assert.rejects(
    decoder.decode(encodeExample(noSource), ctx),
    /'image\/source_id': required feature/,
  );
});

test('a truncated JPEG is undecodable (as TF decode_jpeg without try_recover_truncated)', async () => {
  const jpeg = await readFile(sharedData('coco128', 'train2017', '000000000009.jpg'));
  const bytes = encodeExample({
    'image/encoded': bytesFeature(jpeg.subarray(0, jpeg.length >> 1)),
  });
  await assert.rejects(
    new ClassificationDecoder().decode(bytes, { file: 'c.tfrecord', index: 4, offset: 99 }),
    /record 4 of c.tfrecord \(byte offset 99\), feature 'image\/encoded': undecodable jpeg image/,
  );
});
