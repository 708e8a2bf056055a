/**
 * Equality with Model Garden through `vision-garden forward` (a subprocess, as a user runs it):
 * each classification reference case's YAML (test/fixtures/model_garden_reference/<case>.yaml on
 * top of the shipped copy of the case's Model Garden YAML) builds the model, the TF checkpoint is
 * loaded by rule, and every output must equal Model Garden's `outputs.npz` / `outputs_b.npz` to
 * 1e-4 (absolute, or relative where |value| > 1).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { readNpz } from '../../src/interop/numpy.js';
import { REPO_ROOT, sharedData } from '../helpers.js';

const run = promisify(execFile);
const BIN = join(REPO_ROOT, 'bin', 'vision-garden.js');
const MG = (...p: string[]) => sharedData('model-garden-reference', ...p);

const CASES = [
  {
    name: 'resnet_rs',
    experiment: 'resnet_rs_imagenet',
    yaml: 'configs/experiments/image_classification/imagenet_resnetrs50_i160.yaml',
  },
  {
    name: 'vit',
    experiment: 'deit_imagenet_pretrain',
    yaml: 'configs/experiments/image_classification/imagenet_vitti16_i224_tpu.yaml',
  },
];

function assertParity(got: Float32Array, want: Float32Array, what: string): void {
  assert.equal(got.length, want.length, what);
  for (let i = 0; i < want.length; i++) {
    const tol = 1e-4 * Math.max(1, Math.abs(want[i]));
    assert.ok(Math.abs(got[i] - want[i]) <= tol, `${what}[${i}]: ${got[i]} vs ${want[i]}`);
  }
}

for (const c of CASES) {
  test(`forward reproduces Model Garden's ${c.name} outputs on inputs a and b`, async () => {
    const dir = mkdtempSync(join(tmpdir(), `vg-forward-${c.name}-`));
    try {
      for (const [input, outputs] of [
        ['input.npy', 'outputs.npz'],
        ['input_b.npy', 'outputs_b.npz'],
      ]) {
        const out = join(dir, outputs);
        // prettier-ignore
        await run(process.execPath, [
          BIN, 'forward', '--experiment', c.experiment,
          '--config_file', join(REPO_ROOT, c.yaml),
          '--config_file', join(REPO_ROOT, 'test', 'fixtures', 'model_garden_reference', `${c.name}.yaml`),
          '--checkpoint', MG(c.name), // a directory: its single checkpoint
          '--input', MG(c.name, input), '--output', out,
        ]);
        const got = readNpz(out);
        const want = readNpz(MG(c.name, outputs));
        assert.deepEqual([...got.keys()].sort(), [...want.keys()].sort());
        for (const [key, w] of want) {
          const g = got.get(key)!;
          assert.deepEqual(g.shape, w.shape, key);
          assertParity(
            g.data as Float32Array,
            w.data as Float32Array,
            `${c.name} ${outputs} ${key}`,
          );
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('forward: a checkpoint of another model and --stream are one clear error each', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vg-forward-err-'));
  try {
    const vit = CASES[1];
    // prettier-ignore
    const base = [
      BIN, 'forward', '--experiment', vit.experiment, '--config_file', join(REPO_ROOT, vit.yaml),
      '--config_file', join(REPO_ROOT, 'test', 'fixtures', 'model_garden_reference', 'vit.yaml'),
    ];
    const tail = ['--input', MG('vit', 'input.npy'), '--output', join(dir, 'y.npz')];
    await assert.rejects(
      run(process.execPath, [...base, '--checkpoint', MG('resnet_rs', 'ckpt'), ...tail]),
      (e: { stderr: string; code: number }) =>
        e.code === 1 &&
        /^vision-garden: cannot load .*resnet_rs\/ckpt into classification_model:\n/.test(
          e.stderr,
        ) &&
        /unmatched/.test(e.stderr),
    );
    await assert.rejects(
      run(process.execPath, [...base, '--checkpoint', MG('vit', 'ckpt'), '--stream', ...tail]),
      (e: { stderr: string }) => /--stream: streaming .* MoViNet/.test(e.stderr),
    );
    await assert.rejects(
      run(process.execPath, [...base, '--checkpoint', join(dir, 'nope'), ...tail]),
      (e: { stderr: string }) => /checkpoint .*nope not found/.test(e.stderr),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
