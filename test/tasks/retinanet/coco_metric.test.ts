/**
 * The RetinaNet task's COCO metric: detections in the model's input frame are mapped back to the
 * original image with image_info and keyed by source_id. Detections equal to the ground truth
 * scaled by image_info's factor give AP 1; left in the input frame (unscaled) they miss.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../src/core/backend/index.js';
import type { RetinaNetOutputs } from '../../../src/modeling/models/retinanet_model.js';
import { CocoDetectionMetric } from '../../../src/tasks/retinanet/task.js';

await initBackend('cpu');

// Two images of 200x100 (h x w) resized by 0.5 into the input; 3 ground-truth slots, 1 padding.
const SCALE = 0.5;
const GT = [
  // [ymin, xmin, ymax, xmax] in original pixels, class
  [
    [10, 20, 70, 60, 1],
    [100, 10, 180, 90, 2],
  ],
  [[40, 40, 120, 80, 1]],
];

function batch(): Record<string, tf.Tensor> {
  const boxes = new Float32Array(2 * 3 * 4).fill(-1);
  const classes = new Int32Array(2 * 3).fill(-1);
  GT.forEach((rows, b) =>
    rows.forEach(([y0, x0, y1, x1, c], i) => {
      boxes.set([y0, x0, y1, x1], (b * 3 + i) * 4);
      classes[b * 3 + i] = c;
    }),
  );
  const info = [200, 100, 100, 50, SCALE, SCALE, 0, 0];
  return {
    image_info: tf.tensor3d([...info, ...info], [2, 4, 2]),
    'groundtruths/source_id': tf.tensor1d([11, 12], 'int32'),
    'groundtruths/height': tf.tensor1d([200, 200], 'int32'),
    'groundtruths/width': tf.tensor1d([100, 100], 'int32'),
    'groundtruths/boxes': tf.tensor3d(boxes, [2, 3, 4]),
    'groundtruths/classes': tf.tensor2d(classes, [2, 3], 'int32'),
    'groundtruths/areas': tf.tensor2d(new Float32Array(6).fill(-1), [2, 3]),
    'groundtruths/is_crowds': tf.tensor2d(new Int32Array(6), [2, 3], 'int32'),
  };
}

/** Detections = the ground truth times `factor` (input frame when factor is SCALE). */
function outputs(factor: number): RetinaNetOutputs {
  const k = 2;
  const boxes = new Float32Array(2 * k * 4);
  const classes = new Int32Array(2 * k);
  const scores = new Float32Array(2 * k);
  GT.forEach((rows, b) =>
    rows.forEach(([y0, x0, y1, x1, c], i) => {
      boxes.set(
        [y0, x0, y1, x1].map((v) => v * factor),
        (b * k + i) * 4,
      );
      classes[b * k + i] = c;
      scores[b * k + i] = 0.9;
    }),
  );
  return {
    cls_outputs: {},
    box_outputs: {},
    detection_boxes: tf.tensor3d(boxes, [2, k, 4]),
    detection_classes: tf.tensor2d(classes, [2, k], 'int32'),
    detection_scores: tf.tensor2d(scores, [2, k]),
    num_detections: tf.tensor1d([2, 1], 'int32'),
  };
}

test('detections are mapped back with image_info: exact boxes give AP 1', async () => {
  const metric = new CocoDetectionMetric(100);
  await metric.update(outputs(SCALE), batch());
  const r = metric.result();
  assert.equal(r.AP, 1);
  assert.equal(r.AP50, 1);
  metric.reset();
  assert.deepEqual(metric.result(), {});
});

test('boxes not in the input frame (unscaled) do not match', async () => {
  const metric = new CocoDetectionMetric(100);
  await metric.update(outputs(1), batch());
  assert.ok(metric.result().AP < 0.5);
});
