/**
 * Model Garden's RetinaNet reference cases (../shared/data/model-garden-reference/<case>): each
 * model is built from the case's config.yaml with its fixture overlay
 * (test/fixtures/model_garden_reference/<case>.yaml) through the backbone and decoder factories and
 * `buildRetinaNet`, the whole model is loaded from the case's TF checkpoint by `loadWeights`
 * (strict: every variable maps), and `input.npy` / `input_b.npy` with the case's image_shape run
 * in inference mode against `outputs.npz` / `outputs_b.npz`:
 * - `cls_outputs/<l>`, `box_outputs/<l>`: max |ours − MG| ≤ 1e-4 · max(1, max |MG|) per output
 *   (float32 sums in another order than TF's kernels; SpineNet's class logits reach ~20);
 * - detections as matched sets: same count; each MG detection matched to one of ours with the same
 *   class, score within 1e-4 and box IoU > 0.99 (or, for boxes clipped to zero width at the
 *   image_shape edge, which have no IoU, corners within 0.01 px); at least 98 of 100 matched, and any unmatched one
 *   scores within 1e-4 of the lowest kept score (a tie at the cut-off that rounding can reorder).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { parse } from 'yaml';
import { initBackend } from '../../src/core/backend/index.js';
import { modelGardenYaml } from '../../src/core/config/index.js';
import { deepMerge } from '../../src/core/config/merge.js';
import { normActivationConfig } from '../../src/core/config/vision_common.js';
import { withShapeOnlyBuild } from '../../src/core/layer.js';
import { tfCheckpointSource } from '../../src/interop/checkpoint_source.js';
import { loadWeights } from '../../src/interop/load.js';
import { readNpy, readNpz } from '../../src/interop/numpy.js';
import { backboneConfig } from '../../src/modeling/backbones/config.js';
import { buildBackbone } from '../../src/modeling/backbones/factory.js';
import { decoderConfig } from '../../src/modeling/decoders/config.js';
import { buildDecoder } from '../../src/modeling/decoders/factory.js';
import {
  buildRetinaNet,
  type RetinaNetModel,
  type RetinaNetModelConfig,
} from '../../src/modeling/models/retinanet_model.js';
import { REPO_ROOT, sharedData } from '../helpers.js';

await initBackend('cpu');

type ModelYaml = RetinaNetModelConfig & {
  input_size: number[];
  backbone: unknown;
  decoder: unknown;
};

/** The case's model, built from config.yaml + fixture overlay, with the checkpoint loaded. */
function buildCase(name: string): { model: RetinaNetModel; cfg: ModelYaml } {
  const dir = sharedData('model-garden-reference', name);
  const base = parse(readFileSync(`${dir}/config.yaml`, 'utf8')) as unknown;
  const overlay = parse(
    readFileSync(`${REPO_ROOT}/test/fixtures/model_garden_reference/${name}.yaml`, 'utf8'),
  ) as unknown;
  const cfg = (deepMerge(base, overlay) as { task: { model: ModelYaml } }).task.model;
  const na = normActivationConfig.parse(cfg.norm_activation);
  const backbone = buildBackbone(backboneConfig.parse(cfg.backbone), na);
  const decoder = buildDecoder(decoderConfig.parse(cfg.decoder), {
    inputSpecs: backbone.outputSpecs,
    minLevel: cfg.min_level,
    maxLevel: cfg.max_level,
    normActivation: na,
  });
  const model = buildRetinaNet(backbone, decoder, cfg);
  const [h, w] = cfg.input_size;
  withShapeOnlyBuild(() =>
    tf.tidy(() => void model.apply(tf.zeros([0, h, w, 3]), { training: true, stateUpdates: [] })),
  );
  const source = tfCheckpointSource(`${dir}/ckpt`);
  try {
    const { loaded, report } = loadWeights(model, source);
    assert.equal(report.unmatched.length, 0);
    assert.equal(loaded, model.weights().length);
  } finally {
    source.close();
  }
  return { model, cfg };
}

function iou(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const ih = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]));
  const iw = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
  const inter = ih * iw;
  const area = (x: ArrayLike<number>) => (x[2] - x[0]) * (x[3] - x[1]);
  return inter / (area(a) + area(b) - inter);
}

/** Boxes clipped to the image edge can have zero area (no IoU): compare their corners. */
function maxCoordDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  for (let k = 0; k < 4; k++) d = Math.max(d, Math.abs(a[k] - b[k]));
  return d;
}

