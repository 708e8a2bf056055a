/**
 * Model Garden's RetinaNet reference cases (../shared/data/model-garden-reference/<case>) through
 * `vision-garden forward` (a subprocess, as a user runs it): `--experiment` with the shipped copy
 * of the case's Model Garden YAML (configs/experiments/retinanet/) and the case's overlay
 * (test/fixtures/model_garden_reference/<case>.yaml), `--checkpoint` the case's TF checkpoint
 * (loaded by rule, strict: every variable maps). `input.npy` and `input_b.npy` go in as one batch
 * of two (inference is per example: batch norm uses its moving statistics, NMS runs per image)
 * with the case's image_shape for both rows, and row 0 / row 1 of the written `.npz` are compared
 * with `outputs.npz` / `outputs_b.npz`:
 * - `cls_outputs/<l>`, `box_outputs/<l>`: max |ours − MG| ≤ 1e-4 · max(1, max |MG|) per output
 *   (float32 sums in another order than TF's kernels; SpineNet's class logits reach ~20);
 * - detections as matched sets: same count; each MG detection matched to one of ours with the same
 *   class, score within 1e-4 and box IoU > 0.99 (or, for boxes clipped to zero width at the
 *   image_shape edge, which have no IoU, corners within 0.01 px); at least 98 of 100 matched, and any unmatched one
 *   scores within 1e-4 of the lowest kept score (a tie at the cut-off that rounding can reorder).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { modelGardenYaml } from '../../src/core/config/index.js';
import { normActivationConfig } from '../../src/core/config/vision_common.js';
import { readNpy, readNpz, writeNpy, type NdArray } from '../../src/interop/numpy.js';
import { backboneConfig } from '../../src/modeling/backbones/config.js';
import { buildBackbone } from '../../src/modeling/backbones/factory.js';
import { REPO_ROOT, sharedData } from '../helpers.js';

const run = promisify(execFile);
const BIN = join(REPO_ROOT, 'bin', 'vision-garden.js');
const MG = (...p: string[]) => sharedData('model-garden-reference', ...p);

const CASES = [
  {
    name: 'retinanet_mobilenetv2',
    experiment: 'retinanet_mobile_coco',
    yaml: 'configs/experiments/retinanet/coco_mobilenetv2_tpu.yaml',
  },
  {
    name: 'retinanet_spinenet_mobile',
    experiment: 'retinanet_mobile_coco',
    yaml: 'configs/experiments/retinanet/coco_spinenet49_mobile_tpu.yaml',
  },
  {
    name: 'retinanet_spinenet',
    experiment: 'retinanet_spinenet_coco',
    yaml: 'configs/experiments/retinanet/coco_spinenet49_tpu.yaml',
  },
];

/** Rows of a [B, ...] array stacked (all of one dtype and trailing shape). */
function stack(arrays: NdArray[]): NdArray {
  const data = new Float32Array(arrays.reduce((n, a) => n + a.data.length, 0));
  let at = 0;
  for (const a of arrays) {
    data.set(Float32Array.from(a.data as ArrayLike<number>), at);
    at += a.data.length;
  }
  const rows = arrays.reduce((n, a) => n + a.shape[0], 0);
  return { dtype: 'float32', shape: [rows, ...arrays[0].shape.slice(1)], data };
}

/** Row `b` of a [B, ...] array's data. */
function row(a: NdArray, b: number): ArrayLike<number> {
  const per = a.data.length / a.shape[0];
  return (a.data as Float32Array | Int32Array).subarray(b * per, (b + 1) * per);
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

/** Row `b` of our outputs against Model Garden's outputs for one input. */
function checkRow(name: string, got: Map<string, NdArray>, b: number, outputs: string): void {
  const want = readNpz(MG(name, outputs));
  const g = (key: string): NdArray => {
    const a = got.get(key);
    assert.ok(a, `forward wrote no ${key}`);
    return a;
  };
  for (const [key, w] of want) {
    if (!/^(cls|box)_outputs\//.test(key)) continue;
    assert.deepEqual(g(key).shape.slice(1), w.shape.slice(1), `${name} ${outputs} ${key}`);
    const gv = row(g(key), b);
    const wv = w.data as Float32Array;
    assert.equal(gv.length, wv.length, `${name} ${outputs} ${key}`);
    let maxDiff = 0;
    let absMax = 0;
    for (let i = 0; i < gv.length; i++) {
      maxDiff = Math.max(maxDiff, Math.abs(gv[i] - wv[i]));
      absMax = Math.max(absMax, Math.abs(wv[i]));
    }
    assert.ok(
      maxDiff <= 1e-4 * Math.max(1, absMax),
      `${name} ${outputs} ${key}: max |diff| ${maxDiff} (max |MG| ${absMax})`,
    );
  }
  // Detections (MG's outputs are of batch 1).
  const n = (want.get('num_detections')!.data as Int32Array)[0];
  assert.equal(row(g('num_detections'), b)[0], n, `${name} ${outputs} num_detections`);
  const wBoxes = want.get('detection_boxes')!.data as Float32Array;
  const wScores = want.get('detection_scores')!.data as Float32Array;
  const wClasses = want.get('detection_classes')!.data as Int32Array;
  const gBoxes = row(g('detection_boxes'), b) as Float32Array;
  const gScores = row(g('detection_scores'), b);
  const gClasses = row(g('detection_classes'), b);
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
    `${name} ${outputs}: ${unmatched.length} unmatched`,
  );
  const lowest = Math.min(...Array.from(wScores.subarray(0, n)));
  for (const i of unmatched) {
    assert.ok(
      wScores[i] - lowest <= 1e-4,
      `${name} ${outputs}: MG detection ${i} (score ${wScores[i]}, class ${wClasses[i]}) unmatched above the cut-off ${lowest}`,
    );
  }
}

for (const c of CASES) {
  test(`forward: ${c.name} loads from its TF checkpoint and reproduces Model Garden's outputs and detections on inputs a and b`, async () => {
    const dir = mkdtempSync(join(tmpdir(), `vg-forward-${c.name}-`));
    try {
      const input = join(dir, 'input_ab.npy');
      const shapes = join(dir, 'image_shape_ab.npy');
      const output = join(dir, 'outputs_ab.npz');
      writeNpy(
        input,
        stack([readNpy(MG(c.name, 'input.npy')), readNpy(MG(c.name, 'input_b.npy'))]),
      );
      const shape = readNpy(MG(c.name, 'image_shape.npy'));
      writeNpy(shapes, stack([shape, shape]));
      // prettier-ignore
      await run(process.execPath, [
        BIN, 'forward', '--experiment', c.experiment,
        '--config_file', join(REPO_ROOT, c.yaml),
        '--config_file', join(REPO_ROOT, 'test', 'fixtures', 'model_garden_reference', `${c.name}.yaml`),
        '--checkpoint', MG(c.name, 'ckpt'),
        '--input', input, '--image_shape', shapes, '--output', output,
      ]);
      const got = readNpz(output);
      const want = readNpz(MG(c.name, 'outputs.npz'));
      assert.deepEqual([...got.keys()].sort(), [...want.keys()].sort());
      checkRow(c.name, got, 0, 'outputs.npz');
      checkRow(c.name, got, 1, 'outputs_b.npz');
    } finally {
      rmSync(dir, { recursive: true, force: true });
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
