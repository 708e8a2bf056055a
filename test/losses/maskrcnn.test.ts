/**
 * Mask R-CNN losses (src/losses/maskrcnn.ts) against values computed by hand from Model Garden's
 * formulas (official/vision/losses/maskrcnn_losses.py).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/core/backend/index.js';
import {
  fastrcnnBoxLoss,
  fastrcnnClassLoss,
  maskrcnnLoss,
  rpnBoxLoss,
  rpnScoreLoss,
} from '../../src/losses/maskrcnn.js';

await initBackend('cpu');

const bce = (x: number, z: number) => Math.max(x, 0) - x * z + Math.log1p(Math.exp(-Math.abs(x)));
const close = (a: number, b: number, tol = 1e-5) =>
  assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${a} vs ${b}`);

test('rpnScoreLoss: BCE over targets 0/1 (−1 ignored), / (batch · normalizer), summed over levels', () => {
  // Level 2: [1, 1, 2, 1]; level 3: [1, 1, 1, 1].
  const scores = { '2': tf.tensor4d([[[[2], [-1]]]]), '3': tf.tensor4d([[[[0.5]]]]) };
  const targets = { '2': tf.tensor4d([[[[1], [-1]]]]), '3': tf.tensor4d([[[[0]]]]) };
  const got = rpnScoreLoss(scores, targets, 4).dataSync()[0];
  close(got, bce(2, 1) / 4 + bce(0.5, 0) / 4);
});

test('rpnBoxLoss: Huber over anchors with a non-zero target, / (4·count + 0.01)', () => {
  // One level [1, 1, 1, 8]: anchor 0 target (0.1, 0, 0, −0.2), anchor 1 all zero (ignored).
  const t = tf.tensor4d([[[[0.1, 0, 0, -0.2, 0, 0, 0, 0]]]]);
  const o = tf.tensor4d([[[[0.3, 0, 0.05, -0.2, 5, 5, 5, 5]]]]);
  const d = 1 / 9;
  // |e| = 0.2 > d: d·0.2 − d²/2; 0.05 ≤ d: 0.5·0.05².
  const expected = (d * 0.2 - 0.5 * d * d + 0.5 * 0.05 * 0.05) / (4 + 0.01);
  close(rpnBoxLoss({ '2': o }, { '2': t }, d).dataSync()[0], expected);
});

test('fastrcnnClassLoss: softmax CE mean over all RoIs; sigmoid and top-k variants', () => {
  const logits = tf.tensor3d([
    [
      [1, 2, 0],
      [0, 0, 3],
    ],
  ]);
  const targets = tf.tensor2d([[1, 0]]);
  const lse = (v: number[]) => Math.log(v.reduce((s, x) => s + Math.exp(x), 0));
  const ce0 = lse([1, 2, 0]) - 2;
  const ce1 = lse([0, 0, 3]) - 0;
  close(fastrcnnClassLoss(logits, targets).dataSync()[0], (ce0 + ce1) / 2);
  const sig = (bce(1, 0) + bce(2, 1) + bce(0, 0) + bce(0, 1) + bce(0, 0) + bce(3, 0)) / 6;
  close(fastrcnnClassLoss(logits, targets, true).dataSync()[0], sig);
  close(fastrcnnClassLoss(logits, targets, false, 0.5).dataSync()[0], ce1 / (1 + 1e-5));
});

test('fastrcnnBoxLoss: the target class box of foreground RoIs, / (4·fg + 0.01)', () => {
  // 2 RoIs, 2 classes: RoI 0 class 1 (uses outputs 4..7), RoI 1 background.
  const outputs = tf.tensor3d([
    [
      [9, 9, 9, 9, 0.5, 0, 0, 2],
      [7, 7, 7, 7, 7, 7, 7, 7],
    ],
  ]);
  const classes = tf.tensor2d([[1, 0]]);
  const targets = tf.tensor3d([
    [
      [0, 0, 0, 0],
      [1, 1, 1, 1],
    ],
  ]);
  // |e| 0.5 → 0.125; |e| 2 → 2 − 0.5 = 1.5.
  close(fastrcnnBoxLoss(outputs, classes, targets, 1, false).dataSync()[0], 1.625 / 4.01);
  // Class-agnostic: outputs [B, N, 4] taken as they are.
  const agnostic = tf.tensor3d([
    [
      [0.5, 0, 0, 2],
      [7, 7, 7, 7],
    ],
  ]);
  close(fastrcnnBoxLoss(agnostic, classes, targets, 1, true).dataSync()[0], 1.625 / 4.01);
});

test('maskrcnnLoss: BCE of foreground masks, / (fg · S² + 0.01)', () => {
  const logits = tf.tensor4d([
    [
      [
        [1, -1],
        [0, 2],
      ],
      [
        [5, 5],
        [5, 5],
      ],
    ],
  ]);
  const targets = tf.tensor4d([
    [
      [
        [1, 0],
        [0.5, 1],
      ],
      [
        [0, 0],
        [0, 0],
      ],
    ],
  ]);
  const classes = tf.tensor2d([[3, 0]]);
  const sum = bce(1, 1) + bce(-1, 0) + bce(0, 0.5) + bce(2, 1);
  close(maskrcnnLoss(logits, targets, classes).dataSync()[0], sum / 4.01);
});
