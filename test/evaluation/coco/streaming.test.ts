/**
 * Streaming evaluator: batches in the model's input frame (boxes scaled by image_info) give the
 * pycocotools golden statistics once mapped back; results.json is readable by the evaluator;
 * masks are pasted at image size; bad entries are rejected by name.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sharedData } from '../../helpers.js';
import { CocoGroundTruth, type CocoResult } from '../../../src/evaluation/coco/dataset.js';
import { CocoEval } from '../../../src/evaluation/coco/cocoeval.js';
import { CocoStreamingEvaluator } from '../../../src/evaluation/coco/streaming.js';
import { decodeMask, pasteInstanceMask, segmentationToRle } from '../../../src/ops/masks/index.js';

const dir = sharedData('coco-eval-golden', 'case1');

test('case1 bbox through batches with image_info scaling equals the pycocotools golden', () => {
  const gt = CocoGroundTruth.fromFile(`${dir}/gt.json`);
  const dets = JSON.parse(readFileSync(`${dir}/bbox/dt.json`, 'utf8')) as CocoResult[];
  const exp = JSON.parse(readFileSync(`${dir}/bbox/expected.json`, 'utf8')) as { stats: number[] };
  const ev = new CocoStreamingEvaluator({ groundTruth: gt, perCategoryMetrics: true });
  // One image per batch entry, padded to K = 8 slots; scale (0.5, 0.25) is exact in binary.
  const K = 8;
  const [sy, sx] = [0.5, 0.25];
  const ids = [...new Set(dets.map((d) => d.image_id as number))];
  for (const [bi, batchIds] of [[ids[0], ids[1]], [ids[2]]].entries()) {
    const B = batchIds.length;
    const boxes = new Float64Array(B * K * 4);
    const classes = new Float64Array(B * K);
    const scores = new Float64Array(B * K);
    const imageInfo = new Float64Array(B * 8);
    const num: number[] = [];
    batchIds.forEach((id, b) => {
      const im = gt.dataset.images.find((i) => i.id === id)!;
      imageInfo.set([im.height, im.width, im.height * sy, im.width * sx, sy, sx, 0, 0], b * 8);
      const mine = dets.filter((d) => d.image_id === id);
      num.push(mine.length);
      mine.forEach((d, k) => {
        const [x, y, w, h] = d.bbox!;
        boxes.set([y * sy, x * sx, (y + h) * sy, (x + w) * sx], (b * K + k) * 4);
        classes[b * K + k] = d.category_id;
        scores[b * K + k] = d.score;
      });
    });
    assert.ok(bi >= 0);
    ev.update({ sourceIds: batchIds, boxes, classes, scores, numDetections: num, imageInfo });
  }
  const m = ev.evaluate();
  [
    'AP',
    'AP50',
    'AP75',
    'APs',
    'APm',
    'APl',
    'ARmax1',
    'ARmax10',
    'ARmax100',
    'ARs',
    'ARm',
    'ARl',
  ].forEach((name, i) =>
    assert.ok(Math.abs(m[name] - exp.stats[i]) <= 1e-9, `${name}: ${m[name]} vs ${exp.stats[i]}`),
  );
  const perCat = JSON.parse(readFileSync(`${dir}/bbox/expected.json`, 'utf8'))[
    'per_category_AP_0.50:0.95_all_100'
  ] as Record<string, number>;
  assert.ok(Math.abs(m['Precision mAP ByCategory/person'] - perCat['1']) <= 1e-9);
  assert.ok(Math.abs(m['Precision mAP ByCategory/dog'] - perCat['3']) <= 1e-9);
  // results.json round trip through the file-based evaluator.
  const out = join(mkdtempSync(join(tmpdir(), 'vg-stream-')), 'results.json');
  ev.writeResults(out);
  const again = new CocoEval(gt, gt.loadResultsFile(out), 'bbox').run();
  again.forEach((s, i) => assert.ok(Math.abs(s - exp.stats[i]) <= 1e-9));
  ev.reset();
  assert.equal(ev.cocoResults().length, 0);
});

test('masks are pasted at image size: an all-ones 4x4 mask over box [2, 1, 4, 4]', () => {
  // Hand derivation: scale = max(6/4, 6/4) = 1.5 expands the box to x 1..7, y 0..6 (truncated),
  // 7 px each way (MG's inclusive "+1"). The zero-padded 6x6 mask is resized to 7x7: output
  // pixel i samples source (i + 0.5) * 6/7 - 0.5, i.e. -0.07 (clamped → 0: value 0),
  // 0.79 (0.79 > 0.5), ..., 4.21 (src[4]*0.79 = 0.79), 5.07 (clamped → src[5] = 0): pixels 1..5
  // of the 7 are on, i.e. image x 2..6 and y 1..5.
  const pasted = pasteInstanceMask(new Float32Array(16).fill(1), 4, 4, [2, 1, 4, 4], 8, 10);
  const on: string[] = [];
  pasted.forEach((v, i) => v && on.push(`${Math.floor(i / 10)},${i % 10}`));
  const expected: string[] = [];
  for (let y = 1; y <= 5; y++) for (let x = 2; x <= 6; x++) expected.push(`${y},${x}`);
  assert.deepEqual(on, expected);
});

test('streamed masks become RLE results on the GT canvas; bad entries are named', () => {
  const gt = CocoGroundTruth.fromFile(`${dir}/gt.json`);
  const ev = new CocoStreamingEvaluator({
    groundTruth: gt,
    includeMask: true,
    rescaleBoxes: false,
  });
  ev.update({
    sourceIds: [2],
    boxes: [10, 20, 30, 60],
    classes: [1],
    scores: [0.9],
    masks: new Float32Array(4).fill(1),
    maskSize: [2, 2],
  });
  const [r] = ev.cocoResults();
  assert.deepEqual(r.bbox, [20, 10, 40, 20]);
  const rle = segmentationToRle(r.segmentation, 240, 320, 'streamed');
  const m = decodeMask(rle);
  assert.equal(m[15 * 320 + 40], 1);
  assert.equal(m[5 * 320 + 40], 0);
  assert.ok(Number.isFinite(ev.evaluate().mask_AP));
  assert.throws(
    () =>
      ev.update({
        sourceIds: [42],
        boxes: [0, 0, 1, 1],
        classes: [1],
        scores: [0.5],
        masks: [1],
        maskSize: [1, 1],
      }),
    /source_id 42 is not in the ground truth/,
  );
  // As pycocotools: a NaN score is kept (ranked last) and a class outside the ground truth's
  // categories is dropped.
  const before = ev.cocoResults().length;
  ev.update({
    sourceIds: [2],
    boxes: [0, 0, 1, 1, 0, 0, 1, 1],
    classes: [1, 5],
    scores: [NaN, 0.5],
    masks: [1, 1],
    maskSize: [1, 1],
  });
  const added = ev.cocoResults().slice(before);
  assert.equal(added.length, 1);
  assert.equal(added[0].category_id, 1);
  assert.ok(Number.isNaN(added[0].score));
});
