import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../src/core/backend/index.js';
import { Rng } from '../../../src/core/random.js';
import { compileFunction } from '../../../src/engine/compile.js';
import { generateAnchors, unpackLabels } from '../../../src/ops/anchor.js';
import {
  BBOX_XFORM_CLIP,
  clipBoxesTensor,
  decodeBoxes,
  decodeBoxesTensor,
} from '../../../src/ops/box_ops.js';
import { MultilevelDetectionGenerator } from '../../../src/modeling/layers/detection_generator.js';
import { assertClose } from '../../helpers.js';
import { readNpz } from '../../../src/interop/numpy.js';

await initBackend('cpu');

test('decodeBoxesTensor: hand case with weights, and clipBoxesTensor', () => {
  // Anchor [0, 0, 10, 10]: ha = wa = 10, centre (5, 5). Codes / weights [10, 10, 5, 5] =
  // [0.1, 0.2, ln 2, 0] → yc = 6, xc = 7, h = 20, w = 10 → [-4, 2, 16, 12].
  const codes = tf.tensor2d([[1, 2, 5 * Math.log(2), 0]]);
  const anchors = tf.tensor2d([[0, 0, 10, 10]]);
  const d = decodeBoxesTensor(codes, anchors, [10, 10, 5, 5]);
  assertClose(d.dataSync(), [-4, 2, 16, 12], { atol: 1e-5 });
  // Clipped to a 12 × 11 image: [0, 2, 12, 11].
  const c = clipBoxesTensor(tf.expandDims(d, 0), tf.tensor2d([[12, 11]]));
  assertClose(c.dataSync(), [0, 2, 12, 11], { atol: 1e-5 });
  tf.dispose([codes, anchors, d, c]);
});

test('decodeBoxesTensor equals the typed-array decodeBoxes (incl. the dh/dw clip)', () => {
  const rng = new Rng(5);
  const n = 64;
  const codes = Float32Array.from({ length: n * 4 }, (_, i) =>
    i % 4 >= 2 ? 3 * rng.normal() + (i % 8 === 2 ? 6 : 0) : rng.normal(),
  );
  assert.ok(
    codes.some((v, i) => i % 4 >= 2 && v > BBOX_XFORM_CLIP),
    'some dh above the clip',
  );
  const anchors = Float32Array.from({ length: n * 4 }, (_, i) =>
    i % 4 < 2 ? 50 * rng.uniform() : 60 + 50 * rng.uniform(),
  );
  for (const weights of [null, [10, 10, 5, 5] as const]) {
    const want = decodeBoxes(codes, anchors, weights);
    const got = tf.tidy(() =>
      decodeBoxesTensor(tf.tensor2d(codes, [n, 4]), tf.tensor2d(anchors, [n, 4]), weights),
    );
    assertClose(got.dataSync(), want, { rtol: 1e-5, atol: 1e-3, msg: `weights ${weights}` });
    got.dispose();
  }
});

/** Logit of probability p. */
const logit = (p: number) => Math.log(p / (1 - p));

