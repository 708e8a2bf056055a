/**
 * The experiment config sections of Model Garden's official/core/config_definitions.py:
 * DataConfig, RuntimeConfig, TrainerConfig, TaskConfig and ExperimentConfig, with MG's field
 * names and defaults so MG YAML files parse unchanged.
 *
 * Several fields only steer TensorFlow machinery (tf.distribute, TPUs, XLA, tf.data service,
 * tf.function/while loops) and cannot change a result here: they are accepted so Model Garden's
 * files load and marked {@link noEffect}. Fields that would change results but are not
 * implemented are marked {@link notSupported}: setting them is an error.
 */
import { z } from 'zod';
import { optimizationConfig } from './optimization.js';
import {
  bool,
  config,
  extendConfig,
  float,
  int,
  isUnsetValue,
  noEffect,
  notSupported,
  notSupportedMessage,
  optBool,
  optInt,
  optStr,
  optSub,
  str,
  sub,
  subWith,
  type ConfigSchema,
} from './schema.js';

/**
 * `input_path`: one path or pattern (possibly comma-separated), a list of them, or a mapping of
 * named inputs to either (MG: `Union[Sequence[str], str, Config]`, for data mixing).
 */
const inputPathField = z
  .union([
    z.string(),
    z.array(z.string()),
    z.record(z.string(), z.union([z.string(), z.array(z.string())])),
  ])
  .default('');

/** `tfds_name`: a dataset name or a mapping of named inputs to names (MG: `Union[str, Config]`). */
const tfdsNameField = z.union([z.string(), z.record(z.string(), z.string())]).default('');

/** DataConfig: the base input-pipeline config of every task's train/validation data. */
export const dataConfig = config({
  input_path: inputPathField,
  tfds_name: tfdsNameField,
  tfds_split: str(''),
  /** 0 = unset (an input that is used must set it). */
  global_batch_size: z.int().nonnegative().default(0),
  is_training: optBool(),
  drop_remainder: bool(true),
  shuffle_buffer_size: int(100),
  cache: noEffect(bool(false), 'tf.data cache (speed only)'),
  /** File interleaving of tf.data; the pipeline here has its own seeded order. */
  cycle_length: notSupported(optInt()),
  block_length: notSupported(int(1)),
  ram_budget: noEffect(optInt(), 'tf.data autotune RAM budget (speed only)'),
  deterministic: noEffect(optBool(), 'tf.data may reorder when false; this pipeline never does'),
  sharding: noEffect(bool(true), 'splits files between tf.distribute input workers'),
  enable_tf_data_service: noEffect(bool(false), 'tf.data service'),
  tf_data_service_address: noEffect(optStr(), 'tf.data service'),
  tf_data_service_job_name: noEffect(optStr(), 'tf.data service'),
  tfds_data_dir: str(''),
  tfds_as_supervised: notSupported(bool(false)),
  tfds_skip_decoding_feature: notSupported(str('')),
  enable_shared_tf_data_service_between_parallel_trainers: noEffect(bool(false), 'tf.data service'),
  apply_tf_data_service_before_batching: noEffect(bool(false), 'tf.data service'),
  trainer_id: noEffect(optStr(), 'parallel trainers sharing a tf.data service'),
  seed: optInt(),
  prefetch_buffer_size: noEffect(optInt(), 'tf.data prefetch (speed only)'),
  autotune_algorithm: noEffect(optStr(), 'tf.data autotune algorithm (speed only)'),
});

/**
 * RuntimeConfig: where and how the experiment runs. MG's fields are all TF/accelerator settings
 * and have no effect here except `mixed_precision_dtype` (read by the trainer) and
 * `run_eagerly`; `backend`, `num_threads` and `engine_fallback` are vision-garden's own (MG has
 * no fields of those names).
 */
