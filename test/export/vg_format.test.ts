/**
 * The vg model format (src/export/vg_format.ts) through `vision-garden export --format vg`,
 * `saveModel` and `loadModel`: a training run (params.yaml + checkpoint with EMA averages)
 * exported and loaded back predicts exactly as the run's checkpoint does; the shards hold the
 * EMA values; a changed byte in any shard is refused naming the shard; a RetinaNet round trip
 * predicts the same boxes, mapped to the original image's pixels; a DeepLabV3+ round trip predicts
 * the same label map, MG's rescale_predictions of the logits to the original image.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import {
  createModel,
  createModelConfig,
  loadModel,
  saveModel,
  type ClassificationPrediction,
  type DetectionPrediction,
  type SegmentationPrediction,
} from '../../src/index.js';
import { exportModel } from '../../src/cli/export.js';
import { formatPredictions, predictImages } from '../../src/cli/predict.js';
import { initBackend } from '../../src/core/backend/index.js';
import { writeParamsYaml } from '../../src/core/config/load.js';
import { writeCheckpointFile, type StoredTensor } from '../../src/train/checkpoint.js';
import { noisePng, randomizeWeights } from '../fixture_writers.js';

await initBackend('cpu');

/** A PNG of seeded noise. */

test('export --format vg of a run, loadModel, predict: the checkpoint EMA weights and its predictions', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vg-format-'));
  const runDir = join(dir, 'run');
  // A training run as the trainer leaves it: params.yaml and ckpt-N.vgckpt (model/ and ema/).
  const config = createModelConfig('compact_resnet_shapes');
  writeParamsYaml(runDir, config);
  const source = await createModel('compact_resnet_shapes');
  randomizeWeights(source, 1);
  const tensors = new Map<string, StoredTensor>();
  const ema = new Map<string, Float32Array>();
  for (const w of source.model.weights()) {
    const data = Float32Array.from(await w.variable.data());
    tensors.set(`model/${w.path}`, { dtype: 'float32', shape: [...w.variable.shape], data });
    const shadow = data.map((v) => 0.5 * v);
    ema.set(w.path, shadow);
    tensors.set(`ema/${w.path}`, { dtype: 'float32', shape: [...w.variable.shape], data: shadow });
  }
  await source.dispose();
  await writeCheckpointFile(join(runDir, 'ckpt-3.vgckpt'), { tensors, meta: { step: 3 } });

  const out = join(dir, 'exported');
  const line = await exportModel({ format: 'vg', modelDir: runDir, out });
  assert.match(line, /EMA weights/);
  const json = JSON.parse(readFileSync(join(out, 'model.json'), 'utf8'));
  assert.equal(json.format, 'vision-garden-model');
  assert.equal(json.format_version, 1);
  assert.equal(json.task_type, 'image_classification');
  assert.deepEqual(json.config, JSON.parse(JSON.stringify(config)));
  assert.deepEqual(json.preprocessing, {
    input_size: [32, 32, 3],
    method: 'center_crop',
    center_crop_fraction: 0.875,
    padded_size: null,
    interpolation: 'bilinear',
    mean: [0.485 * 255, 0.456 * 255, 0.406 * 255],
    stddev: [0.229 * 255, 0.224 * 255, 0.225 * 255],
  });
  assert.equal(json.labels[0], 'circle');
  assert.deepEqual(readdirSync(dir).sort(), ['exported', 'run'], 'no temporary directory left');

  const loaded = await loadModel(out);
  for (const w of loaded.model.weights()) {
    assert.deepEqual(Float32Array.from(await w.variable.data()), ema.get(w.path), w.path);
  }
  const png = join(dir, 'noise.png');
  await noisePng(png, 40, 48, 2);
  const fromRun = await createModel('compact_resnet_shapes', { checkpoint: runDir });
  assert.equal(fromRun.info.usedEma, true);
  const a = (await loaded.predict(png, { topK: 8 })) as ClassificationPrediction;
  const b = (await fromRun.predict(png, { topK: 8 })) as ClassificationPrediction;
  assert.equal(a.kind, 'classification');
  assert.deepEqual(a, b);
  assert.ok(Math.abs(a.classes.reduce((s, c) => s + c.score, 0) - 1) < 1e-5);
  await Promise.all([loaded.dispose(), fromRun.dispose()]);

  // Several shards; a changed byte in the second is refused by name.
  const reloaded = await loadModel(out);
  const multi = join(dir, 'multi');
  const mj = await saveModel(reloaded, multi, { shardBytes: 4096 });
  await reloaded.dispose();
  const paths = mj.weightsManifest[0].paths;
  assert.ok(paths.length > 2, `${paths.length} shards`);
  const again = await loadModel(multi);
  assert.deepEqual(await again.predict(png, { topK: 8 }), a);
  await again.dispose();
  const shard = join(multi, paths[1]);
  const bytes = readFileSync(shard);
  bytes[17] ^= 1;
  writeFileSync(shard, bytes);
  await assert.rejects(loadModel(multi), {
    message: new RegExp(
      `^model ${multi}: weight shard '${paths[1]}' is corrupt \\(sha256 [0-9a-f]{64}, model.json says ${mj.weightsManifest[0].sha256[1]}\\)$`,
    ),
  });
  await assert.rejects(loadModel(join(dir, 'nothing')), /cannot read model file 'model.json'/);
});