test('detection generator: sigmoid, background dropped, clip, NMS, classes + 1 (hand case)', () => {
  // Two levels, one anchor per location, 3 classes (0 = background).
  // Level 3: 1 × 2 grid, anchors [0,0,10,10] and [0,1,10,11] (IoU 90 / 110 = 0.82).
  // Level 4: 1 × 1, anchor [20,20,40,40] decoded with dy = 0.5 → [30,20,50,40], clipped to
  // the 45 × 60 image → [30,20,45,40].
  const rawBoxes = {
    '3': tf.zeros([1, 1, 2, 4]),
    '4': tf.tensor4d([0.5, 0, 0, 0], [1, 1, 1, 4]),
  };
  const rawScores = {
    // anchor 0: class 1 p 0.9; anchor 1: class 1 p 0.8 (suppressed by anchor 0), class 2 p 0.6.
    '3': tf.tensor4d(
      [logit(0.99), logit(0.9), logit(0.01), logit(0.5), logit(0.8), logit(0.6)],
      [1, 1, 2, 3],
    ),
    // anchor 2: class 2 p 0.7; class 1 p 0.04 is below the 0.05 threshold.
    '4': tf.tensor4d([logit(0.3), logit(0.04), logit(0.7)], [1, 1, 1, 3]),
  };
  const anchors = {
    '3': tf.tensor3d([0, 0, 10, 10, 0, 1, 10, 11], [1, 2, 4]),
    '4': tf.tensor3d([20, 20, 40, 40], [1, 1, 4]),
  };
  const imageShape = tf.tensor2d([[45, 60]]);
  const gen = new MultilevelDetectionGenerator({ maxNumDetections: 5, nmsVersion: 'v1' });
  const out = gen.apply(rawBoxes, rawScores, anchors, imageShape);
  assert.deepEqual(Array.from(out.num_detections!.dataSync()), [3]);
  assertClose(out.detection_scores!.dataSync(), [0.9, 0.7, 0.6, 0, 0], { atol: 1e-6 });
  // Padded slots get the background offset too, as Model Garden's `nmsed_classes += 1`.
  assert.deepEqual(Array.from(out.detection_classes!.dataSync()), [1, 2, 2, 1, 1]);
  assertClose(
    out.detection_boxes!.dataSync(),
    [0, 0, 10, 10, 30, 20, 45, 40, 0, 1, 10, 11, 0, 0, 0, 0, 0, 0, 0, 0],
    { atol: 1e-5 },
  );
  assert.equal(out.decoded_boxes, undefined);
  tf.dispose([out, rawBoxes, rawScores, anchors, imageShape] as unknown as tf.Tensor[]);

  // apply_nms false: every decoded box [B, N, 1, 4] and its foreground scores [B, N, C − 1].
  const raw = gen.decode(
    { '3': tf.zeros([2, 1, 2, 4]) },
    { '3': tf.zeros([2, 1, 2, 3]) },
    { '3': tf.tensor3d([0, 0, 10, 10, 0, 1, 10, 11], [1, 2, 4]) },
    null,
  );
  assert.deepEqual(raw.boxes.shape, [2, 2, 1, 4]);
  assert.deepEqual(raw.scores.shape, [2, 2, 2]);
  assertClose(raw.scores.dataSync(), new Float32Array(8).fill(0.5));
  assertClose(raw.boxes.dataSync(), [0, 0, 10, 10, 0, 1, 10, 11, 0, 0, 10, 10, 0, 1, 10, 11]);
  tf.dispose([raw.boxes, raw.scores]);
});

test('detection generator rejects what it does not provide', () => {
  assert.throws(() => new MultilevelDetectionGenerator({ nmsVersion: 'v3' }), /nms_version/);
  assert.throws(() => new MultilevelDetectionGenerator({ softNmsSigma: 0.5 }), /soft_nms_sigma/);
  assert.throws(
    () => new MultilevelDetectionGenerator({ nmsVersion: 'v1', useClassAgnosticNms: true }),
    /use_class_agnostic_nms/,
  );
  assert.throws(
    () => new MultilevelDetectionGenerator({ boxCoderWeights: [1, 2, 3] }),
    /box_coder_weights/,
  );
});

test('detection generator compiled (ONNX) equals eager on RetinaNet-shaped outputs', async () => {
  await initBackend('wasm');
  // Levels 3..5 of a 64 × 64 image, 9 anchors, 6 classes: 1344 anchors.
  const anchors = generateAnchors({
    minLevel: 3,
    maxLevel: 5,
    numScales: 3,
    aspectRatios: [0.5, 1, 2],
    anchorSize: 4,
    imageSize: [64, 64],
  });
  const inputs: Record<string, tf.Tensor> = {};
  const rng = new Rng(9);
  const normal = (shape: number[], scale: number, shift = 0) =>
    tf.tensor(
      Float32Array.from(
        { length: shape.reduce((a, b) => a * b, 1) },
        () => shift + scale * rng.normal(),
      ),
      shape,
    );
  for (const [level, view] of Object.entries(unpackLabels(anchors.boxes, anchors, 4))) {
    const [h, w] = view.shape;
    inputs[`anchors_${level}`] = tf.tensor(view.data, view.shape);
    inputs[`boxes_${level}`] = normal([2, h, w, 36], 0.3);
    inputs[`scores_${level}`] = normal([2, h, w, 54], 2, -3);
  }
  inputs.image_shape = tf.tensor2d([
    [64, 64],
    [50, 40],
  ]);
  const gen = new MultilevelDetectionGenerator({ maxNumDetections: 20, preNmsTopK: 200 });
  const run = (x: Record<string, tf.Tensor>) => {
    const pick = (p: string) => Object.fromEntries(['3', '4', '5'].map((l) => [l, x[`${p}_${l}`]]));
    const o = gen.apply(pick('boxes'), pick('scores'), pick('anchors'), x.image_shape);
    return [o.detection_boxes!, o.detection_scores!, o.detection_classes!, o.num_detections!];
  };
  const compiled = await compileFunction(inputs, run, { intraOpNumThreads: 1 });
  const got = await compiled.run(inputs);
  const want = run(inputs);
  assert.ok(want[3].dataSync()[0] > 5, 'enough detections to compare');
  ['boxes', 'scores', 'classes', 'num'].forEach((name, i) => {
    assert.deepEqual(got[i].shape, want[i].shape, name);
    assertClose(got[i].dataSync(), want[i].dataSync(), { rtol: 1e-5, atol: 1e-4, msg: name });
  });
  tf.dispose([...got, ...want, ...Object.values(inputs)]);
  await compiled.dispose();
});

