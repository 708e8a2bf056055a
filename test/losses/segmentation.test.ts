/**
 * Model Garden's segmentation loss: its own test values (top-k, ignore label 0) and hand-derived
 * cases for each option.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/core/backend/index.js';
import { segmentationLoss } from '../../src/losses/segmentation.js';
import { assertClose } from '../helpers.js';

await initBackend('cpu');

const EPS = 1e-5;
const L = (shape: number[], v: number[]) =>
  tf.tensor4d(v, shape as [number, number, number, number]);

// segmentation_losses_test.py testSegmentationLossTopK / ...WithIgnoreLabel.
const mgLabels = () => L([1, 2, 2, 1], [0, 0, 0, 2]);
const mgLogits = () => L([1, 2, 2, 3], [100, 0, 0, 100, 0, 0, 100, 0, 0, 0, 1, 0]);

test("Model Garden's top-k test values: 0.775718, and 1.551429 with ignore_label 0", () => {
  const a = segmentationLoss(mgLogits(), mgLabels(), { topKPercentPixels: 0.5 });
  assertClose([a.dataSync()[0]], [0.775718], { atol: 1e-4 });
  const b = segmentationLoss(mgLogits(), mgLabels(), { topKPercentPixels: 0.5, ignoreLabel: 0 });
  assertClose([b.dataSync()[0]], [1.551429], { atol: 1e-4 });
  // All pixels (top-k off): the one non-zero pixel, log(2 + e), over 4 valid pixels.
  const c = segmentationLoss(mgLogits(), mgLabels());
  assertClose([c.dataSync()[0]], [Math.log(2 + Math.E) / (4 + EPS)], { rtol: 1e-5 });
});

test('ignored pixels count neither in the sum nor in the normaliser', () => {
  const loss = segmentationLoss(L([1, 1, 2, 2], [0, 0, Math.log(3), 0]), L([1, 1, 2, 1], [0, 255]));
  assertClose([loss.dataSync()[0]], [Math.LN2 / (1 + EPS)], { rtol: 1e-5 });
});

test('label smoothing: targets (0.9, 0.1) at eps 0.2 over 2 classes', () => {
  const loss = segmentationLoss(L([1, 1, 1, 2], [Math.log(3), 0]), L([1, 1, 1, 1], [0]), {
    labelSmoothing: 0.2,
  });
  const want = -(0.9 * Math.log(0.75) + 0.1 * Math.log(0.25)) / (1 + EPS);
  assertClose([loss.dataSync()[0]], [want], { rtol: 1e-5 });
});

test('class weights scale each pixel by its class weight, not the normaliser', () => {
  const loss = segmentationLoss(L([1, 1, 2, 2], [0, 0, 0, 0]), L([1, 1, 2, 1], [0, 1]), {
    classWeights: [1, 3],
  });
  assertClose([loss.dataSync()[0]], [(4 * Math.LN2) / (2 + EPS)], { rtol: 1e-5 });
  assert.throws(
    () => segmentationLoss(L([1, 1, 1, 2], [0, 0]), L([1, 1, 1, 1], [0]), { classWeights: [1] }),
    /losses\.class_weights has 1 values/,
  );
});

test('use_groundtruth_dimension: logits resized up, or labels resized (nearest) down', () => {
  // A 1x1 logit map resizes to a constant 2x2 map: every pixel has CE log(1 + e) for label 0.
  const up = segmentationLoss(L([1, 1, 1, 2], [0, 1]), L([1, 2, 2, 1], [0, 0, 0, 0]));
  assertClose([up.dataSync()[0]], [(4 * Math.log(1 + Math.E)) / (4 + EPS)], { rtol: 1e-5 });
  // Labels 2x4 -> 1x2 nearest (half-pixel): row floor(0.5 * 2) = 1, columns 1 and 3.
  const labels = L([1, 2, 4, 1], [1, 1, 1, 1, 255, 0, 255, 255]);
  const down = segmentationLoss(L([1, 1, 2, 2], [0, 0, 0, 0]), labels, {
    useGroundtruthDimension: false,
  });
  assertClose([down.dataSync()[0]], [Math.LN2 / (1 + EPS)], { rtol: 1e-5 });
});

test('binary cross-entropy: per class, normalised by valid pixels x classes', () => {
  // logits (1, -1), label 0: targets (1, 0); both terms are log(1 + e^-1).
  const loss = segmentationLoss(L([1, 1, 1, 2], [1, -1]), L([1, 1, 1, 1], [0]), {
    useBinaryCrossEntropy: true,
  });
  assertClose([loss.dataSync()[0]], [(2 * Math.log(1 + Math.exp(-1))) / (2 + EPS)], {
    rtol: 1e-5,
  });
});

test('gradient of the softmax loss: (softmax - onehot) / valid count on valid pixels only', () => {
  const logits = L([1, 1, 2, 2], [0, 0, Math.log(3), 0]);
  const labels = L([1, 1, 2, 1], [1, 255]);
  const g = tf.grad((x: tf.Tensor) => segmentationLoss(x as tf.Tensor4D, labels))(logits);
  const n = 1 + EPS;
  assertClose(g.dataSync(), [0.5 / n, -0.5 / n, 0, 0], { atol: 1e-6 });
});
