/**
 * ONNX export (src/export/onnx_export.ts through the library's `toOnnx`): for a classifier, a
 * RetinaNet (decoding and padded NMS inside the graph) and a tiny DeepLabV3+ (logits), the exported file's outputs on a batch of
 * three fixed random images equal the tfjs model's (eager, on the cpu backend) to 1e-4 in
 * onnxruntime-node and in Python's onnxruntime (the virtual environment `.ci/run` installs,
 * `.venv-onnx/`, or the interpreter named by VG_PYTHON); batch norms are folded away.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import * as tf from '@tensorflow/tfjs-core';
import { createModel, toOnnx, type VisionModel } from '../../src/index.js';
import { initBackend } from '../../src/core/backend/index.js';
import { Rng } from '../../src/core/random.js';
import { decodeModel } from '../../src/engine/onnx_proto.js';
import { writeNpy } from '../../src/interop/numpy.js';
import { REPO_ROOT } from '../helpers.js';

await initBackend('cpu');

const TOL = 1e-4;

/** Python with onnxruntime and numpy: VG_PYTHON, else the venv .ci/run creates. */
function python(): string {
  const py = process.env.VG_PYTHON ?? join(REPO_ROOT, '.venv-onnx', 'bin', 'python');
  assert.ok(
    existsSync(py),
    `no Python with onnxruntime at ${py}: run .ci/run's install step (python3 -m venv .venv-onnx && .venv-onnx/bin/pip install onnxruntime numpy) or set VG_PYTHON`,
  );
  return py;
}

/**
 * Gives batch norms non-trivial statistics (so folding them shows in the outputs) and every
 * kernel unit-variance-preserving values (RetinaNet's zero-mean 1e-5 head would tie every score).
 */
function randomizeWeights(vm: VisionModel, seed: number): void {
  const rng = new Rng(seed);
  for (const w of vm.model.weights()) {
    const n = w.variable.size;
    let values: Float32Array | null = null;
    if (w.path.endsWith('kernel')) {
      const fanIn = w.variable.shape.slice(0, -1).reduce((a, b) => a * b, 1);
      const r = Math.sqrt(3 / fanIn);
      values = Float32Array.from({ length: n }, () => r * (2 * rng.uniform() - 1));
    }
    if (w.path.endsWith('moving_variance'))
      values = Float32Array.from({ length: n }, () => 0.5 + rng.uniform());
    else if (w.path.endsWith('moving_mean'))
      values = Float32Array.from({ length: n }, () => 0.2 * (rng.uniform() - 0.5));
    else if (w.path.endsWith('gamma'))
      values = Float32Array.from({ length: n }, () => 0.5 + rng.uniform());
    else if (w.path.endsWith('beta'))
      values = Float32Array.from({ length: n }, () => 0.2 * (rng.uniform() - 0.5));
    if (values) {
      const t = tf.tensor(values, w.variable.shape);
      w.variable.assign(t);
      t.dispose();
    }
  }
}

function randomInputs(vm: VisionModel, batch: number, seed: number): Record<string, tf.Tensor> {
  const rng = new Rng(seed);
  const p = vm.preprocessing;
  const [h, w] = p.padded_size ?? [p.input_size[0], p.input_size[1]];
  const n = batch * h * w * p.input_size[2];
  const shapes = Array.from({ length: batch }, () => [p.input_size[0], p.input_size[1]]).flat();
  return {
    image: tf.tensor4d(
      Float32Array.from({ length: n }, () => 2 * rng.uniform() - 1),
      [batch, h, w, p.input_size[2]],
    ),
    image_shape: tf.tensor2d(shapes, [batch, 2]),
  };
}

function assertAllClose(
  name: string,
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
): void {
  assert.equal(actual.length, expected.length, `${name}: length`);
  let worst = 0;
  for (let i = 0; i < expected.length; i++)
    worst = Math.max(worst, Math.abs(actual[i] - expected[i]));
  assert.ok(worst <= TOL, `${name}: max |difference| ${worst} > ${TOL}`);
}

