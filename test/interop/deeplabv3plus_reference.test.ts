/**
 * Model Garden's DeepLabV3+ reference case (../shared/data/model-garden-reference/deeplabv3plus: a
 * width-reduced dilated ResNet-50, output stride 16, multigrid [1, 2, 4], v1 stem, ASPP rates
 * [6, 12, 18] and DeepLabV3+ fusion with level-2 features, at 129×129): the model is built from the
 * case's config.yaml with its fixture overlay (test/fixtures/model_garden_reference/
 * deeplabv3plus.yaml) by `buildSegmentationModel`, loaded strictly from the case's TF checkpoint
 * (every variable of `model/backbone`, `model/decoder`, `model/head` maps, none left over), and run
 * in inference mode on `input.npy` and `input_b.npy`, eagerly and compiled (`compileModel`, the
 * path of predict and evaluation; no eager fallback allowed): the logits [1, 33, 33, 21] are MG's
 * `outputs.npz` / `outputs_b.npz` to max |ours − MG| ≤ 1e-4 · max(1, max |MG|).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { parse } from 'yaml';
import { initBackend } from '../../src/core/backend/index.js';
import { modelGardenYaml } from '../../src/core/config/index.js';
import { deepMerge } from '../../src/core/config/merge.js';
import { withShapeOnlyBuild } from '../../src/core/layer.js';
import { compileModel } from '../../src/engine/compile_model.js';
import { tfCheckpointSource } from '../../src/interop/checkpoint_source.js';
import { loadWeights } from '../../src/interop/load.js';
import { readNpy, readNpz } from '../../src/interop/numpy.js';
import {
  buildSegmentationModel,
  type SegmentationModel,
} from '../../src/modeling/models/segmentation_model.js';
import { REPO_ROOT, sharedData } from '../helpers.js';

await initBackend('cpu');

const NAME = 'deeplabv3plus';
const DIR = sharedData('model-garden-reference', NAME);

function modelSection(): { input_size: number[] } & Record<string, unknown> {
  const base = parse(readFileSync(`${DIR}/config.yaml`, 'utf8')) as unknown;
  const overlay = parse(
    readFileSync(`${REPO_ROOT}/test/fixtures/model_garden_reference/${NAME}.yaml`, 'utf8'),
  ) as unknown;
  return (deepMerge(base, overlay) as { task: { model: { input_size: number[] } } }).task.model as {
    input_size: number[];
  } & Record<string, unknown>;
}

function buildCase(): SegmentationModel {
  const cfg = modelSection();
  const model = buildSegmentationModel(cfg as never);
  const [h, w] = cfg.input_size;
  withShapeOnlyBuild(() =>
    tf.tidy(() => void model.apply(tf.zeros([0, h, w, 3]), { training: true, stateUpdates: [] })),
  );
  const case_ = JSON.parse(readFileSync(`${DIR}/case.json`, 'utf8')) as { params_total: number };
  assert.equal(model.countParams(), case_.params_total, 'parameters of the width-reduced model');
  const source = tfCheckpointSource(`${DIR}/ckpt`);
  try {
    const { loaded, report } = loadWeights(model, source);
    assert.equal(report.unmatched.length, 0);
    assert.equal(loaded, model.weights().length);
  } finally {
    source.close();
  }
  return model;
}

/** Runs the model (eager, or compiled when given) on `input` and compares with MG's logits. */
async function checkInput(
  model: SegmentationModel,
  input: string,
  outputs: string,
  compiled?: { run(i: Record<string, tf.Tensor>): Promise<{ logits: tf.Tensor }> },
): Promise<void> {
  const x = readNpy(`${DIR}/${input}`);
  const want = readNpz(`${DIR}/${outputs}`).get('logits');
  assert.ok(want, `${outputs} has no logits`);
  const images = tf.tensor(x.data as Float32Array, x.shape);
  const logits = compiled
    ? (await compiled.run({ images })).logits
    : model.apply(images, { training: false });
  try {
    assert.deepEqual(logits.shape, want.shape, `${input}: logits shape`);
    const g = logits.dataSync();
    const w = want.data as Float32Array;
    let maxDiff = 0;
    let absMax = 0;
    for (let i = 0; i < g.length; i++) {
      maxDiff = Math.max(maxDiff, Math.abs(g[i] - w[i]));
      absMax = Math.max(absMax, Math.abs(w[i]));
    }
    assert.ok(
      maxDiff <= 1e-4 * Math.max(1, absMax),
      `${NAME} ${input}${compiled ? ' (compiled)' : ''}: max |diff| ${maxDiff} (max |MG| ${absMax})`,
    );
  } finally {
    tf.dispose([images, logits]);
  }
}

test("deeplabv3plus: loads from its TF checkpoint and reproduces Model Garden's logits on both inputs, eager and compiled", async () => {
  const model = buildCase();
  const variables = model.weights().map((w) => ({ name: `model/${w.path}`, variable: w.variable }));
  const predict = (i: Record<string, tf.Tensor>) => ({
    logits: model.apply(i.images, { training: false }),
  });
  const example = { images: tf.zeros([1, 129, 129, 3]) };
  const compiled = await compileModel(predict, example, {
    variables,
    intraOpNumThreads: 1,
    fallback: 'error',
  });
  example.images.dispose();
  try {
    for (const run of [undefined, compiled]) {
      await checkInput(model, 'input.npy', 'outputs.npz', run);
      await checkInput(model, 'input_b.npy', 'outputs_b.npz', run);
    }
  } finally {
    await compiled.dispose();
    model.dispose();
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
  a.dispose();
  b.dispose();
});
