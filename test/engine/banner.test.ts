/**
 * The tfjs Node banner ("Hi, looks like you are running TensorFlow.js in Node.js ...") never
 * prints: a fresh process on the onnx backend's eager backend (wasm) runs a compiled training step,
 * whose capture records on tfjs-backend-cpu, and its stdout and stderr are checked. A control
 * process that activates the cpu backend without initBackend shows the banner, so the check can
 * fail.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO_ROOT } from '../helpers.js';

const BANNER = /looks like you are running TensorFlow\.js in Node\.js/;

/** Runs an ES module source in a fresh node process at the repository root. */
function runModule(source: string): { out: string; status: number | null } {
  const env = { ...process.env };
  delete env.NODE_TEST_CONTEXT;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', source], {
    cwd: REPO_ROOT,
    env,
    encoding: 'utf8',
  });
  return { out: `${r.stdout}${r.stderr}`, status: r.status };
}

const dist = (path: string) => pathToFileURL(join(REPO_ROOT, 'dist', path)).href;

test('a compiled step prints no tfjs Node banner', () => {
  const { out, status } = runModule(`
    import * as tf from '@tensorflow/tfjs-core';
    import { initBackend } from '${dist('src/core/backend/index.js')}';
    import { Rng } from '${dist('src/core/random.js')}';
    import { createCompiledStepRunner } from '${dist('src/engine/compiled_step.js')}';
    import { buildOptimizer, OptimizerState } from '${dist('src/train/optimizers/index.js')}';
    import { BlockTask } from '${dist('test/engine/models.js')}';
    await initBackend('wasm');
    const task = new BlockTask('bottleneck');
    const model = task.buildModel();
    tf.tidy(() => void task.forward(model, task.batch(2), { training: false }));
    const optimizer = new OptimizerState(buildOptimizer({ type: 'sgd', sgd: {} }));
    const runner = createCompiledStepRunner(
      { task, model, optimizer, ema: null, rng: new Rng(1) },
      { fallback: 'error', intraOpNumThreads: 1, traceOn: 'cpu' },
    );
    const r = await runner.trainStep(task.batch(2), 0.1, 1);
    console.log('mode', runner.modeFor('train', task.batch(2)), 'loss', r.logs.total_loss);
  `);
  assert.equal(status, 0, out);
  assert.match(out, /mode compiled loss \d/);
  assert.doesNotMatch(out, BANNER);
});

test('control: the cpu backend activated without initBackend prints the banner', () => {
  const { out, status } = runModule(`
    import * as tf from '@tensorflow/tfjs-core';
    import '@tensorflow/tfjs-backend-cpu';
    await tf.setBackend('cpu');
    tf.tensor([1, 2]).dataSync();
  `);
  assert.equal(status, 0, out);
  assert.match(out, BANNER);
});
