/**
 * `shapesDetectionToTfRecord` writes both splits as Model Garden detection tf.Examples: read back
 * with the tf_example_decoder port, every example carries the scene's PNG pixels, its boxes
 * normalised by the image edge, class ids 1 + label, and its area; the label map names ids 1..K.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { shapesDetectionToTfRecord } from '../../../src/data/converters/shapes_detection.js';
import { TfExampleDecoder } from '../../../src/data/decoders/detection.js';
import { parsePbtxtLabelMap } from '../../../src/data/label_map.js';
import { shapeSceneAt, SHAPE_CLASS_NAMES } from '../../../src/data/synthetic/shapes.js';
import { readTFRecords } from '../../../src/data/tfrecord/index.js';

test('shapes-detection TFRecords decode to the generated scenes', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vg-shapes-det-'));
  const summary = await shapesDetectionToTfRecord({
    outputDir: dir,
    numTrain: 5,
    numVal: 3,
    imageSize: 48,
    seed: 11,
    numShards: 2,
  });
  assert.deepEqual(summary.files.train, [
    join(dir, 'train-00000-of-00002.tfrecord'),
    join(dir, 'train-00001-of-00002.tfrecord'),
  ]);
  assert.deepEqual(summary.files.val.length, 2);
  const decoder = new TfExampleDecoder();
  for (const split of ['train', 'val'] as const) {
    const seen = new Map<string, number>();
    for await (const rec of readTFRecords(summary.files[split])) {
      const ex = await decoder.decode(rec.data);
      const i = Number(ex.sourceId) - 1;
      const scene = shapeSceneAt(11, split, i, { imageSize: 48 });
      assert.equal(ex.height, 48);
      assert.deepEqual(ex.image!.data, scene.image, `${split} ${i}: PNG pixels`);
      assert.equal(ex.numInstances, scene.objects.length);
      scene.objects.forEach((o, k) => {
        const got = [...ex.boxes.subarray(4 * k, 4 * k + 4)];
        o.box.forEach((v, j) => assert.ok(Math.abs(got[j] - v / 48) < 1e-6, `${split} ${i} box`));
        assert.equal(ex.classes[k], o.label + 1);
        assert.equal(ex.areas[k], o.area);
        assert.equal(ex.isCrowd[k], false);
      });
      seen.set(ex.sourceId, (seen.get(ex.sourceId) ?? 0) + 1);
      summary.numObjects[split] -= scene.objects.length;
    }
    assert.equal(seen.size, summary.numExamples[split]);
    assert.equal(summary.numObjects[split], 0, 'object count matches');
  }
  const map = parsePbtxtLabelMap(readFileSync(summary.labelMapPath, 'utf8'));
  assert.deepEqual(
    [...map.entries()].map(([id, item]) => [id, item.name]),
    SHAPE_CLASS_NAMES.map((n, i) => [i + 1, n]),
  );
});

test('shapes-detection rejects a bad count before writing', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vg-shapes-det-'));
  await assert.rejects(
    shapesDetectionToTfRecord({ outputDir: dir, numTrain: 0, numVal: 1 }),
    /num_train must be a positive integer, got 0/,
  );
});
