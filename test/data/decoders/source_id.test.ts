/**
 * Model Garden's source-id fallback (official/vision/dataloaders/tf_example_decoder.py): an empty
 * image/source_id, or any with regenerate_source_id, becomes
 * as_string(to_hash_bucket_fast(image/encoded, 2^22 - 1)). The expected ids are computed here
 * with tfjs-core's independent Fingerprint64 port (util.fingerPrint64), not with ours.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import * as tf from '@tensorflow/tfjs-core';
import {
  bytesFeature,
  encodeExample,
  floatFeature,
  int64Feature,
  type FeatureMapInput,
} from '../../../src/core/proto/index.js';
import {
  generateSourceId,
  SOURCE_ID_HASH_BUCKETS,
  TfExampleDecoder,
} from '../../../src/data/decoders/detection.js';
import { sharedData } from '../../helpers.js';

/** Reference: decimal string of (unsigned Fingerprint64(bytes)) mod (2^22 - 1), via tfjs-core. */
function referenceSourceId(bytes: Uint8Array): string {
  const fp = BigInt.asUintN(64, BigInt(tf.util.fingerPrint64(bytes).toString()));
  return (fp % 4194303n).toString();
}

async function cocoFeatures(sourceId?: string): Promise<{
  jpeg: Uint8Array;
  features: FeatureMapInput;
}> {
  const jpeg = new Uint8Array(
    await readFile(sharedData('coco128', 'train2017', '000000000009.jpg')),
  );
  const features: FeatureMapInput = {
    'image/encoded': bytesFeature(jpeg),
    'image/height': int64Feature(480),
    'image/width': int64Feature(640),
    'image/object/bbox/ymin': floatFeature(0.1),
    'image/object/bbox/xmin': floatFeature(0.2),
    'image/object/bbox/ymax': floatFeature(0.5),
    'image/object/bbox/xmax': floatFeature(0.6),
    'image/object/class/label': int64Feature(7),
  };
  if (sourceId !== undefined) features['image/source_id'] = bytesFeature(sourceId);
  return { jpeg, features };
}

test('Model Garden hashes into 2^22 - 1 buckets', () => {
  assert.equal(SOURCE_ID_HASH_BUCKETS, 4194303);
});

test('an empty image/source_id becomes the hash bucket of the encoded JPEG', async () => {
  const { jpeg, features } = await cocoFeatures('');
  const decoder = new TfExampleDecoder({ decodeImage: false });
  const ex = await decoder.decode(encodeExample(features));
  const expected = referenceSourceId(jpeg);
  assert.equal(ex.sourceId, expected);
  assert.equal(generateSourceId(jpeg), expected);
  assert.match(ex.sourceId, /^\d+$/);
  assert.ok(Number(ex.sourceId) < 4194303);
  // Exactly representable in float32, which is why Model Garden uses 22 bits.
  assert.equal(Math.fround(Number(ex.sourceId)), Number(ex.sourceId));
});

test('a stored source_id is kept; regenerateSourceId replaces it and does not require it', async () => {
  const { jpeg, features } = await cocoFeatures('9');
  assert.equal(
    (await new TfExampleDecoder({ decodeImage: false }).decode(encodeExample(features))).sourceId,
    '9',
  );
  const regen = new TfExampleDecoder({ decodeImage: false, regenerateSourceId: true });
  assert.equal((await regen.decode(encodeExample(features))).sourceId, referenceSourceId(jpeg));
  const { features: noId } = await cocoFeatures();
  assert.equal((await regen.decode(encodeExample(noId))).sourceId, referenceSourceId(jpeg));
});

test('different image bytes give different generated ids', async () => {
  const a = new Uint8Array(await readFile(sharedData('coco128', 'train2017', '000000000025.jpg')));
  const b = new Uint8Array(await readFile(sharedData('coco128', 'train2017', '000000000030.jpg')));
  assert.equal(generateSourceId(a), referenceSourceId(a));
  assert.equal(generateSourceId(b), referenceSourceId(b));
  assert.notEqual(generateSourceId(a), generateSourceId(b));
});
