import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  bytesFeature,
  decodeExample,
  decodeSequenceExample,
  encodeExample,
  encodeSequenceExample,
  floatFeature,
  int64Feature,
  type Feature,
  type FeatureMap,
} from '../../../src/core/proto/index.js';
import { readTFRecords, type TFRecord } from '../../../src/data/tfrecord/index.js';
import { sharedData } from '../../helpers.js';

const golden = (name: string) => sharedData('tfrecord-golden', name);
const expected = (name: string) => JSON.parse(readFileSync(golden(name), 'utf8'));
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const text = (b: Uint8Array) => new TextDecoder().decode(b);

async function records(file: string): Promise<TFRecord[]> {
  const out: TFRecord[] = [];
  for await (const r of readTFRecords(golden(file))) out.push(r);
  return out;
}

function ints(f: Feature | undefined): number[] {
  assert.ok(f?.int64List, 'expected an int64 feature');
  return f.int64List.map(Number);
}
function floats(f: Feature | undefined): number[] {
  assert.ok(f?.floatList, 'expected a float feature');
  return Array.from(f.floatList);
}
function bytes(f: Feature | undefined): Uint8Array[] {
  assert.ok(f?.bytesList, 'expected a bytes feature');
  return f.bytesList;
}

test('golden classification Examples decode to the values TF parsed', async () => {
  const want = expected('classification.expected.json');
  const recs = await records('classification.tfrecord');
  assert.equal(recs.length, want.records.length);
  for (const [i, r] of recs.entries()) {
    const w = want.records[i];
    const ex = decodeExample(r.data);
    assert.deepEqual(Object.keys(ex).sort(), [...want.feature_keys].sort());
    assert.deepEqual(ints(ex['image/class/label']), [w.label]);
    assert.deepEqual(ints(ex['image/height']), [w.height]);
    assert.deepEqual(ints(ex['image/width']), [w.width]);
    assert.equal(text(bytes(ex['image/format'])[0]), w.format);
    const encoded = bytes(ex['image/encoded']);
    assert.equal(encoded.length, 1);
    assert.equal(encoded[0].length, w.encoded_length);
    assert.equal(sha256(encoded[0]), w.encoded_sha256);
  }
});

test('golden segmentation Examples: sizes, formats, image and label-map PNG bytes', async () => {
  const want = expected('segmentation.expected.json');
  const recs = await records('segmentation.tfrecord');
  assert.equal(recs.length, want.num_records);
  for (const [i, r] of recs.entries()) {
    const w = want.records[i];
    const ex = decodeExample(r.data);
    assert.deepEqual(ints(ex['image/height']), [w.height]);
    assert.deepEqual(ints(ex['image/width']), [w.width]);
    assert.equal(text(bytes(ex['image/format'])[0]), w.image_format);
    assert.equal(sha256(bytes(ex['image/encoded'])[0]), w.image_sha256);
    assert.equal(text(bytes(ex['image/segmentation/class/format'])[0]), 'png');
    assert.equal(sha256(bytes(ex['image/segmentation/class/encoded'])[0]), w.label_png_sha256);
  }
});

test('golden detection Examples: boxes, classes, crowd flags, areas and masks as TF parsed them', async () => {
  const want = expected('detection.expected.json');
  let objects = 0;
  for (const s of [0, 1]) {
    const recs = await records(`detection-0000${s}-of-00002.tfrecord`);
    for (const [i, r] of recs.entries()) {
      const w = want.shards[s].records[i];
      const ex: FeatureMap = decodeExample(r.data);
      assert.deepEqual(Object.keys(ex).sort(), w.feature_keys_present);
      assert.equal(text(bytes(ex['image/source_id'])[0]), w.source_id);
      assert.equal(text(bytes(ex['image/filename'])[0]), w.filename);
      assert.deepEqual(ints(ex['image/height']), [w.height]);
      assert.deepEqual(ints(ex['image/width']), [w.width]);
      assert.equal(sha256(bytes(ex['image/encoded'])[0]), w.image_sha256);
      assert.equal(text(bytes(ex['image/key/sha256'])[0]), w.image_sha256);
      objects += w.num_objects;
      if (w.num_objects === 0) {
        // Image 250: no image/object/* keys at all.
        assert.equal(w.source_id, '250');
        assert.ok(Object.keys(ex).every((k) => !k.startsWith('image/object/')));
        continue;
      }
      const [ymin, xmin, ymax, xmax] = ['ymin', 'xmin', 'ymax', 'xmax'].map((c) =>
        floats(ex[`image/object/bbox/${c}`]),
      );
      const boxes = ymin.map((_, k) => [ymin[k], xmin[k], ymax[k], xmax[k]]);
      assert.deepEqual(boxes, w.boxes_ymin_xmin_ymax_xmax); // float32 values, exact
      assert.deepEqual(ints(ex['image/object/class/label']), w.classes);
      assert.deepEqual(bytes(ex['image/object/class/text']).map(text), w.class_text);
      assert.deepEqual(ints(ex['image/object/is_crowd']).map(Boolean), w.is_crowd);
      assert.deepEqual(floats(ex['image/object/area']), w.areas);
      const masks = bytes(ex['image/object/mask']);
      assert.equal(masks.length, w.num_masks);
      assert.deepEqual(masks.map(sha256), w.mask_png_sha256);
    }
  }
  assert.equal(objects, 172); // README: 172 objects in total
});

