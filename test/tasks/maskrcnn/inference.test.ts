/**
 * Mask R-CNN prediction (MaskRCNNTask.inference through the library's VisionModel): a tiny
 * Mask R-CNN (ResNet-10, FPN levels 3-5, 3 classes, 14x14 masks) with random weights predicts on
 * a 50x100 (h x w) image:
 * - boxes are the model's boxes divided by image_info's scale (0.64) and clipped to the image;
 * - with the mask logits' bias at +30 every mask probability is 1, so each pasted mask is the box
 *   filled at the original resolution: its tight box is the detection's box to within a pixel
 *   (paste_instance_masks' expanded box, resize and > 0.5 threshold), filled but for at most
 *   its four corners;
 * - the compiled graph (onnx backend) predicts what the eager one does; the vg format round trip
 *   predicts the same; the ONNX export's outputs (random mask logits) equal tfjs's to 1e-4 in
 *   onnxruntime-node (relative to the value above 1: boxes are input pixels);
 * - `predict --model ... --json` gives each detection's mask as COCO RLE and `--output` draws
 *   the masks translucent under the boxes;
 * - a Cascade R-CNN of the same parts predicts masks, compiled as eager.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import * as tf from '@tensorflow/tfjs-core';
import '../../../src/tasks/index.js';
import { createModel, loadModel, saveModel, toOnnx, type VisionModel } from '../../../src/index.js';
import { initBackend } from '../../../src/core/backend/index.js';
import type { DetectionPrediction } from '../../../src/core/inference.js';
import { Rng } from '../../../src/core/random.js';
import { predictImages } from '../../../src/cli/predict.js';
import { segmentationToRle } from '../../../src/ops/masks/coco_segmentation.js';
import { decodeMask, rleArea, rleToBbox } from '../../../src/ops/masks/rle.js';

await initBackend('cpu');

const [H, W] = [50, 100];
const SPEC = {
  experiment: 'maskrcnn_resnetfpn_coco',
  params: {
    task: {
      model: {
        num_classes: 3,
        input_size: [64, 64, 3],
        min_level: 3,
        max_level: 5,
        anchor: { num_scales: 1, aspect_ratios: [1.0], anchor_size: 3 },
        backbone: { type: 'resnet', resnet: { model_id: 10 } },
        decoder: { type: 'fpn', fpn: { num_filters: 16 } },
        rpn_head: { num_convs: 1, num_filters: 16 },
        detection_head: { num_convs: 0, num_filters: 16, num_fcs: 1, fc_dims: 32 },
        roi_generator: { test_pre_nms_top_k: 64, test_num_proposals: 16 },
        roi_aligner: { crop_size: 4 },
        detection_generator: { pre_nms_top_k: 32, max_num_detections: 4 },
        mask_head: { num_convs: 1, num_filters: 8 },
        mask_roi_aligner: { crop_size: 7 },
      },
    },
  },
};

/**
 * Unit-variance kernels, non-trivial batch norms; mask logits = their bias, +30 (probabilities 1)
 * unless `softMasks` (then the logits' kernel is random too).
 */
function randomize(vm: VisionModel, seed: number, softMasks = false): void {
  const rng = new Rng(seed);
  for (const w of vm.model.weights()) {
    const n = w.variable.size;
    const u = () => rng.uniform();
    let values: Float32Array | null = null;
    if (w.path.endsWith('kernel') && (softMasks || !/mask-logits/.test(w.path))) {
      const r = Math.sqrt(3 / w.variable.shape.slice(0, -1).reduce((a, b) => a * b, 1));
      values = Float32Array.from({ length: n }, () => r * (2 * u() - 1));
    } else if (w.path.endsWith('moving_variance')) {
      values = Float32Array.from({ length: n }, () => 0.5 + u());
    } else if (w.path.endsWith('gamma')) {
      values = Float32Array.from({ length: n }, () => 0.5 + u());
    } else if (w.path.endsWith('beta') || w.path.endsWith('moving_mean')) {
      values = Float32Array.from({ length: n }, () => 0.2 * (u() - 0.5));
    } else if (w.path.endsWith('kernel')) {
      values = new Float32Array(n);
    } else if (/mask-logits\/bias$/.test(w.path) && !softMasks) {
      values = new Float32Array(n).fill(30);
    }
    if (values) {
      const t = tf.tensor(values, w.variable.shape);
      w.variable.assign(t);
      t.dispose();
    }
  }
}

async function noisePng(path: string, seed: number): Promise<void> {
  const rng = new Rng(seed);
  const data = Buffer.from(
    Array.from({ length: H * W * 3 }, () => Math.floor(256 * rng.uniform())),
  );
  writeFileSync(
    path,
    await sharp(data, { raw: { width: W, height: H, channels: 3 } })
      .png()
      .toBuffer(),
  );
}