/** Exports `vm`, runs it in both runtimes on a batch of three and compares with tfjs. */
async function checkExport(
  vm: VisionModel,
  seed: number,
): Promise<{ outputs: Record<string, tf.Tensor> }> {
  const bytes = await toOnnx(vm);
  const dir = mkdtempSync(join(tmpdir(), 'vg-onnx-export-'));
  const file = join(dir, 'model.onnx');
  writeFileSync(file, bytes);

  // Batch norm folded: no moving statistics or batch-norm scale/offset left as initializers.
  const model = decodeModel(bytes) as {
    graph: { node: { attribute?: { g?: { initializer?: { name: string }[] } }[] }[] };
  };
  const body = model.graph.node[0].attribute!.find((a) => a.g)!.g!;
  const names = (body.initializer ?? []).map((i) => i.name);
  assert.ok(names.length > 0);
  for (const n of names) assert.doesNotMatch(n, /moving_mean|moving_variance|gamma|beta/, n);

  const inputs = randomInputs(vm, 3, seed);
  const expected = await vm.run(inputs as never);
  const session = await ort.InferenceSession.create(file);
  const feeds: Record<string, ort.Tensor> = {};
  for (const name of session.inputNames) {
    const t = inputs[name];
    feeds[name] = new ort.Tensor('float32', (await t.data()) as Float32Array, t.shape);
  }
  const got = await session.run(feeds);
  assert.deepEqual([...session.outputNames].sort(), Object.keys(expected).sort());
  for (const [name, t] of Object.entries(expected)) {
    assert.deepEqual([...got[name].dims], t.shape, `${name}: shape`);
    assertAllClose(`onnxruntime-node ${name}`, got[name].data as Float32Array, await t.data());
  }
  await session.release();

  // Python onnxruntime on the same file and inputs.
  for (const name of session.inputNames) {
    const t = inputs[name];
    writeNpy(join(dir, `${name}.npy`), {
      dtype: 'float32',
      shape: t.shape,
      data: (await t.data()) as Float32Array,
    });
  }
  const script = [
    'import json, sys, numpy as np, onnxruntime as ort',
    `s = ort.InferenceSession(${JSON.stringify(file)}, providers=['CPUExecutionProvider'])`,
    `feeds = {i.name: np.load(${JSON.stringify(dir)} + '/' + i.name + '.npy') for i in s.get_inputs()}`,
    'outs = s.run(None, feeds)',
    'print(json.dumps({o.name: v.astype(np.float64).ravel().tolist() for o, v in zip(s.get_outputs(), outs)}))',
  ].join('\n');
  const r = spawnSync(python(), ['-c', script], { encoding: 'utf8', maxBuffer: 64 << 20 });
  assert.equal(r.status, 0, r.stderr);
  const py = JSON.parse(r.stdout) as Record<string, number[]>;
  for (const [name, t] of Object.entries(expected)) {
    assertAllClose(`python onnxruntime ${name}`, py[name], await t.data());
  }
  tf.dispose(Object.values(inputs));
  return { outputs: expected };
}

test('a classifier exported to ONNX matches tfjs in onnxruntime-node and Python onnxruntime', async () => {
  const vm = await createModel('compact_resnet_shapes');
  randomizeWeights(vm, 3);
  const { outputs } = await checkExport(vm, 7);
  const p = await outputs.probabilities.data();
  assert.ok(Math.max(...p) < 0.999, 'probabilities are not degenerate');
  tf.dispose(Object.values(outputs));
  await vm.dispose();
});

test('a RetinaNet exported to ONNX (decoding and padded NMS) matches tfjs in both runtimes', async () => {
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
          detection_generator: { pre_nms_score_threshold: 0.0, max_num_detections: 10 },
        },
      },
    },
  });
  randomizeWeights(vm, 5);
  const { outputs } = await checkExport(vm, 11);
  const n = await outputs.num_detections.data();
  assert.ok(
    n.every((v) => v > 0),
    `every image has detections: ${n}`,
  );
  tf.dispose(Object.values(outputs));
  await vm.dispose();
});

test('a DeepLabV3+ exported to ONNX (dilated ResNet, ASPP, low-level fusion) matches tfjs in both runtimes', async () => {
  const vm = await createModel({
    experiment: 'seg_deeplabv3plus_pascal',
    params: {
      task: {
        model: {
          num_classes: 5,
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
  assert.equal(vm.inference.kind, 'segmentation');
  randomizeWeights(vm, 13);
  const { outputs } = await checkExport(vm, 17);
  // The V3+ head's logits are at the low-level features' stride 4 (level 2) of a 64 x 64 input;
  // the argmax is not one class everywhere.
  assert.deepEqual(outputs.logits.shape, [3, 16, 16, 5]);
  const ids = await tf.argMax(outputs.logits, -1).data();
  assert.ok(new Set(ids).size > 1, `classes vary: ${ids}`);
  tf.dispose(Object.values(outputs));
  await vm.dispose();
});
