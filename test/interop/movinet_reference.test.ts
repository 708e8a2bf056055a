/**
 * Model Garden's MoViNet reference cases (../shared/data/model-garden-reference/movinet_a0 and
 * movinet_a0_stream): the model is built from our YAML + the case's fixture overlay
 * (test/fixtures/model_garden_reference/<case>.yaml), whose `task.model` must equal the case's
 * config.yaml's, loaded strictly from the case's TF checkpoint (every variable used), and run in
 * inference mode on input.npy and input_b.npy against outputs.npz / outputs_b.npz:
 * - movinet_a0 (3-D convolutions, non-causal): `logits`;
 * - movinet_a0_stream (causal, '3d_2plus1d', SE '2plus3d', hard-swish, states in and out):
 *   the whole clip (`clip/logits`, `clip/states/<name>`) and the clip fed frame by frame, each
 *   call given the previous call's states (`frames/logits_t<i>`, `frames/final_states/<name>`).
 * Tolerance: max |ours − MG| ≤ 1e-4 · max(1, max |MG|) per output (frame counts exactly).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { parse } from 'yaml';
import { initBackend } from '../../src/core/backend/index.js';
import { deepMerge } from '../../src/core/config/merge.js';
import { withShapeOnlyBuild } from '../../src/core/layer.js';
import { tfCheckpointSource } from '../../src/interop/checkpoint_source.js';
import { loadWeights } from '../../src/interop/load.js';
import { readNpy, readNpz, type NdArray } from '../../src/interop/numpy.js';
import {
  buildMovinetModel,
  parseMovinetModelConfig,
  type MovinetClassifier,
} from '../../src/modeling/models/movinet_model.js';
import type { States } from '../../src/modeling/layers/stream_layers.js';
import { REPO_ROOT, sharedData } from '../helpers.js';

await initBackend('cpu');

const readYaml = (file: string) => parse(readFileSync(file, 'utf8')) as unknown;

function buildCase(name: string): MovinetClassifier {
  const dir = sharedData('model-garden-reference', name);
  const ours = deepMerge(
    readYaml(`${REPO_ROOT}/configs/experiments/video_classification/movinet_a0_k600_8x8.yaml`),
    readYaml(`${REPO_ROOT}/test/fixtures/model_garden_reference/${name}.yaml`),
  ) as { task: { model: unknown } };
  const mg = readYaml(`${dir}/config.yaml`) as {
    task: { model: unknown; train_data: { num_classes: number } };
  };
  const cfg = parseMovinetModelConfig(ours.task.model);
  assert.deepEqual(cfg, parseMovinetModelConfig(mg.task.model), `${name}: task.model differs`);
  const model = buildMovinetModel(cfg, mg.task.train_data.num_classes);
  withShapeOnlyBuild(() =>
    tf.tidy(() => {
      model.apply({ image: tf.zeros([1, 1, 64, 64, 3]) });
    }),
  );
  const source = tfCheckpointSource(`${dir}/ckpt`);
  try {
    const { loaded, report } = loadWeights(model, source);
    assert.equal(report.unmatched.length, 0);
    assert.equal(loaded, model.weights().length);
  } finally {
    source.close();
  }
  return model;
}

function assertMatches(got: tf.Tensor, want: NdArray | undefined, what: string): void {
  assert.ok(want, `${what}: not in the reference outputs`);
  assert.deepEqual(got.shape, want.shape, `${what}: shape`);
  if (want.dtype === 'int32') assert.equal(got.dtype, 'int32', `${what}: dtype`);
  const g = got.dataSync();
  const w = want.data as ArrayLike<number>;
  let maxDiff = 0;
  let absMax = 0;
  for (let i = 0; i < g.length; i++) {
    maxDiff = Math.max(maxDiff, Math.abs(g[i] - Number(w[i])));
    absMax = Math.max(absMax, Math.abs(Number(w[i])));
  }
  const tol = got.dtype === 'int32' ? 0 : 1e-4 * Math.max(1, absMax);
  assert.ok(maxDiff <= tol, `${what}: max |diff| ${maxDiff} (max |MG| ${absMax})`);
}

const video = (file: string) => {
  const a = readNpy(file);
  return tf.tensor(a.data as Float32Array, a.shape);
};

test('movinet_a0: checkpoint loads strictly and logits equal Model Garden on both inputs', () => {
  const model = buildCase('movinet_a0');
  const dir = sharedData('model-garden-reference', 'movinet_a0');
  try {
    for (const [input, outputs] of [
      ['input.npy', 'outputs.npz'],
      ['input_b.npy', 'outputs_b.npz'],
    ]) {
      const want = readNpz(`${dir}/${outputs}`);
      tf.tidy(() => {
        const { logits } = model.apply({ image: video(`${dir}/${input}`) });
        assertMatches(logits, want.get('logits'), `movinet_a0 ${input} logits`);
      });
    }
  } finally {
    model.dispose();
  }
});

test('movinet_a0_stream: whole clip and frame-by-frame logits and states equal Model Garden', () => {
  const model = buildCase('movinet_a0_stream');
  const dir = sharedData('model-garden-reference', 'movinet_a0_stream');
  try {
    for (const [input, outputs] of [
      ['input.npy', 'outputs.npz'],
      ['input_b.npy', 'outputs_b.npz'],
    ]) {
      const want = readNpz(`${dir}/${outputs}`);
      tf.tidy(() => {
        const clip = video(`${dir}/${input}`);
        const init = model.initStates(clip.shape);
        const whole = model.apply({ image: clip, states: init });
        assertMatches(whole.logits, want.get('clip/logits'), `${input} clip/logits`);
        const stateNames = [...want.keys()].filter((k) => k.startsWith('clip/states/'));
        assert.deepEqual(
          Object.keys(whole.states).sort(),
          stateNames.map((k) => k.slice('clip/states/'.length)).sort(),
        );
        for (const k of stateNames) {
          assertMatches(whole.states[k.slice('clip/states/'.length)], want.get(k), `${input} ${k}`);
        }
        let states: States = init;
        const frames = clip.shape[1] as number;
        for (let t = 0; t < frames; t++) {
          const frame = tf.slice(clip, [0, t, 0, 0, 0], [-1, 1, -1, -1, -1]);
          const out = model.apply({ image: frame, states });
          assertMatches(out.logits, want.get(`frames/logits_t${t}`), `${input} frame ${t}`);
          states = out.states;
        }
        for (const k of [...want.keys()].filter((n) => n.startsWith('frames/final_states/'))) {
          const name = k.slice('frames/final_states/'.length);
          assertMatches(states[name], want.get(k), `${input} ${k}`);
        }
      });
    }
  } finally {
    model.dispose();
  }
});
