/**
 * mIoU against ../shared/data/miou-golden (numpy float64, cross-checked with keras MeanIoU):
 * confusion matrix, per-class IoU (null = excluded), mIoU, pixel accuracy, per-image mIoU; and
 * the tensor path (logits → argmax) including evaluation at the original resolution.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { sharedData } from '../helpers.js';
import { SegmentationMeanIoU } from '../../src/evaluation/segmentation.js';

interface Header {
  num_classes: number;
  images: { height: number; width: number; offset: number; num_bytes: number }[];
}
interface Expected {
  confusion_matrix_gt_rows_pred_cols: number[][];
  per_class_iou: (number | null)[];
  mIoU: number;
  pixel_accuracy: number;
  valid_pixels: number;
  per_image_mIoU_same_rule: { mIoU: number }[];
}

for (const c of ['case1', 'case2']) {
  test(`miou-golden ${c}: confusion matrix, per-class IoU, mIoU, accuracy, per-image mIoU`, () => {
    const dir = sharedData('miou-golden', c);
    const header = JSON.parse(readFileSync(`${dir}/header.json`, 'utf8')) as Header;
    const exp = JSON.parse(readFileSync(`${dir}/expected.json`, 'utf8')) as Expected;
    const gt = new Uint8Array(readFileSync(`${dir}/gt.bin`));
    const pred = new Uint8Array(readFileSync(`${dir}/pred.bin`));
    const metric = new SegmentationMeanIoU(header.num_classes);
    header.images.forEach((im, i) => {
      const g = gt.subarray(im.offset, im.offset + im.num_bytes);
      const p = pred.subarray(im.offset, im.offset + im.num_bytes);
      metric.updateLabels(g, p);
      const one = new SegmentationMeanIoU(header.num_classes);
      one.updateLabels(g, p);
      assert.ok(
        Math.abs(one.result().mean_iou - exp.per_image_mIoU_same_rule[i].mIoU) <= 1e-12,
        `image ${i}`,
      );
    });
    assert.deepEqual(Array.from(metric.confusion), exp.confusion_matrix_gt_rows_pred_cols.flat());
    const r = metric.result();
    assert.equal(r.valid_pixels, exp.valid_pixels);
    r.per_class_iou.forEach((v, k) => {
      const e = exp.per_class_iou[k];
      if (e === null) assert.equal(v, null, `class ${k}`);
      else assert.ok(v !== null && Math.abs(v - e) <= 1e-12, `class ${k}: ${v} vs ${e}`);
    });
    assert.ok(Math.abs(r.mean_iou - exp.mIoU) <= 1e-12, `${r.mean_iou} vs ${exp.mIoU}`);
    assert.ok(Math.abs(r.pixel_accuracy - exp.pixel_accuracy) <= 1e-12);
  });
}

test('tensor path: one-hot logits of the golden predictions give the golden mIoU', async () => {
  await tf.setBackend('cpu');
  const dir = sharedData('miou-golden', 'case1');
  const header = JSON.parse(readFileSync(`${dir}/header.json`, 'utf8')) as Header;
  const exp = JSON.parse(readFileSync(`${dir}/expected.json`, 'utf8')) as Expected;
  const gt = new Uint8Array(readFileSync(`${dir}/gt.bin`));
  const pred = new Uint8Array(readFileSync(`${dir}/pred.bin`));
  const metric = new SegmentationMeanIoU(21);
  const [{ height: H, width: W }] = header.images;
  const B = header.images.length; // all 64x64
  const logits = tf.cast(
    tf.oneHot(tf.tensor3d(Int32Array.from(pred), [B, H, W], 'int32'), 21),
    'float32',
  ) as tf.Tensor4D;
  const masks = tf.tensor4d(Int32Array.from(gt), [B, H, W, 1], 'int32');
  await metric.update(logits, masks);
  tf.dispose([logits, masks]);
  assert.ok(Math.abs(metric.result().mean_iou - exp.mIoU) <= 1e-12);
});

test('original-resolution evaluation undoes image_info scaling and offset', async () => {
  await tf.setBackend('cpu');
  // Original 4x4 image, class 1 in the right half; the model saw it scaled 2x into 8x8 and
  // predicts exactly that. GT masks are padded to 5x5 with 255 outside the image.
  const gt = [
    0, 0, 1, 1, 255, 0, 0, 1, 1, 255, 0, 0, 1, 1, 255, 0, 0, 1, 1, 255, 255, 255, 255, 255, 255,
  ];
  const logitsData: number[] = [];
  for (let y = 0; y < 8; y++)
    for (let x = 0; x < 8; x++) logitsData.push(x >= 4 ? 0 : 5, x >= 4 ? 5 : 0);
  const logits = tf.tensor4d(logitsData, [1, 8, 8, 2]);
  const masks = tf.tensor4d(gt, [1, 5, 5, 1]);
  const info = tf.tensor3d([
    [
      [4, 4],
      [8, 8],
      [2, 2],
      [0, 0],
    ],
  ]);
  const m = new SegmentationMeanIoU(2, { rescalePredictions: true });
  await m.update(logits, masks, info);
  assert.deepEqual(Array.from(m.confusion), [8, 0, 0, 8]);
  assert.equal(m.result().mean_iou, 1);
  // Without rescaling the 8x8 logits are squeezed onto the 5x5 mask: no longer perfect.
  const m2 = new SegmentationMeanIoU(2);
  await m2.update(logits, masks);
  assert.ok(m2.result().mean_iou < 1);
  tf.dispose([logits, masks, info]);
  assert.throws(() => m.updateLabels([3], [0]), /ground-truth label 3 at pixel 0 is outside 0..1/);
});