test('a RetinaNet round trip predicts the same boxes, in the original image pixels', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vg-format-det-'));
  const vm = await createModel({
    experiment: 'retinanet',
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
          head: { num_convs: 1, num_filters: 16 },
          detection_generator: { pre_nms_score_threshold: 0.0, max_num_detections: 5 },
        },
      },
    },
  });
  randomizeWeights(vm, 4);
  await saveModel(vm, join(dir, 'm'));
  assert.ok(existsSync(join(dir, 'm', 'model.json')));
  const loaded = await loadModel(join(dir, 'm'));
  const png = join(dir, 'wide.png');
  await noisePng(png, 50, 100, 6);
  const a = (await vm.predict(png)) as DetectionPrediction;
  const b = (await loaded.predict(png)) as DetectionPrediction;
  assert.equal(a.kind, 'detection');
  assert.deepEqual(b, a);
  assert.equal(a.detections.length, 5);

  // The 100x50 image is scaled by 0.64 into the 64x64 input (content 32x64, zero padded):
  // the model's boxes for that input, divided by 0.64 and clipped to the 50x100 image, are the
  // predicted boxes.
  assert.deepEqual(loaded.preprocessing.padded_size, [64, 64]);
  const { inputs, frames } = await loaded.preprocess([png]);
  const f32 = Math.fround(0.64); // image_info's scales are float32
  assert.deepEqual(frames[0], { original: [50, 100], scaled: [64, 64], scale: [f32, f32] });
  const raw = await loaded.run(inputs);
  const boxes = await raw.detection_boxes.data();
  a.detections.forEach((d, i) => {
    for (let j = 0; j < 4; j++) {
      const hand = Math.min(Math.max(boxes[4 * i + j] / f32, 0), j % 2 === 0 ? 50 : 100);
      assert.ok(Math.abs(d.box[j] - hand) * f32 < 1e-4, `box ${i}[${j}]: ${d.box[j]} vs ${hand}`);
    }
  });
  tf.dispose([inputs.image, inputs.image_shape, ...Object.values(raw)]);
  await Promise.all([vm.dispose(), loaded.dispose()]);

  // The CLI's predict on the same model prints the same detections.
  const result = await predictImages({ model: join(dir, 'm'), images: [png], minScore: 0 });
  const detections = a.detections.map((d) => ({
    box: d.box,
    classId: d.classId,
    name: d.label,
    score: d.score,
  }));
  assert.deepEqual(result.predictions, [{ image: png, height: 50, width: 100, detections }]);
  assert.match(
    formatPredictions(result),
    /^ {2}class \d +\(id \d\) {2}\d\.\d{3} {2}\[ymin [\d.]+, xmin [\d.]+, ymax [\d.]+, xmax [\d.]+\]$/m,
  );
});

test('a DeepLabV3+ round trip predicts the same label map, at the original image size', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vg-format-seg-'));
  const vm = await createModel({
    experiment: 'seg_deeplabv3plus_pascal',
    params: {
      task: {
        model: {
          num_classes: 4,
          input_size: [64, 64, 3],
          backbone: {
            type: 'dilated_resnet',
            dilated_resnet: {
              model_id: 50,
              block_specs: [
                ['bottleneck', 4, 1],
                ['bottleneck', 4, 1],
                ['bottleneck', 8, 1],
                ['bottleneck', 8, 3],
              ],
            },
          },
          decoder: { aspp: { num_filters: 8 } },
          head: { num_filters: 8, low_level_num_filters: 8 },
        },
        validation_data: { output_size: [64, 64] },
      },
    },
  });
  randomizeWeights(vm, 8);
  await saveModel(vm, join(dir, 'm'));
  const loaded = await loadModel(join(dir, 'm'));
  const png = join(dir, 'wide.png');
  await noisePng(png, 50, 100, 9);
  const a = (await vm.predict(png)) as SegmentationPrediction;
  const b = (await loaded.predict(png)) as SegmentationPrediction;
  assert.equal(a.kind, 'segmentation');
  assert.deepEqual(b, a);
  assert.equal(a.labelMap.length, 50 * 100);
  assert.equal(a.height, 50);
  assert.equal(a.width, 100);

  // By hand: the 100x50 image is scaled by 0.64 into the 64x64 input (content 32x64, zero
  // padded); MG's rescale_predictions resizes the logits to ceil(64 / 0.64) = 100 square and
  // keeps the top-left 50x100.
  const { inputs } = await loaded.preprocess([png]);
  const raw = await loaded.run(inputs);
  const hand = tf.tidy(() =>
    tf.argMax(
      tf.slice(
        tf.image.resizeBilinear(raw.logits as tf.Tensor4D, [100, 100], false, true),
        [0, 0, 0, 0],
        [1, 50, 100, -1],
      ),
      -1,
    ),
  );
  const ids = await hand.data();
  assert.deepEqual(Array.from(a.labelMap), Array.from(ids));
  const counts: Record<string, number> = {};
  for (const c of [...new Set(ids)].sort((x, y) => x - y))
    counts[`class ${c}`] = ids.filter((v) => v === c).length;
  assert.deepEqual(a.pixelCounts, counts);
  assert.ok(Object.keys(counts).length > 1, 'more than one class predicted');
  tf.dispose([hand, inputs.image, inputs.image_shape, ...Object.values(raw)]);
  await Promise.all([vm.dispose(), loaded.dispose()]);
});
