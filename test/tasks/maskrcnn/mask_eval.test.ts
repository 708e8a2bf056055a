/**
 * Mask AP in MaskRCNNTask's evaluation, against pycocotools: the ground truth (polygons, written
 * to a TFRecord with masks by `data coco-to-tfrecord --include_masks`'s converter) is scanned
 * back from validation_data's records at full resolution, or read from `annotation_file`;
 * detections in the model's input frame (image_info scale 0.5) with 28x28 masks go through the
 * task's metric, which rescales the boxes, pastes the masks at the original size, binarizes at
 * 0.5 and RLE-encodes them. Perfect detections give box and mask AP 1.0; shifted masks give the
 * values pycocotools computes for Model Garden's pasted masks
 * (test/fixtures/maskrcnn_eval/make_golden.py).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '../../../src/tasks/index.js';
import { initBackend } from '../../../src/core/backend/index.js';
import { getExperiment } from '../../../src/core/registry.js';
import { cocoToTfRecord } from '../../../src/data/converters/coco.js';
import { cocoInstancesFromTfRecords } from '../../../src/data/converters/tfrecord_to_coco.js';
import { encodePng } from '../../../src/data/decoders/image.js';
import { MaskRCNNTask, type MaskRCNNExperimentConfig } from '../../../src/tasks/maskrcnn/index.js';
import { REPO_ROOT } from '../../helpers.js';

interface Detection {
  image_id: number;
  category_id: number;
  box: [number, number, number, number];
  score: number;
  mask: number[][];
}
interface Golden {
  gt: {
    images: { id: number; file_name: string; height: number; width: number }[];
    annotations: { id: number; image_id: number; bbox: number[]; area: number }[];
  };
  cases: Record<
    'perfect' | 'shifted',
    { detections: Detection[]; image_ids: number[]; expected: Record<string, number> }
  >;
}

await initBackend('cpu');

const golden = JSON.parse(
  readFileSync(`${REPO_ROOT}/test/fixtures/maskrcnn_eval/golden.json`, 'utf8'),
) as Golden;
const SCALE = 0.5;
const K = 4; // detection slots per image (padded beyond num_detections)

/** Writes the golden images and annotations, converts them to a TFRecord with masks. */
async function writeRecords(dir: string): Promise<{ records: string; annotations: string }> {
  for (const im of golden.gt.images) {
    const data = new Uint8Array(im.height * im.width * 3).fill(90);
    writeFileSync(
      join(dir, im.file_name),
      await encodePng({ data, height: im.height, width: im.width, channels: 3 }),
    );
  }
  const annotations = join(dir, 'gt.json');
  writeFileSync(annotations, JSON.stringify(golden.gt));
  await cocoToTfRecord({
    annotationsPath: annotations,
    imagesDir: dir,
    outputPrefix: join(dir, 'val'),
    numShards: 2,
    includeMasks: true,
  });
  return { records: join(dir, 'val-*'), annotations };
}

function task(overrides: Partial<MaskRCNNExperimentConfig['task']>): MaskRCNNTask {
  const base = (getExperiment('maskrcnn_resnetfpn_coco').factory() as MaskRCNNExperimentConfig)
    .task;
  return new MaskRCNNTask({ ...base, ...overrides });
}

