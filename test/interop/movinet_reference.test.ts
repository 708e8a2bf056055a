/**
 * Model Garden's MoViNet reference cases (../shared/data/model-garden-reference/movinet_a0 and
 * movinet_a0_stream) through `vision-garden forward` (a subprocess, as a user runs it):
 * `--experiment movinet_kinetics600 --config_file test/fixtures/model_garden_reference/<case>.yaml`
 * (whose `task.model` must equal the case's config.yaml's), the TF checkpoint loaded strictly by
 * rule (every variable used), every output equal to Model Garden's outputs.npz / outputs_b.npz to 1e-4 (absolute, or relative
 * where |value| > 1; frame counts exactly): `logits` of movinet_a0, and with `--stream` the clip
 * whole and frame by frame (`clip/*`, `frames/*`) of movinet_a0_stream.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { readNpz } from '../../src/interop/numpy.js';
import { parseMovinetModelConfig } from '../../src/modeling/models/movinet_model.js';
import { REPO_ROOT, sharedData } from '../helpers.js';

const run = promisify(execFile);
const BIN = join(REPO_ROOT, 'bin', 'vision-garden.js');
const MG = (...p: string[]) => sharedData('model-garden-reference', ...p);

for (const [name, stream] of [
  ['movinet_a0', false],
  ['movinet_a0_stream', true],
] as const) {
  test(`forward${stream ? ' --stream' : ''} reproduces Model Garden's ${name} outputs on inputs a and b`, async () => {
    const fixture = join(REPO_ROOT, 'test', 'fixtures', 'model_garden_reference', `${name}.yaml`);
    const model = (file: string) =>
      parseMovinetModelConfig(
        (parse(readFileSync(file, 'utf8')) as { task: { model: unknown } }).task.model,
      );
    assert.deepEqual(model(fixture), model(MG(name, 'config.yaml')), `${name}: task.model`);
    const dir = mkdtempSync(join(tmpdir(), `vg-forward-${name}-`));
    try {
      for (const [input, outputs] of [
        ['input.npy', 'outputs.npz'],
        ['input_b.npy', 'outputs_b.npz'],
      ]) {
        const out = join(dir, outputs);
        // prettier-ignore
        await run(process.execPath, [
          BIN, 'forward', '--experiment', 'movinet_kinetics600',
          '--config_file', fixture,
          '--checkpoint', MG(name, 'ckpt'),
          '--input', MG(name, input), '--output', out,
          ...(stream ? ['--stream'] : []),
        ]);
        const got = readNpz(out);
        const want = readNpz(MG(name, outputs));
        // The generator's own bookkeeping (how many states init_states made) is not a model output.
        const keys = [...want.keys()].filter((k) => k !== 'init_states_keys_count').sort();
        assert.deepEqual([...got.keys()].sort(), keys);
        for (const key of keys) {
          const g = got.get(key)!;
          const w = want.get(key)!;
          assert.deepEqual(g.shape, w.shape, key);
          assert.equal(g.dtype, w.dtype, key);
          for (let i = 0; i < w.data.length; i++) {
            const a = Number(g.data[i]);
            const b = Number(w.data[i]);
            const tol = w.dtype === 'int32' ? 0 : 1e-4 * Math.max(1, Math.abs(b));
            assert.ok(Math.abs(a - b) <= tol, `${name} ${outputs} ${key}[${i}]: ${a} vs ${b}`);
          }
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