function maskOf(d: DetectionPrediction['detections'][number]): Uint8Array {
  assert.ok(d.mask, 'a Mask R-CNN detection carries a mask');
  assert.deepEqual(d.mask.size, [H, W]);
  return decodeMask(segmentationToRle(d.mask, H, W, 'predicted mask'));
}

test('Mask R-CNN predicts boxes in original pixels and masks pasted at the original resolution', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vg-maskrcnn-predict-'));
  try {
    const vm = await createModel(SPEC);
    randomize(vm, 3);
    assert.equal(vm.inference.kind, 'detection');
    const png = join(dir, 'wide.png');
    await noisePng(png, 6);
    const a = (await vm.predict(png)) as DetectionPrediction;
    assert.equal(a.detections.length, 4);

    // Boxes: the model's boxes / 0.64 (float32 image_info), clipped to the 50x100 image.
    const { inputs, frames } = await vm.preprocess([png]);
    const f32 = Math.fround(0.64);
    assert.deepEqual(frames[0].scale, [f32, f32]);
    const raw = await vm.run(inputs);
    assert.deepEqual(raw.detection_masks.shape, [1, 4, 14, 14]);
    const boxes = await raw.detection_boxes.data();
    a.detections.forEach((d, i) => {
      for (let j = 0; j < 4; j++) {
        const hand = Math.min(Math.max(boxes[4 * i + j] / f32, 0), j % 2 === 0 ? H : W);
        assert.ok(Math.abs(d.box[j] - hand) < 1e-3, `box ${i}[${j}]: ${d.box[j]} vs ${hand}`);
      }
      // All-ones mask: the filled box (tight box within a pixel of the detection's box).
      const m = maskOf(d);
      const rle = segmentationToRle(d.mask, H, W, 'mask');
      const [x, y, w, h] = rleToBbox(rle);
      const [y0, x0, y1, x1] = d.box;
      if (y1 - y0 < 2 || x1 - x0 < 2) return;
      assert.ok(Math.abs(x - x0) <= 1 && Math.abs(y - y0) <= 1, `mask ${i} origin ${x},${y}`);
      assert.ok(Math.abs(x + w - x1) <= 1 && Math.abs(y + h - y1) <= 1, `mask ${i} end`);
      // The resized padded mask is the product of a row and a column profile, so only its
      // corners (both profiles < 1) can fall under 0.5; at these box sizes at most one pixel each.
      const area = m.reduce((s, v) => s + v, 0);
      assert.equal(rleArea(rle), area);
      assert.ok(area >= w * h - 4 && area <= w * h, `mask ${i}: ${area} of ${w}x${h}`);
    });
    tf.dispose([inputs.image, inputs.image_shape, ...Object.values(raw)]);

    // Compiled (onnx backend) predicts the same detections and masks.
    const compiled = await createModel(SPEC, { compiled: true, fallback: 'error' });
    for (const [i, w] of compiled.model.weights().entries()) {
      w.variable.assign(vm.model.weights()[i].variable);
    }
    const c = (await compiled.predict(png)) as DetectionPrediction;
    assert.equal(c.detections.length, a.detections.length);
    c.detections.forEach((d, i) => {
      const e = a.detections[i];
      assert.equal(d.classId, e.classId);
      assert.ok(Math.abs(d.score - e.score) < 1e-4, `score ${i}`);
      d.box.forEach((v, j) => assert.ok(Math.abs(v - e.box[j]) < 1e-3, `box ${i}[${j}]`));
      const [mc, me] = [maskOf(d), maskOf(e)];
      const diff = mc.reduce((s, v, k) => s + (v !== me[k] ? 1 : 0), 0);
      assert.ok(diff <= 2, `mask ${i}: ${diff} pixels differ`);
    });
    await compiled.dispose();

    // The vg format round trip predicts the same; the CLI's JSON carries the RLE masks.
    await saveModel(vm, join(dir, 'm'));
    const loaded = await loadModel(join(dir, 'm'));
    assert.deepEqual(await loaded.predict(png), a);
    await loaded.dispose();
    const out = join(dir, 'annotated.png');
    const result = await predictImages({
      model: join(dir, 'm'),
      images: [png],
      minScore: 0,
      output: out,
    });
    const rows = result.predictions[0].detections!;
    assert.deepEqual(
      rows.map((r) => r.mask),
      a.detections.map((d) => d.mask),
    );
    assert.deepEqual(JSON.parse(JSON.stringify(rows[0].mask)), a.detections[0].mask);
    // The masks are blended in: most pixels inside a mask differ from the input.
    const drawn = await sharp(out).raw().toBuffer({ resolveWithObject: true });
    const input = await sharp(png).raw().toBuffer();
    assert.deepEqual([drawn.info.height, drawn.info.width, drawn.info.channels], [H, W, 3]);
    const masks = a.detections.map(maskOf);
    let inside = 0;
    let changed = 0;
    for (let p = 0; p < H * W; p++) {
      if (!masks.some((m) => m[p])) continue;
      inside++;
      if ([0, 1, 2].some((k) => drawn.data[p * 3 + k] !== input[p * 3 + k])) changed++;
    }
    assert.ok(inside > 0 && changed >= 0.9 * inside, `${changed} of ${inside} mask pixels drawn`);
    await vm.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a Mask R-CNN exported to ONNX matches tfjs in onnxruntime-node (masks included)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vg-maskrcnn-onnx-'));
  try {
    const vm = await createModel(SPEC);
    randomize(vm, 5, true);
    const file = join(dir, 'model.onnx');
    writeFileSync(file, await toOnnx(vm));
    const rng = new Rng(11);
    const n = 2 * 64 * 64 * 3;
    const inputs = {
      image: tf.tensor4d(
        Float32Array.from({ length: n }, () => 2 * rng.uniform() - 1),
        [2, 64, 64, 3],
      ),
      image_shape: tf.tensor2d([64, 64, 40, 64], [2, 2]),
    };
    const expected = await vm.run(inputs as never);
    assert.deepEqual(Object.keys(expected).sort(), [
      'detection_boxes',
      'detection_classes',
      'detection_masks',
      'detection_scores',
      'num_detections',
    ]);
    const session = await ort.InferenceSession.create(file);
    const feeds: Record<string, ort.Tensor> = {};
    for (const [name, t] of Object.entries(inputs)) {
      feeds[name] = new ort.Tensor('float32', (await t.data()) as Float32Array, t.shape);
    }
    const got = await session.run(feeds);
    for (const [name, t] of Object.entries(expected)) {
      assert.deepEqual([...got[name].dims], t.shape, `${name}: shape`);
      const want = await t.data();
      const have = got[name].data as Float32Array;
      // 1e-4, relative for magnitudes above 1 (boxes are in input pixels, up to 64).
      let worst = 0;
      for (let i = 0; i < want.length; i++) {
        worst = Math.max(worst, Math.abs(have[i] - want[i]) / Math.max(1, Math.abs(want[i])));
      }
      assert.ok(worst <= 1e-4, `${name}: max relative difference ${worst}`);
    }
    const num = await expected.num_detections.data();
    assert.ok(
      num.every((v) => v > 0),
      `every image has detections: ${num}`,
    );
    await session.release();
    tf.dispose([...Object.values(inputs), ...Object.values(expected)]);
    await vm.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a Cascade R-CNN (2 more stages, class-agnostic boxes, class ensemble) predicts masks, compiled as eager', async () => {
  const model = SPEC.params.task.model;
  const spec = {
    experiment: SPEC.experiment,
    params: {
      task: {
        model: {
          ...model,
          detection_head: {
            ...model.detection_head,
            class_agnostic_bbox_pred: true,
            cascade_class_ensemble: true,
          },
          roi_sampler: { cascade_iou_thresholds: [0.6, 0.7] },
        },
      },
    },
  };
  const eager = await createModel(spec);
  randomize(eager, 8, true);
  const compiled = await createModel(spec, { compiled: true, fallback: 'error' });
  for (const [i, w] of compiled.model.weights().entries()) {
    w.variable.assign(eager.model.weights()[i].variable);
  }
  const rng = new Rng(9);
  const image = {
    data: Uint8Array.from({ length: H * W * 3 }, () => Math.floor(256 * rng.uniform())),
    height: H,
    width: W,
    channels: 3,
  };
  const a = (await eager.predict(image)) as DetectionPrediction;
  const b = (await compiled.predict(image)) as DetectionPrediction;
  assert.equal(a.detections.length, 4);
  assert.equal(b.detections.length, 4);
  b.detections.forEach((d, i) => {
    const e = a.detections[i];
    assert.equal(d.classId, e.classId);
    assert.ok(Math.abs(d.score - e.score) < 1e-4, `score ${i}`);
    d.box.forEach((v, j) => assert.ok(Math.abs(v - e.box[j]) < 1e-3, `box ${i}[${j}]`));
    const [mb, ma] = [maskOf(d), maskOf(e)];
    const diff = mb.reduce((s, v, k) => s + (v !== ma[k] ? 1 : 0), 0);
    assert.ok(diff <= 2, `mask ${i}: ${diff} pixels differ`);
  });
  await Promise.all([eager.dispose(), compiled.dispose()]);
});
