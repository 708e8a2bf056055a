/**
 * Where the time of a compiled training step goes, on the demo experiment
 * (`compact_resnet_shapes`: compact ResNet 'xs', batch 32, 32x32x3), through the trainer:
 *
 *   npx tsx bench/engine/step_profile.ts [--backend onnx|...] [--steps 40] [--ort-profile]
 *                                        [--trace-on cpu|wasm]
 *
 * Prints, per steady step (the first, compiling step excluded): the whole trainer step, and the
 * compiled runner's phases (feed: random draws + tfjs → ORT inputs; run: the ORT session; fetch:
 * losses, assigning new values to the tfjs variables, output tensors); the rest is the input
 * pipeline, metrics and logging. With --ort-profile, also the ORT per-op-type time of the train
 * graph from ORT's own profiler (the profile JSON is left in the temporary model directory).
 * `--trace-on cpu` runs the eager work (and the one traced step) of `--backend onnx` on
 * tfjs-backend-cpu instead of wasm, as the engine did before wasm tracing.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/core/backend/index.js';
import { setGlobalSeed } from '../../src/core/random.js';
import type { Layer } from '../../src/core/layer.js';
import type { Batch, Task } from '../../src/core/task.js';
import { CompiledStepRunner } from '../../src/engine/compiled_step.js';
import '../../src/tasks/index.js';
import { experimentSeed, resolveExperiment } from '../../src/train/run_experiment.js';
import { Trainer } from '../../src/train/trainer.js';
import { opTypeProfile } from './timing.js';

const { values } = parseArgs({
  options: {
    backend: { type: 'string', default: 'onnx' },
    steps: { type: 'string', default: '40' },
    experiment: { type: 'string', default: 'compact_resnet_shapes' },
    'ort-profile': { type: 'boolean', default: false },
    'trace-on': { type: 'string' },
  },
});
const steps = Number(values.steps);
if (!Number.isInteger(steps) || steps < 3) throw new Error('--steps must be an integer ≥ 3');

await initBackend(values['trace-on'] ?? values.backend);
const dir = mkdtempSync(join(tmpdir(), 'vg-bench-profile-'));
const resolved = resolveExperiment({
  experiment: values.experiment,
  paramsOverrides: [
    `trainer.train_steps=${steps},trainer.checkpoint_interval=0,trainer.summary_interval=${steps}`,
  ],
});
const seed = experimentSeed(resolved.config);
setGlobalSeed(seed);
const task = resolved.taskEntry.create(resolved.config.task) as Task<M, Batch, unknown>;
type M = Layer<unknown, unknown>;
let runner: CompiledStepRunner<M, Batch, unknown> | null = null;
const profilePrefix = join(dir, 'ort_profile');
const stamps: number[] = [];
let firstDone = 0;
let phasesAtFirst = { feedMs: 0, runMs: 0, fetchMs: 0 };
const trainer = new Trainer<M, Batch, unknown>({
  task,
  trainer: resolved.config.trainer,
  modelDir: dir,
  seed,
  events: {
    onStep: (info) => {
      stamps.push(performance.now());
      if (info.step === 1) {
        firstDone = stamps[0];
        if (runner) phasesAtFirst = { ...runner.phaseTimes };
      }
    },
  },
  stepRunnerFactory:
    values.backend === 'onnx'
      ? (parts) => {
          runner = new CompiledStepRunner(parts, {
            profileFilePrefix: values['ort-profile'] ? profilePrefix : undefined,
          });
          return runner;
        }
      : undefined,
});
const startedAt = performance.now();
await trainer.train(false);
const steady = stamps.length - 1;
const wallMs = (stamps[stamps.length - 1] - firstDone) / steady;
console.log(
  `${values.experiment} on '${values.backend}' (eager tfjs: ${tf.getBackend()}), ${steady} steady steps:`,
);
console.log(`  first step (compiles)  ${((firstDone - startedAt) / 1000).toFixed(2)} s`);
console.log(`  trainer step          ${wallMs.toFixed(1)} ms`);
if (runner) {
  const r = runner as CompiledStepRunner<M, Batch, unknown>;
  const per = (k: 'feedMs' | 'runMs' | 'fetchMs') => (r.phaseTimes[k] - phasesAtFirst[k]) / steady;
  const inRunner = per('feedMs') + per('runMs') + per('fetchMs');
  const t = r.phaseTimes;
  console.log(
    `  compiling: trace ${(t.traceMs / 1000).toFixed(2)} s, lower ${(t.lowerMs / 1000).toFixed(2)} s, ` +
      `ORT session ${(t.sessionMs / 1000).toFixed(2)} s`,
  );
  console.log(`  runner: feed          ${per('feedMs').toFixed(1)} ms`);
  console.log(`          ORT run       ${per('runMs').toFixed(1)} ms`);
  console.log(`          fetch+assign  ${per('fetchMs').toFixed(1)} ms`);
  console.log(
    `  outside the runner    ${(wallMs - inRunner).toFixed(1)} ms (input, metrics, logs)`,
  );
}
console.log(`  tfjs tensors at end: ${tf.memory().numTensors}`);
await trainer.close();
trainer.dispose();
if (values['ort-profile']) {
  const files = readdirSync(dir).filter((f) => f.startsWith('ort_profile') && f.endsWith('.json'));
  for (const f of files) {
    const prof = opTypeProfile(join(dir, f));
    console.log(`ORT profile ${f} (${prof.runs} runs), kernel time per run by op type:`);
    for (const o of prof.ops.slice(0, 15)) {
      console.log(
        `  ${o.op.padEnd(22)} ${o.msPerRun.toFixed(2).padStart(8)} ms  ${o.percent.toFixed(1).padStart(5)} %`,
      );
    }
  }
  console.log(`(profile files in ${dir})`);
} else {
  rmSync(dir, { recursive: true, force: true });
}
