/**
 * `createModel` (any registered experiment, optionally with a checkpoint) and `loadModel` (a vg
 * model directory or URL, src/export/vg_format.ts); `saveModel` (Node only) is in ./save.ts.
 */
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../core/backend/index.js';
import { loadYamlFile, resolveConfig } from '../core/config/index.js';
import { joinPath } from '../core/host.js';
import type { ExperimentConfigBase } from '../core/config/definitions.js';
import type { ConfigTree } from '../core/config/merge.js';
import { withShapeOnlyBuild, type Layer } from '../core/layer.js';
import { setGlobalSeed } from '../core/random.js';
import { experiments, tasks } from '../core/registry.js';
import type { AnyTask } from '../core/task.js';
import '../tasks/index.js';
import {
  readVgModelJson,
  readVgWeights,
  type VgModelMeta,
  type VgWeight,
} from '../export/vg_format.js';
import { VisionModel, type RunOptions } from './vision_model.js';

/** An experiment and how to change its config. */
export interface ModelSpec {
  /** Registered experiment name (`vision-garden experiments`). */
  experiment: string;
  /** YAML/JSON config files laid over the experiment's defaults, in order. */
  configFiles?: string[];
  /** `--params_override` strings ('a.b=1,...', YAML or JSON), applied after the files. */
  paramsOverrides?: string[];
  /** A config mapping laid over everything else, e.g. `{task: {model: {num_classes: 5}}}`. */
  params?: ConfigTree;
}

export interface CreateModelOptions extends RunOptions {
  /**
   * Weights to load: a `.vgckpt` file or run directory of ours (EMA averages preferred), a
   * TensorFlow checkpoint (prefix or directory) or a Keras `.weights.h5`. Without one the model
   * has its initial values (seeded by `task.train_data.seed`).
   */
  checkpoint?: string;
  /** Use a checkpoint's EMA averages when it has them (default true). */
  useEma?: boolean;
}

/** The resolved config `createModel` would build (defaults → files → overrides → params). */
export function createModelConfig(spec: string | ModelSpec): ExperimentConfigBase {
  return resolveSpec(spec).config;
}

function resolveSpec(spec: string | ModelSpec): { name: string; config: ExperimentConfigBase } {
  const s: ModelSpec = typeof spec === 'string' ? { experiment: spec } : spec;
  const entry = experiments.get(s.experiment);
  const taskEntry = tasks.get(entry.taskType);
  const config = resolveConfig(taskEntry.experimentSchema, {
    base: entry.factory(),
    files: s.configFiles ?? [],
    overrides: [...(s.paramsOverrides ?? []), ...(s.params ? [s.params] : [])],
  }) as ExperimentConfigBase;
  return { name: s.experiment, config };
}

/**
 * Initialises the pure-JS 'cpu' tfjs backend when none is set yet (call `initBackend` first for
 * another, e.g. 'wasm'), so the library works without setup.
 */
export async function ensureBackend(): Promise<void> {
  if (!tf.getBackend()) await initBackend('cpu');
}

/** Builds a task's model: every weight created (as zeros when they will all be overwritten). */
function buildModel(
  taskType: string,
  config: ExperimentConfigBase,
  shapeOnly: boolean,
): { task: AnyTask; model: Layer<unknown, unknown> } {
  setGlobalSeed(config.task.train_data.seed ?? 0);
  const task = tasks.get(taskType).create(config.task) as AnyTask;
  const model = task.buildModel();
  const build = () =>
    tf.tidy(() => {
      const dummy = task.dummyBatch(1);
      task.forward(model, dummy, { training: false });
      tf.dispose(Object.values(dummy));
    });
  try {
    if (shapeOnly) withShapeOnlyBuild(build);
    else build();
  } catch (err) {
    model.dispose();
    throw err;
  }
  return { task, model };
}

/**
 * Builds any registered experiment's model, with a checkpoint's weights when given.
 * `experiment` is a name or a {@link ModelSpec}.
 */
export async function createModel(
  experiment: string | ModelSpec,
  opts: CreateModelOptions = {},
): Promise<VisionModel> {
  await ensureBackend();
  const { name, config } = resolveSpec(experiment);
  const taskType = experiments.get(name).taskType;
  const { task, model } = buildModel(taskType, config, opts.checkpoint !== undefined);
  try {
    let weightsSource = 'initial values';
    let usedEma = false;
    if (opts.checkpoint !== undefined) {
      // Checkpoints are files: the loader (node:fs) is imported only here.
      const { loadCheckpoint } = await import('./weights.js');
      const loaded = await loadCheckpoint(model, opts.checkpoint, opts.useEma ?? true);
      weightsSource = loaded.source;
      usedEma = loaded.usedEma;
    }
    return new VisionModel(
      { experiment: name, taskType, config, weightsSource, usedEma },
      task,
      model,
      opts,
    );
  } catch (err) {
    model.dispose();
    throw err;
  }
}