/** Runs a golden case through the task's metric, one image per batch. */
async function evaluateCase(t: MaskRCNNTask, name: 'perfect' | 'shifted') {
  const c = golden.cases[name];
  const [metric] = t.buildMetrics(false);
  for (const id of c.image_ids) {
    const im = golden.gt.images.find((i) => i.id === id)!;
    const dets = c.detections.filter((d) => d.image_id === id);
    assert.ok(dets.length <= K);
    const boxes = new Float32Array(K * 4);
    const classes = new Float32Array(K);
    const scores = new Float32Array(K);
    const masks = new Float32Array(K * 28 * 28).fill(1); // padding slots: ignored
    dets.forEach((d, k) => {
      const [x, y, w, h] = d.box;
      boxes.set([y * SCALE, x * SCALE, (y + h) * SCALE, (x + w) * SCALE], 4 * k);
      classes[k] = d.category_id;
      scores[k] = d.score;
      masks.set(d.mask.flat(), k * 28 * 28);
    });
    const outputs = {
      detection_boxes: tf.tensor3d(boxes, [1, K, 4]),
      detection_classes: tf.tensor2d(classes, [1, K]),
      detection_scores: tf.tensor2d(scores, [1, K]),
      num_detections: tf.tensor1d([dets.length], 'int32'),
      detection_masks: tf.tensor4d(masks, [1, K, 28, 28]),
    };
    const batch = {
      'groundtruths/source_id': tf.tensor1d([id], 'int32'),
      image_info: tf.tensor3d(
        [im.height, im.width, im.height * SCALE, im.width * SCALE, SCALE, SCALE, 0, 0],
        [1, 4, 2],
      ),
    };
    await metric.update(outputs as never, batch);
    tf.dispose([...Object.values(outputs), ...Object.values(batch)]);
  }
  return metric.result();
}

function assertMetrics(
  got: Record<string, number>,
  expected: Record<string, number>,
  what: string,
) {
  assert.deepEqual(Object.keys(got).sort(), Object.keys(expected).sort(), what);
  for (const [k, v] of Object.entries(expected)) {
    assert.ok(Math.abs(got[k] - v) <= 1e-12, `${what}: ${k} = ${got[k]}, pycocotools ${v}`);
  }
}

test('the ground truth scanned from TFRecords has full-resolution RLE masks and the records values', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vg-mask-eval-'));
  try {
    const { records } = await writeRecords(dir);
    const ds = await cocoInstancesFromTfRecords(records, { includeMask: true });
    assert.deepEqual(
      ds.images.map((i) => i.id).sort(),
      golden.gt.images.map((i) => i.id),
    );
    assert.deepEqual(ds.categories, [{ id: 1 }, { id: 2 }]);
    assert.equal(ds.annotations.length, golden.gt.annotations.length);
    for (const a of ds.annotations) {
      const g = golden.gt.annotations.find(
        (x) => x.image_id === a.image_id && Math.abs(x.bbox[0] - a.bbox[0]) < 1e-3,
      )!;
      assert.ok(g, `annotation of image ${a.image_id} at x ${a.bbox[0]}`);
      a.bbox.forEach((v, i) => assert.ok(Math.abs(v - g.bbox[i]) < 1e-3));
      assert.equal(a.area, g.area);
      const im = golden.gt.images.find((i) => i.id === a.image_id)!;
      assert.deepEqual(a.segmentation?.size, [im.height, im.width]);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('mask AP through the task: perfect masks give 1.0, shifted masks the pycocotools values', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vg-mask-eval-'));
  try {
    const { records, annotations } = await writeRecords(dir);
    const base = (getExperiment('maskrcnn_resnetfpn_coco').factory() as MaskRCNNExperimentConfig)
      .task.validation_data;
    const scanned = task({ validation_data: { ...base, input_path: records } });
    const perfect = await evaluateCase(scanned, 'perfect');
    assert.equal(perfect.AP, 1);
    assert.equal(perfect.mask_AP, 1);
    assertMetrics(perfect, golden.cases.perfect.expected, 'perfect (scanned ground truth)');
    const shifted = await evaluateCase(scanned, 'shifted');
    assert.ok(shifted.mask_AP < 0.9 && shifted.AP === 1);
    assertMetrics(shifted, golden.cases.shifted.expected, 'shifted (scanned ground truth)');
    // The same through annotation_file (polygons rasterised by the evaluator).
    const fromFile = task({
      annotation_file: annotations,
      validation_data: { ...base, input_path: join(dir, 'absent-*') },
    });
    assertMetrics(
      await evaluateCase(fromFile, 'shifted'),
      golden.cases.shifted.expected,
      'shifted (annotation_file)',
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a missing annotation_file is reported by name on the first update', async () => {
  const t = task({ annotation_file: '/nonexistent/instances_val.json' });
  await assert.rejects(evaluateCase(t, 'perfect'), /\/nonexistent\/instances_val\.json/);
});
