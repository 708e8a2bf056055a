/**
 * The scripts of examples/ run as a user runs them (`node examples/X.mjs`, importing the package
 * by name) on tiny models: their printed predictions equal the library's in-process ones, and
 * the fine-tuning example starts from the given checkpoint.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createModel,
  loadModel,
  saveModel,
  type ClassificationPrediction,
  type DetectionPrediction,
} from '../src/index.js';
import { initBackend } from '../src/core/backend/index.js';
import { writeCheckpointFile, type StoredTensor } from '../src/train/checkpoint.js';
import { REPO_ROOT } from './helpers.js';
import { noisePng, randomizeWeights } from './fixture_writers.js';

await initBackend('cpu');

function example(name: string, args: string[]): string[] {
  const r = spawnSync(process.execPath, [join(REPO_ROOT, 'examples', name), ...args], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    timeout: 240_000,
    env: { ...process.env, CI: 'true' },
  });
  assert.equal(r.status, 0, `${name}: ${r.stderr}`);
  return r.stdout.trim().split('\n');
}

test('examples/classify.mjs prints the library top-5', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vg-example-classify-'));
  const vm = await createModel('compact_resnet_shapes');
  randomizeWeights(vm, 1);
  await saveModel(vm, join(dir, 'model'));
  await vm.dispose();
  const png = join(dir, 'x.png');
  await noisePng(png, 30, 40, 2);
  const lines = example('classify.mjs', [join(dir, 'model'), png]);
  const m = await loadModel(join(dir, 'model'));
  const p = (await m.predict(png, { topK: 5 })) as ClassificationPrediction;
  await m.dispose();
  assert.deepEqual(
    lines,
    p.classes.map((c) => `${c.label}\t${c.score.toFixed(6)}`),
  );
});

test('examples/detect.mjs prints the library detections', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vg-example-detect-'));
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
          detection_generator: { pre_nms_score_threshold: 0.0, max_num_detections: 4 },
        },
      },
    },
  });
  randomizeWeights(vm, 3);
  await saveModel(vm, join(dir, 'model'));
  await vm.dispose();
  const png = join(dir, 'x.png');
  await noisePng(png, 48, 80, 4);
  const lines = example('detect.mjs', [join(dir, 'model'), png, '0']);
  const m = await loadModel(join(dir, 'model'));
  const p = (await m.predict(png, { scoreThreshold: 0 })) as DetectionPrediction;
  await m.dispose();
  assert.equal(p.detections.length, 4);
  assert.deepEqual(
    lines,
    p.detections.map(
      (d) => `${d.label}\t${d.score.toFixed(6)}\t${d.box.map((v) => v.toFixed(2)).join(' ')}`,
    ),
  );
});

test('examples/fine_tune.mjs trains on from the checkpoint and exports a model', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vg-example-finetune-'));
  const init = await createModel('compact_resnet_shapes');
  randomizeWeights(init, 5);
  const tensors = new Map<string, StoredTensor>();
  const initial = new Map<string, Float32Array>();
  for (const w of init.model.weights()) {
    const data = Float32Array.from(await w.variable.data());
    initial.set(w.path, data);
    tensors.set(`model/${w.path}`, { dtype: 'float32', shape: [...w.variable.shape], data });
  }
  await init.dispose();
  const ckpt = join(dir, 'init.vgckpt');
  await writeCheckpointFile(ckpt, { tensors, meta: {} });
  const out = join(dir, 'out');
  const lines = example('fine_tune.mjs', [ckpt, out, '2']);
  assert.deepEqual(lines, ['trained to step 2', `exported ${join(out, 'model')}`]);

  // Two small steps from the checkpoint stay near it; a fresh initialisation is far from it.
  const tuned = await loadModel(join(out, 'model'));
  const fresh = await createModel('compact_resnet_shapes');
  let nearTuned = 0;
  let nearFresh = 0;
  const freshByPath = new Map(fresh.model.weights().map((w) => [w.path, w.variable]));
  for (const w of tuned.model.weights()) {
    if (!w.path.endsWith('kernel')) continue;
    const a = await w.variable.data();
    const f = await freshByPath.get(w.path)!.data();
    const i0 = initial.get(w.path)!;
    for (let i = 0; i < a.length; i++) {
      nearTuned += Math.abs(a[i] - i0[i]);
      nearFresh += Math.abs(f[i] - i0[i]);
    }
  }
  assert.ok(nearTuned > 0, 'training changed the weights');
  assert.ok(nearTuned < 0.1 * nearFresh, `${nearTuned} vs ${nearFresh}`);
  await Promise.all([tuned.dispose(), fresh.dispose()]);
});