export const runtimeConfig = config({
  distribution_strategy: noEffect(str('mirrored'), 'tf.distribute strategy'),
  enable_xla: noEffect(bool(false), 'XLA compilation'),
  gpu_thread_mode: noEffect(optStr(), 'TF GPU threads'),
  dataset_num_private_threads: noEffect(optInt(), 'tf.data threads'),
  per_gpu_thread_count: noEffect(int(0), 'TF GPU threads'),
  tpu: noEffect(optStr(), 'TPU address'),
  num_gpus: noEffect(int(0), 'tf.distribute devices'),
  worker_hosts: noEffect(optStr(), 'multi-worker tf.distribute'),
  task_index: noEffect(int(-1), 'multi-worker tf.distribute'),
  all_reduce_alg: noEffect(optStr(), 'tf.distribute all-reduce'),
  num_packs: noEffect(int(1), 'tf.distribute all-reduce'),
  /**
   * MG's TPU/GPU files ask for bfloat16/float16 compute to go faster; everything here computes in
   * float32 (at least as precise), so these files load and train in float32.
   */
  mixed_precision_dtype: noEffect(optStr(), 'reduced-precision compute; float32 here'),
  /** A loss-scale name or a fixed scale: only meaningful with float16 compute. */
  loss_scale: noEffect(
    z.union([z.string(), z.number()]).nullable().default(null),
    'float16 loss scaling; float32 here',
  ),
  /** true: eager tfjs steps instead of the compiled ONNX steps (as MG's Keras run_eagerly). */
  run_eagerly: bool(false),
  batchnorm_spatial_persistent: noEffect(bool(false), 'cuDNN batch-norm kernel choice'),
  tpu_enable_xla_dynamic_padder: noEffect(optBool(), 'XLA on TPU'),
  num_cores_per_replica: noEffect(int(1), 'TPU model parallelism'),
  default_shard_dim: noEffect(int(-1), 'TPU model parallelism'),
  use_tpu_mp_strategy: noEffect(bool(false), 'TPU model parallelism'),
  /** vision-garden: tensor backend ('cpu', 'wasm', 'tensorflow', ...); '' = platform default. */
  backend: str(''),
  /** vision-garden: threads for backends with a thread pool; 0 = all cores. */
  num_threads: z.int().nonnegative().default(0),
  /**
   * vision-garden: what the `onnx` backend does with a step it cannot compile: 'warn' runs it
   * eagerly after one warning, 'error' throws, listing every kernel without a lowering and the
   * layer that called it. null = 'error' under CI (`CI=true`) and node's test runner, else 'warn'
   * (`resolveEngineFallback` in src/core/backend).
   */
  engine_fallback: z.enum(['warn', 'error']).nullable().default(null),
});

/** TrainerConfig: optimization, loop intervals, checkpointing and evaluation schedule. */
export const trainerConfig = config({
  optimizer_config: sub(optimizationConfig),
  train_tf_while_loop: noEffect(bool(true), 'Orbit tf.while_loop'),
  train_tf_function: noEffect(bool(true), 'tf.function'),
  eval_tf_function: noEffect(bool(true), 'tf.function'),
  eval_tf_while_loop: noEffect(bool(false), 'Orbit tf.while_loop'),
  allow_tpu_summary: noEffect(bool(false), 'TPU summaries'),
  steps_per_loop: int(1000),
  summary_interval: int(1000),
  /** Steps between training checkpoints; 0 writes none periodically (only the final one). */
  checkpoint_interval: z.int().nonnegative().default(1000),
  /** As tf.train.CheckpointManager: a positive count. */
  max_to_keep: z.int().positive().default(5),
  /** Seconds; MG's default is one hour. */
  continuous_eval_timeout: int(60 * 60),
  train_steps: z.int().nonnegative().default(0),
  /** -1 evaluates the whole validation set. */
  validation_steps: int(-1),
  validation_interval: int(1000),
  best_checkpoint_export_subdir: str(''),
  best_checkpoint_eval_metric: str(''),
  best_checkpoint_metric_comp: z.enum(['higher', 'lower']).default('higher'),
  /** With recovery_max_trials >= 0, a training loss above this (or NaN) stops training. */
  loss_upper_bound: float(1e6),
  /** The loss bound is checked from this step on. */
  recovery_begin_steps: int(0),
  /**
   * < 0: no loss-bound check; 0: stop with an error when the bound is broken (MG's default);
   * > 0 (restore the last checkpoint and retry) is not supported yet.
   */
  recovery_max_trials: z
    .int()
    .max(0, 'values > 0 (restore and retry) are not supported yet')
    .default(0),
  validation_summary_subdir: str('validation'),
  preemption_on_demand_checkpoint: bool(true),
});