function checkInput(name: string, model: RetinaNetModel, input: string, outputs: string): void {
  const dir = sharedData('model-garden-reference', name);
  const x = readNpy(`${dir}/${input}`);
  const shape = readNpy(`${dir}/image_shape.npy`);
  const want = readNpz(`${dir}/${outputs}`);
  const images = tf.tensor(x.data as Float32Array, x.shape);
  const imageShape = tf.tensor(Float32Array.from(shape.data as ArrayLike<number>), shape.shape);
  const out = model.apply({ images, imageShape }, { training: false });
  try {
    for (const [branch, levels] of [
      ['cls_outputs', out.cls_outputs],
      ['box_outputs', out.box_outputs],
    ] as const) {
      for (let l = model.minLevel; l <= model.maxLevel; l++) {
        const key = `${branch}/${l}`;
        const w = want.get(key);
        assert.ok(w, `${outputs} has no ${key}`);
        const g = levels[String(l)];
        assert.deepEqual(g.shape, w.shape, `${name} ${input} ${key}`);
        const gv = g.dataSync();
        const wv = w.data as Float32Array;
        let maxDiff = 0;
        let absMax = 0;
        for (let i = 0; i < gv.length; i++) {
          maxDiff = Math.max(maxDiff, Math.abs(gv[i] - wv[i]));
          absMax = Math.max(absMax, Math.abs(wv[i]));
        }
        assert.ok(
          maxDiff <= 1e-4 * Math.max(1, absMax),
          `${name} ${input} ${key}: max |diff| ${maxDiff} (max |MG| ${absMax})`,
        );
      }
    }
    // Detections (batch 1).
    const n = (want.get('num_detections')!.data as Int32Array)[0];
    assert.equal(out.num_detections!.dataSync()[0], n, `${name} ${input} num_detections`);
    const wBoxes = want.get('detection_boxes')!.data as Float32Array;
    const wScores = want.get('detection_scores')!.data as Float32Array;
    const wClasses = want.get('detection_classes')!.data as Int32Array;
    const gBoxes = out.detection_boxes!.dataSync();
    const gScores = out.detection_scores!.dataSync();
    const gClasses = out.detection_classes!.dataSync();
    const used = new Set<number>();
    const unmatched: number[] = [];
    for (let i = 0; i < n; i++) {
      const wb = wBoxes.subarray(4 * i, 4 * i + 4);
      let found = -1;
      for (let j = 0; j < n && found < 0; j++) {
        if (used.has(j) || gClasses[j] !== wClasses[i]) continue;
        if (Math.abs(gScores[j] - wScores[i]) > 1e-4) continue;
        const gb = gBoxes.subarray(4 * j, 4 * j + 4);
        if (iou(gb, wb) > 0.99 || maxCoordDiff(gb, wb) <= 1e-2) found = j;
      }
      if (found >= 0) used.add(found);
      else unmatched.push(i);
    }
    assert.ok(
      n - unmatched.length >= Math.min(n, 98),
      `${name} ${input}: ${unmatched.length} unmatched`,
    );
    const lowest = Math.min(...Array.from(wScores.subarray(0, n)));
    for (const i of unmatched) {
      assert.ok(
        wScores[i] - lowest <= 1e-4,
        `${name} ${input}: MG detection ${i} (score ${wScores[i]}, class ${wClasses[i]}) unmatched above the cut-off ${lowest}`,
      );
    }
  } finally {
    tf.dispose([images, imageShape, out] as unknown as tf.Tensor[]);
  }
}

for (const name of ['retinanet_mobilenetv2', 'retinanet_spinenet_mobile', 'retinanet_spinenet']) {
  test(`${name}: loads from its TF checkpoint and reproduces Model Garden's outputs and detections`, () => {
    const { model } = buildCase(name);
    try {
      checkInput(name, model, 'input.npy', 'outputs.npz');
      checkInput(name, model, 'input_b.npy', 'outputs_b.npz');
    } finally {
      model.dispose();
    }
  });
}

test("spinenet.scaling (the retinanet_spinenet case's SCALING_MAP patch) is an extension: it changes the build and has no Model Garden YAML", () => {
  const na = normActivationConfig.parse({ activation: 'swish' });
  const scaled = backboneConfig.parse({
    type: 'spinenet',
    spinenet: {
      model_id: '49S',
      scaling: { endpoints_num_filters: 64, filter_size_scale: 0.25 },
    },
  });
  const plain = backboneConfig.parse({ type: 'spinenet', spinenet: { model_id: '49S' } });
  // SCALING_MAP['49S'] has 128 endpoint filters; the patch 64 (case.json spec_patches).
  const [a, b] = [buildBackbone(plain, na), buildBackbone(scaled, na)];
  assert.equal(a.outputSpecs['3'].channels, 128);
  assert.equal(b.outputSpecs['3'].channels, 64);
  a.dispose();
  b.dispose();
  assert.throws(
    () => modelGardenYaml({ task: { model: { backbone: scaled } } }),
    /task\.model\.backbone\.spinenet\.scaling is a vision-garden extension/,
  );
  assert.doesNotThrow(() => modelGardenYaml({ task: { model: { backbone: plain } } }));
});
