#!/usr/bin/env node
// How far the Mask R-CNN heads carry float32-sized feature differences (needs `npm run build`;
// not run in CI). For a Model Garden reference case (../shared/data/model-garden-reference/CASE,
// built and loaded as test/interop/maskrcnn_reference.test.ts does) it prints the detection
// differences to Model Garden's outputs (score, box corners in px, 28×28 masks; each MG detection
// matched to ours of the same class by IoU) of:
//   - end to end from the image;
//   - the heads on MG's own decoder features;
//   - the heads on MG's decoder features plus Gaussian noise whose per-level RMS is SCALE × the
//     RMS of (our decoder features − MG's), for seeds 1..SEEDS.
// With SCALE 1 the noise is the size of the backbone's float32 differences; if it moves the
// detections as much as end to end does, the end-to-end gap is that rounding carried forward.
//   node scripts/maskrcnn_noise_sensitivity.mjs [maskrcnn|cascadercnn] [input.npy|input_b.npy]
//        [--scale SCALE] [--seeds SEEDS] [--backend wasm|cpu]
import console from 'node:console';
import process from 'node:process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { parse } from 'yaml';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const load = (p) => import(pathToFileURL(join(root, 'dist', 'src', p)).href);
const { initBackend } = await load('core/backend/index.js');
const { deepMerge } = await load('core/config/merge.js');
const { normActivationConfig } = await load('core/config/vision_common.js');
const { withShapeOnlyBuild } = await load('core/layer.js');
const { tfCheckpointSource } = await load('interop/checkpoint_source.js');
const { loadWeights } = await load('interop/load.js');
const { readNpy, readNpz } = await load('interop/numpy.js');
const { backboneConfig } = await load('modeling/backbones/config.js');
const { buildBackbone } = await load('modeling/backbones/factory.js');
const { decoderConfig } = await load('modeling/decoders/config.js');
const { buildDecoder } = await load('modeling/decoders/factory.js');
const { buildMaskRCNN } = await load('modeling/models/maskrcnn_model.js');

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(name);
  if (i < 0) return fallback;
  const [, v] = args.splice(i, 2);
  return v;
};
const scale = Number(option('--scale', '1'));
const seeds = Number(option('--seeds', '3'));
const backend = option('--backend', 'wasm');
const [name = 'maskrcnn', input = 'input.npy'] = args;
if (!['maskrcnn', 'cascadercnn'].includes(name) || !['input.npy', 'input_b.npy'].includes(input)) {
  console.error(
    'usage: maskrcnn_noise_sensitivity.mjs [maskrcnn|cascadercnn] [input.npy|input_b.npy] [--scale S] [--seeds N] [--backend B]',
  );
  process.exit(2);
}
await initBackend(backend);

const dir = process.env.VG_SHARED_DATA
  ? join(process.env.VG_SHARED_DATA, 'model-garden-reference', name)
  : join(root, '..', 'shared', 'data', 'model-garden-reference', name);
const overlay = join(root, 'test', 'fixtures', 'model_garden_reference', `${name}.yaml`);
const cfg = deepMerge(
  parse(readFileSync(join(dir, 'config.yaml'), 'utf8')),
  parse(readFileSync(overlay, 'utf8')),
).task.model;
const na = normActivationConfig.parse(cfg.norm_activation);
const backbone = buildBackbone(backboneConfig.parse(cfg.backbone), na);
const decoder = buildDecoder(decoderConfig.parse(cfg.decoder), {
  inputSpecs: backbone.outputSpecs,
  minLevel: cfg.min_level,
  maxLevel: cfg.max_level,
  normActivation: na,
});
const model = buildMaskRCNN(backbone, decoder, cfg);
const [h, w] = cfg.input_size;
withShapeOnlyBuild(() => model.buildWeights([h, w]));
const source = tfCheckpointSource(join(dir, 'ckpt'));
loadWeights(model, source);
source.close();

