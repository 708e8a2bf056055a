import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/core/backend/index.js';
import { l2Regularization } from '../../src/losses/l2.js';
import { multiLevelFlatten, retinanetLosses } from '../../src/losses/retinanet.js';
import { assertClose } from '../helpers.js';

await initBackend('cpu');

const LN3 = Math.log(3);

test('multiLevelFlatten concatenates levels in increasing order as [B, -1, last_dim]', () => {
  const out = multiLevelFlatten(
    { '4': tf.tensor4d([5, 6, 7, 8], [1, 1, 1, 4]), '3': tf.tensor4d([1, 2, 3, 4], [1, 1, 2, 2]) },
    2,
  );
  assert.deepEqual(out.shape, [1, 4, 2]);
  assert.deepEqual(Array.from(out.dataSync()), [1, 2, 3, 4, 5, 6, 7, 8]);
  out.dispose();
});

test('RetinaNet losses equal a hand computation (focal, Huber, positives + 1, weights, l2)', () => {
  // Three anchors over two levels (level 3: one location, level 4: two), 2 classes, 1 anchor
  // per location. Anchor 0 is positive (class 1), anchor 1 background (−1), anchor 2 ignored (−2,
  // class weight 0). num_positives = Σ box_weights + 1 = 2.
  const clsOutputs = {
    '3': tf.tensor4d([0, LN3], [1, 1, 1, 2]),
    '4': tf.tensor4d([-LN3, 0, 5, -5], [1, 1, 2, 2]),
  };
  const clsTargets = {
    '3': tf.tensor4d([1], [1, 1, 1, 1], 'int32'),
    '4': tf.tensor4d([-1, -2], [1, 1, 2, 1], 'int32'),
  };
  const boxOutputs = {
    '3': tf.tensor4d([0.15, 0, 0.1, 0], [1, 1, 1, 4]),
    '4': tf.tensor4d([1, 1, 1, 1, 2, 2, 2, 2], [1, 1, 2, 4]),
  };
  const boxTargets = {
    '3': tf.tensor4d([0.1, 0, 0.3, 0], [1, 1, 1, 4]),
    '4': tf.zeros([1, 1, 2, 4]),
  };
  const clsWeights = tf.tensor2d([[1, 1, 0]]);
  const boxWeights = tf.tensor2d([[1, 0, 0]]);
  const kernel = tf.tensor2d([[1, 2]]);
  const regularization = l2Regularization([kernel], 0.1); // 0.1 / 2 · (1 + 4) = 0.25

  // Focal terms (α 0.25, γ 1.5): probability p = σ(x); for a positive (1 − p)^γ · α · ln(1/p),
  // for a negative p^γ · (1 − α) · ln(1/(1 − p)). σ(0) = 1/2, σ(ln 3) = 3/4, σ(−ln 3) = 1/4.
  const a = 0.25;
  const g = 1.5;
  const anchor0 = (1 - a) * 0.5 ** g * Math.log(2) + a * 0.25 ** g * Math.log(4 / 3);
  const anchor1 = (1 - a) * 0.25 ** g * Math.log(4 / 3) + (1 - a) * 0.5 ** g * Math.log(2);
  const clsLoss = (anchor0 + anchor1) / 2;
  // Huber δ 0.1 on anchor 0: errors 0.05 → ½·0.05² = 0.00125; 0.2 → 0.1·0.2 − ½·0.1² = 0.015;
  // mean over 4 coordinates = 0.0040625; / num_positives 2.
  const boxLoss = 0.0040625 / 2;
  const modelLoss = clsLoss + 50 * boxLoss;

  const losses = retinanetLosses(
    { clsOutputs, boxOutputs, clsTargets, boxTargets, clsWeights, boxWeights, regularization },
    { numClasses: 2, lossWeight: 2 },
  );
  assertClose(losses.cls_loss.dataSync(), [clsLoss], { rtol: 1e-5 });
  assertClose(losses.box_loss.dataSync(), [boxLoss], { rtol: 1e-5 });
  assertClose(losses.model_loss.dataSync(), [modelLoss], { rtol: 1e-5 });
  assertClose(losses.total_loss.dataSync(), [2 * (modelLoss + 0.25)], { rtol: 1e-5 });

  // Without positives the +1 keeps the loss finite; box loss is 0.
  const none = retinanetLosses(
    {
      clsOutputs,
      boxOutputs,
      clsTargets,
      boxTargets,
      clsWeights,
      boxWeights: tf.zeros([1, 3]),
    },
    { numClasses: 2 },
  );
  assertClose(none.cls_loss.dataSync(), [anchor0 + anchor1], { rtol: 1e-5 });
  assertClose(none.box_loss.dataSync(), [0]);
  assertClose(none.total_loss.dataSync(), none.model_loss.dataSync());

  assert.throws(
    () =>
      retinanetLosses(
        { clsOutputs, boxOutputs, clsTargets, boxTargets, clsWeights, boxWeights },
        { numClasses: 3 },
      ),
    /multiple of 3|anchors/,
  );
  tf.dispose([
    losses,
    none,
    clsOutputs,
    clsTargets,
    boxOutputs,
    boxTargets,
    clsWeights,
    boxWeights,
    kernel,
    regularization,
  ] as unknown as tf.Tensor[]);
});
