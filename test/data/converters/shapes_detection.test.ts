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

test('shapes-detection with includeMasks writes each shape as image/object/mask', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vg-shapes-det-masks-'));
  const size = 40;
  const summary = await shapesDetectionToTfRecord({
    outputDir: dir,
    numTrain: 4,
    numVal: 1,
    imageSize: size,
    seed: 3,
    includeMasks: true,
  });
  const decoder = new TfExampleDecoder({ includeMask: true });
  let objects = 0;
  for await (const rec of readTFRecords(summary.files.train)) {
    const ex = await decoder.decode(rec.data);
    const i = Number(ex.sourceId) - 1;
    const scene = shapeSceneAt(3, 'train', i, { imageSize: size });
    assert.equal(ex.masksPng!.length, scene.objects.length);
    const plane = size * size;
    scene.objects.forEach((o, k) => {
      const mask = ex.masks!.subarray(k * plane, (k + 1) * plane);
      // The mask's pixel count and tight box are the painted shape's area and box, and every
      // mask pixel lies on the shape's clean colour (noise is at most 8 per channel).
      let area = 0;
      const box = [size, size, -1, -1];
      for (let y = 0; y < size; y++) {
        for (let x = 0; x < size; x++) {
          const v = mask[y * size + x];
          assert.ok(v === 0 || v === 1, 'binary mask');
          if (!v) continue;
          area++;
          box[0] = Math.min(box[0], y);
          box[1] = Math.min(box[1], x);
          box[2] = Math.max(box[2], y + 1);
          box[3] = Math.max(box[3], x + 1);
          for (let c = 0; c < 3; c++) {
            const got = scene.image[3 * (y * size + x) + c];
            assert.ok(Math.abs(got - o.params.foreground[c]) <= 8, `${i}/${k} pixel colour`);
          }
        }
      }
      assert.equal(area, o.area, `${i}/${k} mask area`);
      assert.deepEqual(box, o.box, `${i}/${k} mask box`);
      objects++;
    });
  }
  assert.equal(objects, summary.numObjects.train);
  // Without includeMasks no mask feature is written.
  const plain = await shapesDetectionToTfRecord({
    outputDir: mkdtempSync(join(tmpdir(), 'vg-shapes-det-plain-')),
    numTrain: 1,
    numVal: 1,
    imageSize: size,
    seed: 3,
  });
  for await (const rec of readTFRecords(plain.files.train)) {
    await assert.rejects(decoder.decode(rec.data), /image\/object\/mask/);
  }
});
