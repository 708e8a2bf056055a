/**
 * MultilevelROIGenerator and the two-stage DetectionGenerator against values worked out by hand
 * (Model Garden roi_generator.py `_multilevel_propose_rois`, detection_generator.py
 * `DetectionGenerator`).
 *
 * Proposals: level 3 has 2×2 locations, one anchor each (row-major):
 *   a0 [0, 0, 10, 10] logit 2, a1 [0, 1, 10, 11] logit 3 (IoU with a0 = 90/110 ≈ 0.82),
 *   a2 [20, 20, 30, 30] logit 0 with codes (dy 0.1, dw ln 2) → centre y 26, width 20 →
 *   [21, 15, 31, 35], a3 [50, 50, 70, 70] logit −1, clipped to the 60×60 image → [50, 50, 60, 60];
 * level 4 has one location: b0 [5, 5, 55, 55] logit 1.
 * Scores are sigmoids: σ(3) 0.953, σ(2) 0.881, σ(1) 0.731, σ(0) 0.5, σ(−1) 0.269.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../src/core/backend/index.js';
import { MultilevelROIGenerator } from '../../../src/modeling/layers/roi_generator.js';
import { RCNNDetectionGenerator } from '../../../src/modeling/layers/rcnn_detection_generator.js';
import { assertClose } from '../../helpers.js';

await initBackend('cpu');

const sig = (x: number) => 1 / (1 + Math.exp(-x));

function rpnOutputs() {
  const scores = {
    '3': tf.tensor4d([2, 3, 0, -1], [1, 2, 2, 1]),
    '4': tf.tensor4d([1], [1, 1, 1, 1]),
  };
  const codes = [0, 0, 0, 0, 0, 0, 0, 0, 0.1, 0, 0, Math.log(2), 0, 0, 0, 0];
  const boxes = { '3': tf.tensor4d(codes, [1, 2, 2, 4]), '4': tf.zeros([1, 1, 1, 4]) };
  const anchors = {
    '3': tf.tensor3d([0, 0, 10, 10, 0, 1, 10, 11, 20, 20, 30, 30, 50, 50, 70, 70], [2, 2, 4]),
    '4': tf.tensor3d([5, 5, 55, 55], [1, 1, 4]),
  };
  return { scores, boxes, anchors, imageShape: tf.tensor2d([[60, 60]]) };
}

const A1 = [0, 1, 10, 11];
const A0 = [0, 0, 10, 10];
const A2 = [21, 15, 31, 35];
const A3 = [50, 50, 60, 60];
const B0 = [5, 5, 55, 55];

function propose(gen: MultilevelROIGenerator, training: boolean) {
  const { scores, boxes, anchors, imageShape } = rpnOutputs();
  const r = gen.apply(boxes, scores, anchors, imageShape, training);
  const out = { rois: r.rois.arraySync() as number[][][], scores: r.scores.dataSync() };
  tf.dispose([r.rois, r.scores, ...Object.values(scores), ...Object.values(boxes)]);
  tf.dispose([...Object.values(anchors), imageShape]);
  return out;
}

test('per-level decode, clip, NMS and the overall top-k; train and test settings', () => {
  const gen = new MultilevelROIGenerator({
    train: { numProposals: 2, preNmsTopK: 2000 },
    test: { numProposals: 3, preNmsTopK: 1000 },
  });
  // Test: level 3 keeps a1, a2, a3 (a0 suppressed by a1), level 4 keeps b0; the best 3 overall.
  const t = propose(gen, false);
  assertClose(t.rois[0].flat(), [...A1, ...B0, ...A2], { atol: 1e-4 });
  assertClose(t.scores, [sig(3), sig(1), sig(0)], { atol: 1e-6 });
  // Train: 2 proposals.
  const r = propose(gen, true);
  assertClose(r.rois[0].flat(), [...A1, ...B0], { atol: 1e-4 });
});

test('pre-NMS top-k per level, padding, and no NMS at threshold 0', () => {
  // Only the 2 best of level 3 (a1, a0) enter NMS: a0 is suppressed, the level pads with zeros;
  // 5 proposals leave room for the padding after b0.
  const topk = propose(
    new MultilevelROIGenerator({ test: { preNmsTopK: 2, numProposals: 5 } }),
    false,
  );
  assertClose(topk.rois[0].flat(), [...A1, ...B0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], {
    atol: 1e-4,
  });
  assertClose(topk.scores, [sig(3), sig(1), 0, 0, 0], { atol: 1e-6 });
  // Threshold 0: plain top-k, a0 stays.
  const noNms = propose(
    new MultilevelROIGenerator({ test: { nmsIouThreshold: 0, numProposals: 5 } }),
    false,
  );
  // σ(2) 0.881 of a0 ranks above b0's σ(1) 0.731.
  assertClose(noNms.rois[0].flat(), [...A1, ...A0, ...B0, ...A2, ...A3], { atol: 1e-4 });
});

test("Model Garden's tiled-NMS rules: a box clipped to all zeros is padding, IoU equal to the threshold suppresses", () => {
  // One level, 1×4 locations, one anchor each, zero codes (boxes = anchors), 60×60 image:
  //   z  [−20, −20, −10, −10] logit 3 → clipped to [0, 0, 0, 0]: padding, not a proposal;
  //   t0 [0, 0, 10, 10] logit 2; t1 [0, 0, 10, 7] logit 1: IoU 70 / 100 = 0.7 = the threshold,
  //   so t0 suppresses it; far [20, 20, 30, 30] logit 0.
  const T0 = [0, 0, 10, 10];
  const FAR = [20, 20, 30, 30];
  const run = (preNmsTopK: number) => {
    const gen = new MultilevelROIGenerator({
      test: { preNmsTopK, numProposals: 4, nmsIouThreshold: 0.7 },
    });
    const scores = { '3': tf.tensor4d([3, 2, 1, 0], [1, 1, 4, 1]) };
    const boxes = { '3': tf.zeros([1, 1, 4, 4]) };
    const anchors = {
      '3': tf.tensor3d([[[-20, -20, -10, -10, ...T0, 0, 0, 10, 7, ...FAR]]]),
    };
    const imageShape = tf.tensor2d([[60, 60]]);
    const r = gen.apply(boxes, scores, anchors, imageShape, false);
    const out = { rois: r.rois.dataSync(), scores: r.scores.dataSync() };
    tf.dispose([r.rois, r.scores, scores['3'], boxes['3'], anchors['3'], imageShape]);
    return out;
  };
  const all = run(1000);
  assertClose(all.rois, [...T0, ...FAR, 0, 0, 0, 0, 0, 0, 0, 0], { atol: 1e-5 });
  assertClose(all.scores, [sig(2), sig(0), 0, 0], { atol: 1e-6 });
  // pre_nms_top_k 2: the zero box still takes one of the 2 candidate places (MG's top_k runs
  // before its NMS), leaving t0 alone.
  const top2 = run(2);
  assertClose(top2.rois, [...T0, ...new Array(12).fill(0)], { atol: 1e-5 });
  assertClose(top2.scores, [sig(2), 0, 0, 0], { atol: 1e-6 });
});

test("scores saturate to 1 where TF's float32 sigmoid does, so those ties keep index order", () => {
  // Four disjoint level-3 anchors with logits 16.7, 17.5, 16.63553, 20. TensorFlow 2.21's
  // sigmoid (measured) is exactly 1 from 16.635532 up and 0.99999994 just below it, so Model
  // Garden's scores are [1, 1, 0.99999994, 1] and top_k orders the ties by index: 0, 1, 3, 2.
  // The correctly rounded sigmoid is 0.99999994 at 16.7 (it reaches 1 only at ~17.33), which
  // would order them 1, 3, 0, 2.
  const anchors = [0, 0, 10, 10, 0, 20, 10, 30, 20, 0, 30, 10, 20, 20, 30, 30];
  const gen = new MultilevelROIGenerator({ test: { numProposals: 4 } });
  const r = gen.apply(
    { '3': tf.zeros([1, 2, 2, 4]) },
    { '3': tf.tensor4d([16.7, 17.5, 16.63553, 20], [1, 2, 2, 1]) },
    { '3': tf.tensor3d(anchors, [2, 2, 4]) },
    tf.tensor2d([[40, 40]]),
    false,
  );
  const box = (i: number) => anchors.slice(4 * i, 4 * i + 4);
  assert.deepEqual(r.rois.arraySync(), [[box(0), box(1), box(3), box(2)]]);
  assert.deepEqual(Array.from(r.scores.dataSync()), [1, 1, 1, Math.fround(1 - 2 ** -24)]);
  tf.dispose([r.rois, r.scores]);
});

test('settings Model Garden has and this port does not are rejected by name', () => {
  assert.throws(
    () => new MultilevelROIGenerator({ useBatchedNms: true }),
    /roi_generator\.use_batched_nms/,
  );
  assert.throws(
    () => new MultilevelROIGenerator({ test: { preNmsMinSizeThreshold: 1 } }),
    /roi_generator\.test_pre_nms_min_size_threshold/,
  );
});

test('detection generator: softmax without background, per-class decode with weights, classes + 1', () => {
  // One RoI [0, 0, 10, 10], 3 classes; logits (0, ln 2, 0) → softmax (1/4, 1/2, 1/4).
  // Class 1 codes (1, 0, 0, 0) / weights [10, 10, 5, 5] → dy 0.1 → shifted 1 px down.
  const gen = new RCNNDetectionGenerator({ maxNumDetections: 3 });
  const rois = tf.tensor3d([[[0, 0, 10, 10]]]);
  const logits = tf.tensor3d([[[0, Math.log(2), 0]]]);
  const perClass = tf.tensor3d([[[9, 9, 9, 9, 1, 0, 0, 0, 0, 0, 0, 0]]]);
  const d = gen.apply(perClass, logits, rois, tf.tensor2d([[100, 100]]), [10, 10, 5, 5], true);
  assert.equal(d.num_detections!.dataSync()[0], 2);
  assertClose(d.detection_scores!.dataSync(), [0.5, 0.25, 0], { atol: 1e-6 });
  assert.deepEqual(Array.from(d.detection_classes!.dataSync().slice(0, 2)), [1, 2]);
  assertClose(d.detection_boxes!.dataSync().slice(0, 8), [1, 0, 11, 10, 0, 0, 10, 10], {
    atol: 1e-5,
  });
  // Class-agnostic boxes: one code for both classes.
  const agnostic = gen.apply(
    tf.tensor3d([[[1, 0, 0, 0]]]),
    logits,
    rois,
    tf.tensor2d([[100, 100]]),
    [10, 10, 5, 5],
    false,
  );
  assertClose(agnostic.detection_boxes!.dataSync().slice(0, 8), [1, 0, 11, 10, 1, 0, 11, 10], {
    atol: 1e-5,
  });
  assert.throws(
    () => gen.apply(tf.zeros([1, 1, 4]), logits, rois, null, null, true),
    /box outputs must be \[1, 1, 12\]/,
  );
  assert.throws(() => new RCNNDetectionGenerator({ softNmsSigma: 0.5 }), /soft_nms_sigma/);
});

test('detection generator v2 uses the tiled-NMS rules, v1 does not', () => {
  // RoIs r0 [0, 0, 10, 10], r1 [0, 0, 10, 20] (IoU 100 / 200 = 0.5, the threshold) and r2
  // [0, 0, 0, 0] (decodes to the zero box); zero codes, class-agnostic; logits (0, ln 4) for
  // each: softmax (1/5, 4/5), so every RoI scores 0.8 for class 1.
  const rois = tf.tensor3d([
    [
      [0, 0, 10, 10],
      [0, 0, 10, 20],
      [0, 0, 0, 0],
    ],
  ]);
  const logits = tf.tensor3d([
    [
      [0, Math.log(4)],
      [0, Math.log(4)],
      [0, Math.log(4)],
    ],
  ]);
  const codes = tf.zeros([1, 3, 4]);
  const shape = tf.tensor2d([[100, 100]]);
  const detect = (nmsVersion: string) => {
    const gen = new RCNNDetectionGenerator({ nmsVersion, maxNumDetections: 3 });
    const d = gen.apply(codes, logits, rois, shape, [10, 10, 5, 5], false);
    const out = {
      n: d.num_detections!.dataSync()[0],
      boxes: d.detection_boxes!.dataSync(),
      scores: d.detection_scores!.dataSync(),
    };
    tf.dispose(Object.values(d));
    return out;
  };
  const v2 = detect('v2');
  assert.equal(v2.n, 1);
  assertClose(v2.boxes, [0, 0, 10, 10, ...new Array(8).fill(0)], { atol: 1e-5 });
  assertClose(v2.scores, [0.8, 0, 0], { atol: 1e-6 });
  const v1 = detect('v1');
  assert.equal(v1.n, 3);
  assertClose(v1.boxes, [0, 0, 10, 10, 0, 0, 10, 20, 0, 0, 0, 0], { atol: 1e-5 });
  assertClose(v1.scores, [0.8, 0.8, 0.8], { atol: 1e-6 });
  tf.dispose([rois, logits, codes, shape]);
});

test("detection generator v2: each class's pre_nms_top_k candidates include its zero boxes, as Model Garden's", () => {
  // RoIs: z [0, 0, 0, 0], r1 [0, 0, 10, 10], r2 [50, 50, 60, 60]; zero per-class codes (boxes =
  // RoIs); logits (0, ln 9, 0), (0, ln 4, ln 2), (0, ln 2, ln 5) → softmax
  //   z (1/11, 9/11, 1/11), r1 (1/7, 4/7, 2/7), r2 (1/8, 2/8, 5/8).
  // pre_nms_top_k 2: class 1's candidates are z (9/11, padding) and r1 (4/7), so r2 (2/8) is not
  // one; class 2's are r2 (5/8) and r1 (2/7), both kept (disjoint).
  const rois = tf.tensor3d([
    [
      [0, 0, 0, 0],
      [0, 0, 10, 10],
      [50, 50, 60, 60],
    ],
  ]);
  const logits = tf.tensor3d([
    [
      [0, Math.log(9), 0],
      [0, Math.log(4), Math.log(2)],
      [0, Math.log(2), Math.log(5)],
    ],
  ]);
  const codes = tf.zeros([1, 3, 12]);
  const shape = tf.tensor2d([[100, 100]]);
  const gen = new RCNNDetectionGenerator({ preNmsTopK: 2, maxNumDetections: 5 });
  const d = gen.apply(codes, logits, rois, shape, [10, 10, 5, 5], true);
  assert.equal(d.num_detections!.dataSync()[0], 3);
  assertClose(d.detection_scores!.dataSync(), [5 / 8, 4 / 7, 2 / 7, 0, 0], { atol: 1e-6 });
  assert.deepEqual(Array.from(d.detection_classes!.dataSync().slice(0, 3)), [2, 1, 2]);
  assertClose(
    d.detection_boxes!.dataSync().slice(0, 12),
    [50, 50, 60, 60, 0, 0, 10, 10, 0, 0, 10, 10],
    { atol: 1e-5 },
  );
  tf.dispose([rois, logits, codes, shape, ...Object.values(d)]);
});
