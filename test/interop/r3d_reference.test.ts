/**
 * Model Garden's reference case `r3d` (../shared/data/model-garden-reference/r3d): the R3D-50 K400
 * model (k400_3d-resnet50_tpu.yaml) at block filters 8/16/32/64, built from the case's config.yaml
 * with its fixture overlay (test/fixtures/model_garden_reference/r3d.yaml), loaded strictly from
 * Model Garden's TF checkpoint by `loadWeights` (every variable maps, every weight is loaded),
 * reproduces MG's logits on input.npy and input_b.npy ([1, 8, 64, 64, 3]) in inference mode to
 * 1e-4 (max |MG| is 1.79), eagerly and through the engine's compiled inference (`compileModel`,
 * as predict and evaluation run it) with no eager fallback. Written back as a TF checkpoint
 * (`writeModelTfCheckpoint`, what `convert-checkpoint --to tf` writes) it lists exactly Model
 * Garden's variables (`variables.json`) with bit-identical values.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { parse } from 'yaml';
import { initBackend } from '../../src/core/backend/index.js';
import { deepMerge } from '../../src/core/config/merge.js';
import { withShapeOnlyBuild } from '../../src/core/layer.js';
import { compileModel } from '../../src/engine/compile_model.js';
import { tfCheckpointSource } from '../../src/interop/checkpoint_source.js';
import { writeModelTfCheckpoint } from '../../src/interop/export_tf.js';
import { openTensorBundle } from '../../src/interop/tf/bundle_reader.js';
import { loadWeights } from '../../src/interop/load.js';
import { readNpy, readNpz } from '../../src/interop/numpy.js';
import {
  buildVideoClassificationModel,
  type VideoClassificationModel,
} from '../../src/modeling/models/video_classification_model.js';
import { REPO_ROOT, sharedData } from '../helpers.js';

await initBackend('cpu');

const DIR = sharedData('model-garden-reference', 'r3d');

function buildCase(): VideoClassificationModel {
  const base = parse(readFileSync(`${DIR}/config.yaml`, 'utf8')) as unknown;
  const overlay = parse(
    readFileSync(`${REPO_ROOT}/test/fixtures/model_garden_reference/r3d.yaml`, 'utf8'),
  ) as unknown;
  const task = (
    deepMerge(base, overlay) as { task: { model: unknown; train_data: { num_classes: number } } }
  ).task;
  const model = buildVideoClassificationModel(
    task.model as Record<string, unknown>,
    task.train_data.num_classes,
  );
  const caseJson = JSON.parse(readFileSync(`${DIR}/case.json`, 'utf8')) as {
    input_shape: number[];
    params_total: number;
  };
  withShapeOnlyBuild(() =>
    tf.tidy(() => void model.apply(tf.zeros([0, ...caseJson.input_shape.slice(1)]))),
  );
  assert.equal(model.countParams(), caseJson.params_total);
  const source = tfCheckpointSource(`${DIR}/ckpt`);
  try {
    const { loaded, report } = loadWeights(model, source);
    assert.equal(report.unmatched.length, 0, 'every checkpoint variable maps');
    assert.equal(loaded, model.weights().length);
  } finally {
    source.close();
  }
  return model;
}

const CASES = [
  ['input.npy', 'outputs.npz'],
  ['input_b.npy', 'outputs_b.npz'],
] as const;

function images(input: string): tf.Tensor {
  const x = readNpy(`${DIR}/${input}`);
  return tf.tensor(x.data as Float32Array, x.shape);
}

function assertMatchesMG(logits: tf.Tensor, input: string, outputs: string, how: string): void {
  const want = readNpz(`${DIR}/${outputs}`).get('logits');
  assert.ok(want, `${outputs} has logits`);
  assert.deepEqual(logits.shape, want.shape);
  const g = logits.dataSync();
  const w = want.data as Float32Array;
  let maxDiff = 0;
  let absMax = 0;
  for (let i = 0; i < g.length; i++) {
    maxDiff = Math.max(maxDiff, Math.abs(g[i] - w[i]));
    absMax = Math.max(absMax, Math.abs(w[i]));
  }
  assert.ok(maxDiff <= 1e-4, `r3d ${how} ${input}: max |diff| ${maxDiff} (max |MG| ${absMax})`);
}

test('r3d: loads strictly from the TF checkpoint and reproduces MG logits on both inputs', async () => {
  const model = buildCase();
  for (const [input, outputs] of CASES) {
    const x = images(input);
    const logits = model.apply(x, { training: false });
    assertMatchesMG(logits, input, outputs, 'eager');
    tf.dispose([x, logits]);
  }
  const warnings: string[] = [];
  const example = { images: images(CASES[0][0]) };
  const compiled = await compileModel(
    (i: Record<string, tf.Tensor>) => model.apply(i.images, { training: false }),
    example,
    {
      variables: model.weights().map((w) => ({ name: `model/${w.path}`, variable: w.variable })),
      intraOpNumThreads: 1,
      warn: (m) => warnings.push(m),
    },
  );
  for (const [input, outputs] of CASES) {
    const x = images(input);
    const logits = await compiled.run({ images: x });
    assertMatchesMG(logits, input, outputs, 'compiled');
    tf.dispose([x, logits]);
  }
  assert.deepEqual(warnings, [], 'no eager fallback');
  assert.equal(compiled.modeFor(example), 'compiled');
  tf.dispose(example.images);
  await compiled.dispose();
  model.dispose();
});

test("r3d: written back as a TF checkpoint it is Model Garden's checkpoint (names, shapes, values)", () => {
  const model = buildCase();
  const dir = mkdtempSync(join(tmpdir(), 'vg-r3d-'));
  try {
    const { prefix } = writeModelTfCheckpoint(model, join(dir, 'ckpt'));
    const recorded = JSON.parse(readFileSync(`${DIR}/variables.json`, 'utf8')) as {
      name: string;
      shape: number[];
      dtype: string;
    }[];
    const a = openTensorBundle(prefix);
    const b = openTensorBundle(`${DIR}/ckpt`);
    try {
      assert.deepEqual(
        a.variables().map((v) => [v.name, v.shape, v.dtype]),
        recorded.map((v) => [v.name, v.shape, v.dtype]),
      );
      for (const v of recorded) {
        if (v.name === '_CHECKPOINTABLE_OBJECT_GRAPH') continue;
        assert.deepEqual(a.read(v.name).values, b.read(v.name).values, v.name);
      }
    } finally {
      a.close();
      b.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
    model.dispose();
  }
});