test('golden video SequenceExamples: context label/media id and 8 JPEG frames', async () => {
  const want = expected('video.expected.json');
  const recs = await records('video.tfrecord');
  assert.equal(recs.length, 2);
  for (const [i, r] of recs.entries()) {
    const w = want.records[i];
    const seq = decodeSequenceExample(r.data);
    assert.deepEqual(ints(seq.context['clip/label/index']), w['clip/label/index']);
    assert.equal(text(bytes(seq.context['clip/media_id'])[0]), w['clip/media_id']);
    const frames = seq.featureLists['image/encoded'];
    assert.equal(frames.length, w.num_frames);
    frames.forEach((f, t) => {
      const jpeg = bytes(f);
      assert.equal(jpeg.length, 1);
      assert.equal(jpeg[0].length, w.frames[t].length);
      assert.equal(sha256(jpeg[0]), w.frames[t].sha256);
    });
  }
});

test('re-encoding decoded golden records gives the original payload bytes', async () => {
  // TF wrote them with deterministic serialisation (sorted map keys); our encoder sorts keys the
  // same way and writes fields in field-number order, so the bytes match exactly.
  const files = [
    'classification.tfrecord',
    'segmentation.tfrecord',
    'detection-00000-of-00002.tfrecord',
    'detection-00001-of-00002.tfrecord',
  ];
  for (const f of files) {
    for (const r of await records(f))
      assert.deepEqual(encodeExample(decodeExample(r.data)), r.data, `${f}#${r.index}`);
  }
  for (const r of await records('video.tfrecord')) {
    assert.deepEqual(encodeSequenceExample(decodeSequenceExample(r.data)), r.data);
  }
});

test('encode matches hand-computed wire bytes', () => {
  // Example{features{feature{key:"a" value{int64_list{value:[1,-1]}}}}}:
  // int64 -1 is a 10-byte varint; packed list => Int64List = 0a 0b 01 ff..ff 01.
  const int64List = [0x0a, 0x0b, 0x01, ...Array(9).fill(0xff), 0x01];
  const feature = [0x1a, int64List.length, ...int64List];
  const entry = [0x0a, 0x01, 0x61, 0x12, feature.length, ...feature];
  const features = [0x0a, entry.length, ...entry];
  const example = [0x0a, features.length, ...features];
  assert.deepEqual(encodeExample({ a: int64Feature(1, -1) }), Uint8Array.from(example));
  // A float feature: packed float32 little-endian, 1.5 = 0x3fc00000.
  const floatBytes = encodeExample({ f: floatFeature(1.5) });
  assert.deepEqual(Array.from(floatBytes.subarray(-6)), [0x0a, 0x04, 0x00, 0x00, 0xc0, 0x3f]);
});

test('round trip: int64 as number when safe and bigint beyond, float32 rounding, empty lists, odd keys', () => {
  const big = 2n ** 62n + 3n;
  const features = {
    'z/last': bytesFeature('héllo', Uint8Array.of(0, 255)),
    a: int64Feature(0, -5, Number.MAX_SAFE_INTEGER, big, -(2n ** 63n)),
    f: floatFeature(0.1, -2.5, 1e30),
    emptyBytes: { bytesList: [] },
    emptyFloats: { floatList: [] },
    none: {},
    __proto__key: bytesFeature(''),
  };
  const weird = { ...features, ['__proto__']: int64Feature(7) }; // computed key: an own property
  const decoded = decodeExample(encodeExample(weird));
  assert.deepEqual(decoded['a'].int64List, [0, -5, Number.MAX_SAFE_INTEGER, big, -(2n ** 63n)]);
  assert.equal(typeof decoded['a'].int64List![3], 'bigint');
  assert.deepEqual(decoded['f'].floatList, Float32Array.of(0.1, -2.5, 1e30));
  assert.deepEqual(decoded['z/last'].bytesList, [
    new TextEncoder().encode('héllo'),
    Uint8Array.of(0, 255),
  ]);
  assert.deepEqual(decoded['emptyBytes'], { bytesList: [] });
  assert.deepEqual(decoded['emptyFloats'], { floatList: new Float32Array(0) });
  assert.deepEqual(decoded['none'], {});
  assert.deepEqual(Object.getOwnPropertyDescriptor(decoded, '__proto__')?.value, {
    int64List: [7],
  });
  // Keys come back in bytewise order, the order they were written.
  assert.deepEqual(Object.keys(decoded), [
    '__proto__',
    '__proto__key',
    'a',
    'emptyBytes',
    'emptyFloats',
    'f',
    'none',
    'z/last',
  ]);
});

test('SequenceExample round trip and bad input errors', () => {
  const seq = {
    context: { id: bytesFeature('clip') },
    featureLists: {
      frames: [bytesFeature('a'), bytesFeature('b')],
      scores: [floatFeature(1, 2), floatFeature()],
    },
  };
  const back = decodeSequenceExample(encodeSequenceExample(seq));
  assert.deepEqual(back.context, { id: { bytesList: [new TextEncoder().encode('clip')] } });
  assert.equal(back.featureLists['frames'].length, 2);
  assert.deepEqual(
    back.featureLists['scores'].map((f) => Array.from(f.floatList!)),
    [[1, 2], []],
  );
  assert.throws(
    () => encodeExample({ x: { bytesList: [], int64List: [] } }),
    /Example\.features\['x'\]: a feature holds one list/,
  );
  assert.throws(() => encodeExample({ x: int64Feature(1.5) }), /not a safe integer/);
  assert.throws(() => decodeExample(Uint8Array.of(0x0a, 0x05, 0x01)), /cannot decode Example/);
});