const x = readNpy(join(dir, input));
const shape = readNpy(join(dir, 'image_shape.npy'));
const want = readNpz(join(dir, input === 'input.npy' ? 'outputs.npz' : 'outputs_b.npz'));
const images = tf.tensor(x.data, x.shape);
const imageShape = tf.tensor(Float32Array.from(shape.data), shape.shape);
const anchors = model.anchorBoxes([h, w]);
const mgFeatures = {};
for (const [k, v] of want) {
  if (k.startsWith('decoder_features/')) mgFeatures[k.slice(17)] = tf.tensor(v.data, v.shape);
}

const iou = (a, b) => {
  const ih = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]));
  const iw = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
  const inter = ih * iw;
  return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter);
};

/** Detection differences to MG: each MG detection matched to ours of its class by IoU − |Δscore|. */
function detectionDiff(out) {
  const n = want.get('num_detections').data[0];
  const wb = want.get('detection_boxes').data;
  const ws = want.get('detection_scores').data;
  const wc = want.get('detection_classes').data;
  const wm = want.get('detection_masks').data;
  const gb = out.detection_boxes.dataSync();
  const gs = out.detection_scores.dataSync();
  const gc = out.detection_classes.dataSync();
  const gm = out.detection_masks.dataSync();
  const cells = wm.length / want.get('detection_masks').shape[1];
  const used = new Set();
  const scores = [];
  let corner = 0;
  let mask = 0;
  let unmatched = 0;
  for (let i = 0; i < n; i++) {
    let best = -Infinity;
    let j = -1;
    for (let k = 0; k < n; k++) {
      if (used.has(k) || gc[k] !== wc[i]) continue;
      const v =
        iou(gb.subarray(4 * k, 4 * k + 4), wb.subarray(4 * i, 4 * i + 4)) - Math.abs(gs[k] - ws[i]);
      if (v > best) [best, j] = [v, k];
    }
    // Zero-area boxes clipped at the image edge have no IoU: left out.
    if (j < 0 || !(best > 0.9)) {
      unmatched++;
      continue;
    }
    used.add(j);
    scores.push(Math.abs(gs[j] - ws[i]));
    for (let q = 0; q < 4; q++) corner = Math.max(corner, Math.abs(gb[4 * j + q] - wb[4 * i + q]));
    for (let c = 0; c < cells; c++)
      mask = Math.max(mask, Math.abs(gm[j * cells + c] - wm[i * cells + c]));
  }
  scores.sort((a, b) => b - a);
  const e = (v) => (v ?? NaN).toExponential(2);
  return `scores max ${e(scores[0])} median ${e(scores[scores.length >> 1])}, corners ${e(corner)} px, masks ${e(mask)} (${scores.length} matched, ${unmatched} left out)`;
}

const full = model.apply(
  { images, image_shape: imageShape, anchor_boxes: anchors },
  { training: false },
);
console.log(`${name} ${input} (${backend})`);
console.log(`  end to end:              ${detectionDiff(full)}`);
console.log(
  `  from MG features:        ${detectionDiff(model.headsFromFeatures(mgFeatures, imageShape, anchors))}`,
);
const rms = {};
for (const l of Object.keys(mgFeatures)) {
  const a = full.decoder_features[l].dataSync();
  const b = want.get(`decoder_features/${l}`).data;
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
  rms[l] = Math.sqrt(s / a.length);
}
console.log(
  `  RMS(ours − MG) per decoder level: ${Object.entries(rms)
    .map(([l, v]) => `${l}: ${v.toExponential(2)}`)
    .join(', ')}`,
);
for (let seed = 1; seed <= seeds; seed++) {
  const noisy = {};
  for (const [l, f] of Object.entries(mgFeatures)) {
    noisy[l] = tf.add(
      f,
      tf.randomNormal(f.shape, 0, scale * rms[l], 'float32', 100 * seed + Number(l)),
    );
  }
  const out = model.headsFromFeatures(noisy, imageShape, anchors);
  console.log(`  MG features + noise × ${scale}, seed ${seed}: ${detectionDiff(out)}`);
  tf.dispose([noisy, out]);
}
