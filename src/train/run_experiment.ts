/**
 * Experiment name → config → task → trainer, as Model Garden's `train_lib.run_experiment`.
 * Resolves the config (experiment defaults → config files → overrides), writes
 * `model_dir/params.yaml`, selects the backend, builds the task through the registries and runs
 * the requested mode.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { fileError, refuseCloudPath } from '../core/fs_errors.js';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, resolveEngineFallback, usesCompiledSteps } from '../core/backend/index.js';
import { resolveConfig } from '../core/config/index.js';
import { configToYaml, writeParamsYaml } from '../core/config/load.js';
import type { ExperimentConfigBase } from '../core/config/definitions.js';
import { experiments, tasks, type TaskEntry } from '../core/registry.js';
import { setGlobalSeed } from '../core/random.js';
import type { CompiledStepRunnerFactory } from '../core/step_parts.js';
import type { AnyTask } from '../core/task.js';
import { Trainer, type EvalResults, type TrainerEvents, type TrainRunOptions } from './trainer.js';

export const MODES = ['train', 'eval', 'train_and_eval', 'continuous_eval'] as const;
export type Mode = (typeof MODES)[number];

export interface ExperimentSpec {
  experiment: string;
  configFiles?: string[];
  paramsOverrides?: string[];
}

export interface ResolvedExperiment {
  name: string;
  config: ExperimentConfigBase;
  taskEntry: TaskEntry;
}

/** Resolves an experiment's config from its registered defaults, files and overrides. */
export function resolveExperiment(spec: ExperimentSpec): ResolvedExperiment {
  const entry = experiments.get(spec.experiment);
  const taskEntry = tasks.get(entry.taskType);
  const config = resolveConfig(taskEntry.experimentSchema, {
    base: entry.factory(),
    files: spec.configFiles ?? [],
    overrides: spec.paramsOverrides ?? [],
  }) as ExperimentConfigBase;
  return { name: spec.experiment, config, taskEntry };
}

/** Default backend in Node: the ONNX Runtime engine (compiled train and eval steps). */
export const DEFAULT_NODE_BACKEND = 'onnx';

/** The seed of an experiment: train_data.seed when set, else 0. */
export function experimentSeed(config: ExperimentConfigBase): number {
  return config.task.train_data.seed ?? 0;
}

export interface RunOptions extends ExperimentSpec {
  mode: Mode;
  modelDir: string;
  /** Overrides runtime.backend. */
  backend?: string;
  events?: TrainerEvents;
  /**
   * The compiled step runner for the `onnx` backend (src/engine's `createCompiledStepRunner`,
   * passed in by the CLI: the trainer does not import the engine).
   */
  compiledSteps?: CompiledStepRunnerFactory;
  /** Train modes: see {@link TrainRunOptions.startOver}. */
  startOver?: boolean;
  /** Train modes: aborting it stops training (see {@link TrainRunOptions.signal}). */
  signal?: AbortSignal;
}

export interface RunResult {
  config: ExperimentConfigBase;
  task: AnyTask;
  trainer: Trainer<never, never, never> | null;
  eval: EvalResults | null;
  step: number;
}

/** Builds the task and a trainer for a resolved experiment (backend must be initialised). */
export function buildTrainer(
  resolved: ResolvedExperiment,
  modelDir: string,
  events?: TrainerEvents,
  backend: string = resolved.config.runtime.backend || DEFAULT_NODE_BACKEND,
  compiledSteps?: CompiledStepRunnerFactory,
): { task: AnyTask; trainer: Trainer<never, never, never> } {
  const { config, taskEntry } = resolved;
  if (config.runtime.engine_fallback !== null && !usesCompiledSteps(backend)) {
    throw new Error(
      `runtime.engine_fallback applies to compiled steps (backend 'onnx'); the backend is '${backend}'`,
    );
  }
  if (usesCompiledSteps(backend) && !compiledSteps) {
    throw new Error(
      `backend '${backend}' runs compiled steps: pass the engine's createCompiledStepRunner ` +
        '(RunOptions.compiledSteps)',
    );
  }
  const seed = experimentSeed(config);
  setGlobalSeed(seed);
  const task = taskEntry.create(config.task) as AnyTask;
  const trainer = new Trainer({
    task,
    trainer: config.trainer,
    modelDir,
    seed,
    events,
    configText: configToYaml(config),
    // runtime.run_eagerly: the eager tfjs steps, as Keras' run_eagerly skips tf.function.
    stepRunnerFactory:
      usesCompiledSteps(backend) && compiledSteps && !config.runtime.run_eagerly
        ? (parts) =>
            compiledSteps(parts, {
              intraOpNumThreads: config.runtime.num_threads || undefined,
              fallback: resolveEngineFallback(config.runtime.engine_fallback),
              warn: (m) => (events?.onMessage ? events.onMessage(m) : console.warn(m)),
            })
        : undefined,
  }) as unknown as Trainer<never, never, never>;
  return { task, trainer };
}

export async function runExperiment(opts: RunOptions): Promise<RunResult> {
  const training = opts.mode === 'train' || opts.mode === 'train_and_eval';
  if (opts.startOver && !training) {
    throw new Error(`start over applies to train and train_and_eval, not ${opts.mode}`);
  }
  refuseCloudPath(opts.modelDir, 'model_dir');
  const resolved = resolveExperiment(opts);
  const { config } = resolved;
  const backend = opts.backend || config.runtime.backend || DEFAULT_NODE_BACKEND;
  await initBackend(backend, { numThreads: config.runtime.num_threads || undefined });
  // Evaluation reads model_dir: it neither creates it nor writes params.yaml there.
  const evaluating = opts.mode === 'eval' || opts.mode === 'continuous_eval';
  // (continuous_eval may start before the trainer has created it, and waits.)
  if (opts.mode === 'eval' && !existsSync(opts.modelDir)) {
    throw new Error(`model_dir '${opts.modelDir}' does not exist: nothing to evaluate`);
  }
  if (!evaluating) {
    try {
      mkdirSync(opts.modelDir, { recursive: true });
    } catch (err) {
      throw fileError(err, 'create model_dir', opts.modelDir);
    }
    writeParamsYaml(opts.modelDir, config);
  }
  const { task, trainer } = buildTrainer(
    resolved,
    opts.modelDir,
    opts.events,
    backend,
    opts.compiledSteps,
  );
  let evalResults: EvalResults | null = null;
  const run: TrainRunOptions = { startOver: opts.startOver, signal: opts.signal };
  try {
    switch (opts.mode) {
      case 'train':
        await trainer.train(false, run);
        break;
      case 'train_and_eval':
        evalResults = await trainer.train(true, run);
        break;
      case 'eval':
        evalResults = await trainer.evaluateLatest();
        break;
      case 'continuous_eval':
        evalResults = await trainer.continuousEval();
        break;
    }
  } finally {
    await trainer.close();
  }
  const step = trainer.step;
  return { config, task, trainer, eval: evalResults, step };
}

/** Frees a run's model and optimizer state. */
export function disposeRun(r: RunResult): void {
  r.trainer?.dispose();
  tf.disposeVariables();
}