/** DifferentialPrivacyConfig (official/modeling/privacy/configs.py). */
export const differentialPrivacyConfig = config({
  clipping_norm: float(100000000.0),
  noise_multiplier: float(0.0),
});

/**
 * The fields every task has (MG TaskConfig). `model` is null in the base; each task replaces it
 * with its model schema (and its data sections with its DataConfig subclass) via
 * {@link taskConfig}.
 */
export const taskConfigShape = {
  init_checkpoint: str(''),
  model: z.null().default(null),
  train_data: sub(dataConfig),
  validation_data: sub(dataConfig),
  name: optStr(),
  /** Deprecated in MG. */
  differential_privacy_config: notSupported(optSub(differentialPrivacyConfig)),
  allow_image_summary: bool(false),
};

/** The base TaskConfig section. */
export const baseTaskConfig = config(taskConfigShape);

/**
 * A task's config: the base TaskConfig fields plus (or replaced by) the task's own, e.g.
 * `taskConfig({model: sub(imageClassificationModel), losses: sub(losses)})`.
 */
export function taskConfig<E extends z.ZodRawShape>(extra: E) {
  return extendConfig(baseTaskConfig, extra);
}

/**
 * A task's `train_data` and `validation_data` sections, both of its DataConfig with is_training
 * true and false by default, as Model Garden's task dataclasses declare them.
 */
export function dataSplits<T extends ConfigSchema>(data: T) {
  return {
    train_data: subWith(data, { is_training: true } as unknown as Partial<z.input<T>>),
    validation_data: subWith(data, { is_training: false } as unknown as Partial<z.input<T>>),
  };
}

/** `init_checkpoint_modules`: 'all', 'backbone' and/or 'decoder' (one string or a list). */
export function initCheckpointModules() {
  return z.union([z.string(), z.array(z.string())]).default('all');
}

/**
 * ExperimentConfig `{task, trainer, runtime}` for a given task schema.
 */
export function experimentConfigSchema<T extends ConfigSchema>(taskSchema: T) {
  return config({
    task: sub(taskSchema),
    trainer: sub(trainerConfig),
    runtime: sub(runtimeConfig),
  }).superRefine((value, ctx) => {
    for (const [path, accepted] of Object.entries(NOT_SUPPORTED_YET)) {
      let at: unknown = value;
      for (const key of path.split('.')) {
        at =
          at !== null && typeof at === 'object' ? (at as Record<string, unknown>)[key] : undefined;
      }
      if (at !== undefined && !isUnsetValue(at, accepted)) {
        ctx.addIssue({
          code: 'custom',
          path: path.split('.'),
          message: notSupportedMessage(at, accepted),
        });
      }
    }
  });
}

/**
 * Experiment-level fields (path → accepted values) rejected with "not supported yet" while their
 * implementation is pending; null and '' count as unset. Empty now: init_checkpoint and the
 * preemption checkpoint, its last entries, are implemented. The config audit reads this list.
 */
export const NOT_SUPPORTED_YET: Readonly<Record<string, readonly unknown[]>> = {};

/** ExperimentConfig with the base task (no model). */
export const baseExperimentConfig = experimentConfigSchema(baseTaskConfig);

export type DataConfig = z.infer<typeof dataConfig>;
export type RuntimeConfig = z.infer<typeof runtimeConfig>;
export type TrainerConfig = z.infer<typeof trainerConfig>;
export type DifferentialPrivacyConfig = z.infer<typeof differentialPrivacyConfig>;
export type TaskConfig = z.infer<typeof baseTaskConfig>;
export type ExperimentConfig = z.infer<typeof baseExperimentConfig>;

/**
 * What the runtime may rely on in any task's config section. Task configs may narrow field types
 * (MG's DataConfig subclasses make `input_path` a plain string) and some widen
 * `init_checkpoint` to `Optional[str]` (MG image_classification), hence `string | null`.
 */
export type TaskConfigBase = Omit<TaskConfig, 'model' | 'init_checkpoint'> & {
  init_checkpoint: string | null;
  /** Each task's own model config. */
  model: unknown;
};

/** What every experiment config has in common, whatever its task: used by the runtime. */
export interface ExperimentConfigBase {
  task: TaskConfigBase;
  trainer: TrainerConfig;
  runtime: RuntimeConfig;
}