/** The task type whose experiment schema accepts `config` (exactly one must). */
function taskTypeOf(config: ConfigTree, where: string): string {
  const fits = tasks.entries().filter(([, t]) => t.experimentSchema.safeParse(config).success);
  if (fits.length === 1) return fits[0][0];
  throw new Error(
    fits.length === 0
      ? `${where}: no registered task accepts this config (is it a vision-garden params.yaml?)`
      : `${where}: several tasks accept this config (${fits.map(([n]) => n).join(', ')}); name the experiment`,
  );
}

/**
 * The model of a training run: its `params.yaml` (the resolved config the trainer wrote) and its
 * latest checkpoint (EMA averages preferred), or `opts.checkpoint`. The task is the one whose
 * schema accepts params.yaml, or the experiment's when `experiment` is given.
 */
export async function createModelFromRun(
  modelDir: string,
  opts: CreateModelOptions & { experiment?: string } = {},
): Promise<VisionModel> {
  await ensureBackend();
  const paramsFile = joinPath(modelDir, 'params.yaml');
  if (opts.experiment) {
    return createModel(
      { experiment: opts.experiment, configFiles: [paramsFile] },
      { ...opts, checkpoint: opts.checkpoint ?? modelDir },
    );
  }
  const params = loadYamlFile(paramsFile);
  const taskType = taskTypeOf(params, paramsFile);
  const config = resolveConfig(tasks.get(taskType).experimentSchema, {
    base: params,
  }) as ExperimentConfigBase;
  const { task, model } = buildModel(taskType, config, true);
  try {
    const { loadCheckpoint } = await import('./weights.js');
    const loaded = await loadCheckpoint(model, opts.checkpoint ?? modelDir, opts.useEma ?? true);
    return new VisionModel(
      { experiment: null, taskType, config, weightsSource: loaded.source, usedEma: loaded.usedEma },
      task,
      model,
      opts,
    );
  } catch (err) {
    model.dispose();
    throw err;
  }
}

/**
 * Loads a vg model (a directory, or an http(s)/file URL of one) written by `saveModel` or
 * `vision-garden export --format vg`; every weight shard is checked against its SHA-256.
 */
export async function loadModel(source: string, opts: RunOptions = {}): Promise<VisionModel> {
  await ensureBackend();
  const json = await readVgModelJson(source);
  const entry = tasks.get(json.task_type);
  const config = resolveConfig(entry.experimentSchema, {
    base: json.config,
  }) as ExperimentConfigBase;
  const weights = await readVgWeights(source, json);
  const { task, model } = buildModel(json.task_type, config, true);
  try {
    const byName = new Map(weights.map((w) => [w.name, w]));
    const vars = model.weights();
    const missing = vars.filter((w) => !byName.has(w.path)).map((w) => w.path);
    if (missing.length) {
      throw new Error(
        `model ${source}: ${missing.length} of the model's ${vars.length} weights are not in it (first: '${missing[0]}')`,
      );
    }
    if (weights.length !== vars.length) {
      const known = new Set(vars.map((w) => w.path));
      const extra = weights.find((w) => !known.has(w.name))!;
      throw new Error(`model ${source}: weight '${extra.name}' is not a weight of the model`);
    }
    for (const v of vars) {
      const w = byName.get(v.path)!;
      if (w.shape.join(',') !== v.variable.shape.join(',')) {
        throw new Error(
          `model ${source}: weight '${v.path}' has shape [${w.shape}], the model's is [${v.variable.shape}]`,
        );
      }
      const t = tf.tensor(w.data, w.shape, v.variable.dtype);
      v.variable.assign(t);
      t.dispose();
    }
    const vm = new VisionModel(
      {
        experiment: json.experiment,
        taskType: json.task_type,
        config,
        weightsSource: source,
        usedEma: false,
      },
      task,
      model,
      opts,
    );
    return vm;
  } catch (err) {
    model.dispose();
    throw err;
  }
}

/** The model's weights by Keras path, as the vg format stores them. */
export async function modelWeights(vm: VisionModel): Promise<VgWeight[]> {
  const out: VgWeight[] = [];
  for (const w of vm.model.weights()) {
    const data = await w.variable.data();
    out.push({
      name: w.path,
      shape: [...w.variable.shape],
      data: data instanceof Int32Array ? data : Float32Array.from(data as Float32Array),
    });
  }
  return out;
}

/** What model.json (and an exported ONNX file's metadata) says of `vm` besides its weights. */
export function modelMeta(vm: VisionModel, generatedBy = 'vision-garden'): VgModelMeta {
  return {
    generated_by: generatedBy,
    task_type: vm.info.taskType,
    experiment: vm.info.experiment,
    config: vm.info.config,
    preprocessing: vm.preprocessing,
    labels: vm.labels,
    label_source: vm.inference.labelSource,
  };
}