const REF = new URL(
  '../../../../../shared/data/model-garden-reference/retinanet_mobilenetv2/',
  import.meta.url,
);

test("detection generator reproduces Model Garden's detections of retinanet_mobilenetv2", async () => {
  await initBackend('cpu');
  // config.yaml: levels 3..7, anchors 3 scales × [0.5, 1, 2], anchor_size 3, 256 × 256 input;
  // detection_generator v2, pre_nms_top_k 5000, threshold 0.05, IoU 0.5, 100 detections.
  const anchors = referenceAnchors();
  for (const file of ['outputs.npz', 'outputs_b.npz']) {
    const ref = Object.fromEntries(readNpz(new URL(file, REF).pathname));
    const t = (k: string) => tf.tensor(ref[k].data as Float32Array, ref[k].shape);
    // Reference arrays as numbers (int64 counts included).
    const nums = (k: string) => Array.from(ref[k].data as ArrayLike<number | bigint>, Number);
    const levels = ['3', '4', '5', '6', '7'];
    const rawBoxes = Object.fromEntries(levels.map((l) => [l, t(`box_outputs/${l}`)]));
    const rawScores = Object.fromEntries(levels.map((l) => [l, t(`cls_outputs/${l}`)]));
    const imageShape = tf.tensor2d([[256, 200]]);
    const gen = new MultilevelDetectionGenerator({
      nmsVersion: 'v2',
      preNmsTopK: 5000,
      preNmsScoreThreshold: 0.05,
      nmsIouThreshold: 0.5,
      maxNumDetections: 100,
    });
    const out = gen.apply(rawBoxes, rawScores, anchors, imageShape);
    assert.deepEqual(Array.from(out.num_detections!.dataSync()), nums('num_detections'));
    assertClose(out.detection_scores!.dataSync(), nums('detection_scores'), {
      atol: 1e-4,
      rtol: 0,
      msg: `${file} scores`,
    });
    assert.deepEqual(
      Array.from(out.detection_classes!.dataSync()),
      nums('detection_classes'),
      `${file} classes`,
    );
    assertClose(out.detection_boxes!.dataSync(), nums('detection_boxes'), {
      atol: 1e-4,
      rtol: 0,
      msg: `${file} boxes`,
    });
    tf.dispose([out, rawBoxes, rawScores, imageShape] as unknown as tf.Tensor[]);
  }
  tf.dispose(Object.values(anchors));
});

/** The reference case's anchors per level, [H, W, A·4]. */
function referenceAnchors(): Record<string, tf.Tensor> {
  const a = generateAnchors({
    minLevel: 3,
    maxLevel: 7,
    numScales: 3,
    aspectRatios: [0.5, 1, 2],
    anchorSize: 3,
    imageSize: [256, 256],
  });
  const out: Record<string, tf.Tensor> = {};
  for (const [level, view] of Object.entries(unpackLabels(a.boxes, a, 4))) {
    out[level] = tf.tensor(view.data, view.shape);
  }
  return out;
}
