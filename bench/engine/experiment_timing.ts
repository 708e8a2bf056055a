/**
 * First-step and steady-step time of a real training run: the demo experiment
 * (`compact_resnet_shapes`: compact ResNet 'xs', batch 32, 32x32x3) through `runExperiment`, as
 * the CLI runs it.
 *
 *   npx tsx bench/engine/experiment_timing.ts [--backend onnx] [--steps 30] [--experiment NAME]
 *     [--config_file FILE] [--params_override 'task.model.backbone.compact_resnet.model_id=s']
 *
 * Prints the time from the start of training to the end of the first step (which, on the
 * `onnx` backend, includes tracing, lowering and session creation), the median of the other
 * steps, and the process RSS at the end.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import '../../src/tasks/index.js';
import { disposeRun, runExperiment } from '../../src/train/run_experiment.js';
import { createCompiledStepRunner } from '../../src/engine/compiled_step.js';

const { values } = parseArgs({
  options: {
    backend: { type: 'string', default: 'onnx' },
    steps: { type: 'string', default: '30' },
    experiment: { type: 'string', default: 'compact_resnet_shapes' },
    params_override: { type: 'string', multiple: true, default: [] },
    config_file: { type: 'string', multiple: true, default: [] },
  },
});
const steps = Number(values.steps);
if (!Number.isInteger(steps) || steps < 2) throw new Error(`--steps must be an integer ≥ 2`);

const dir = mkdtempSync(join(tmpdir(), 'vg-bench-experiment-'));
const stamps: number[] = [];
let start = 0;
const r = await runExperiment({
  compiledSteps: createCompiledStepRunner,
  mode: 'train',
  experiment: values.experiment,
  modelDir: dir,
  backend: values.backend,
  configFiles: values.config_file,
  paramsOverrides: [
    ...(values.params_override ?? []),
    `trainer.train_steps=${steps},trainer.checkpoint_interval=${steps},trainer.summary_interval=${steps}`,
  ],
  events: {
    onTrainStart: () => (start = performance.now()),
    onStep: () => stamps.push(performance.now()),
    onMessage: (m) => console.log(m),
  },
});
const durations = stamps.map((t, i) => t - (i === 0 ? start : stamps[i - 1]));
const rest = durations.slice(1).sort((a, b) => a - b);
const median = rest[Math.floor(rest.length / 2)];
console.log(
  `${values.experiment} on '${values.backend}': first step ${(durations[0] / 1000).toFixed(2)} s, ` +
    `median of steps 2..${steps} ${median.toFixed(1)} ms ` +
    `(min ${rest[0].toFixed(1)}, max ${rest[rest.length - 1].toFixed(1)}), ` +
    `rss ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB`,
);
disposeRun(r);
rmSync(dir, { recursive: true, force: true });
