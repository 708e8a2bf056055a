/**
 * Model Garden's DeepLabV3+ reference case (../shared/data/model-garden-reference/deeplabv3plus: a
 * width-reduced dilated ResNet-50, output stride 16, multigrid [1, 2, 4], v1 stem, ASPP rates
 * [6, 12, 18] and DeepLabV3+ fusion with level-2 features, at 129×129) through `vision-garden
 * forward` (a subprocess, as a user runs it; the path of the RetinaNet cases): `--experiment
 * seg_deeplabv3plus_pascal` (the case has no Model Garden YAML) with the case's overlay
 * (test/fixtures/model_garden_reference/deeplabv3plus.yaml), `--checkpoint` the case's TF
 * checkpoint (loaded by rule, strict: every variable maps). `input.npy` and `input_b.npy` go in as
 * one batch of two (inference mode: batch norm uses its moving statistics, so rows are
 * independent) and row 0 / row 1 of the written `logits` [2, 33, 33, 21] are MG's `outputs.npz` /
 * `outputs_b.npz` to max |ours − MG| ≤ 1e-4 · max(1, max |MG|).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { parse } from 'yaml';
import { initBackend } from '../../src/core/backend/index.js';
import { modelGardenYaml } from '../../src/core/config/index.js';
import { deepMerge } from '../../src/core/config/merge.js';
import { withShapeOnlyBuild } from '../../src/core/layer.js';
import { readNpy, readNpz, writeNpy, type NdArray } from '../../src/interop/numpy.js';
import { buildSegmentationModel } from '../../src/modeling/models/segmentation_model.js';
import { REPO_ROOT, sharedData } from '../helpers.js';

await initBackend('cpu');

const run = promisify(execFile);
const BIN = join(REPO_ROOT, 'bin', 'vision-garden.js');
const NAME = 'deeplabv3plus';
const DIR = sharedData('model-garden-reference', NAME);
const OVERLAY = join(REPO_ROOT, 'test', 'fixtures', 'model_garden_reference', `${NAME}.yaml`);

function modelSection(): { input_size: number[] } & Record<string, unknown> {
  const base = parse(readFileSync(`${DIR}/config.yaml`, 'utf8')) as unknown;
  const overlay = parse(readFileSync(OVERLAY, 'utf8')) as unknown;
  return (deepMerge(base, overlay) as { task: { model: { input_size: number[] } } }).task.model as {
    input_size: number[];
  } & Record<string, unknown>;
}

/** Two [1, ...] arrays as one [2, ...] float32 batch. */
function stack(a: NdArray, b: NdArray): NdArray {
  const data = new Float32Array(a.data.length + b.data.length);
  data.set(Float32Array.from(a.data as ArrayLike<number>));
  data.set(Float32Array.from(b.data as ArrayLike<number>), a.data.length);
  return { dtype: 'float32', shape: [2, ...a.shape.slice(1)], data };
}

test("forward: deeplabv3plus loads from its TF checkpoint and reproduces Model Garden's logits on inputs a and b", async () => {
  const dir = mkdtempSync(join(tmpdir(), `vg-forward-${NAME}-`));
  try {
    const input = join(dir, 'input_ab.npy');
    const output = join(dir, 'outputs_ab.npz');
    writeNpy(input, stack(readNpy(`${DIR}/input.npy`), readNpy(`${DIR}/input_b.npy`)));
    // prettier-ignore
    await run(process.execPath, [
      BIN, 'forward', '--experiment', 'seg_deeplabv3plus_pascal', '--config_file', OVERLAY,
      '--checkpoint', `${DIR}/ckpt`, '--input', input, '--output', output,
    ]);
    const got = readNpz(output);
    assert.deepEqual([...got.keys()], ['logits']);
    const logits = got.get('logits')!;
    const g = logits.data as Float32Array;
    const per = g.length / 2;
    for (const [b, outputs] of [
      [0, 'outputs.npz'],
      [1, 'outputs_b.npz'],
    ] as const) {
      const want = readNpz(`${DIR}/${outputs}`).get('logits');
      assert.ok(want, `${outputs} has no logits`);
      assert.deepEqual(logits.shape, [2, ...want.shape.slice(1)], `${outputs}: logits shape`);
      const w = want.data as Float32Array;
      assert.equal(w.length, per);
      let maxDiff = 0;
      let absMax = 0;
      for (let i = 0; i < per; i++) {
        maxDiff = Math.max(maxDiff, Math.abs(g[b * per + i] - w[i]));
        absMax = Math.max(absMax, Math.abs(w[i]));
      }
      assert.ok(
        maxDiff <= 1e-4 * Math.max(1, absMax),
        `${NAME} ${outputs}: max |diff| ${maxDiff} (max |MG| ${absMax})`,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("dilated_resnet.block_specs (the case's RESNET_SPECS patch) is an extension: it changes the build and has no Model Garden YAML", () => {
  const cfg = modelSection();
  assert.throws(
    () => modelGardenYaml({ task: { model: cfg } }),
    /task\.model\.backbone\.dilated_resnet\.block_specs is a vision-garden extension/,
  );
  const plain = structuredClone(cfg) as unknown as {
    backbone: { dilated_resnet: { block_specs?: unknown } };
  };
  delete plain.backbone.dilated_resnet.block_specs;
  assert.doesNotThrow(() => modelGardenYaml({ task: { model: plain } }));
  // RESNET_SPECS[50] has 64/128/256/512 filters: 4·512 channels out; the patch 4·64.
  const [a, b] = [buildSegmentationModel(plain as never), buildSegmentationModel(cfg as never)];
  assert.equal(a.backbone.outputSpecs['4'].channels, 2048);
  assert.equal(b.backbone.outputSpecs['4'].channels, 256);
  // The patched model has case.json's parameter count.
  const [h, w] = cfg.input_size;
  withShapeOnlyBuild(() =>
    tf.tidy(() => void b.apply(tf.zeros([0, h, w, 3]), { training: true, stateUpdates: [] })),
  );
  const case_ = JSON.parse(readFileSync(`${DIR}/case.json`, 'utf8')) as { params_total: number };
  assert.equal(b.countParams(), case_.params_total, 'parameters of the width-reduced model');
  a.dispose();
  b.dispose();
});
