/**
 * The experiment config sections of Model Garden's official/core/config_definitions.py:
 * DataConfig, RuntimeConfig, TrainerConfig, TaskConfig and ExperimentConfig, with MG's field
 * names and defaults so MG YAML files parse unchanged.
 *
 * Several fields only steer TensorFlow machinery (tf.distribute, TPUs, XLA, tf.data service,
 * tf.function/while loops); they are accepted and kept for compatibility but have NO effect
 * here. Each is marked "no effect here" below.
 */
import { z } from 'zod';
import { optimizationConfig } from './optimization.js';
import {
  bool,
  config,
  extendConfig,
  float,
  int,
  optBool,
  optInt,
  optStr,
  optSub,
  str,
  sub,
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
  global_batch_size: int(0),
  is_training: optBool(),
  drop_remainder: bool(true),
  shuffle_buffer_size: int(100),
  cache: bool(false),
  cycle_length: optInt(),
  block_length: int(1),
  deterministic: optBool(),
  sharding: bool(true),
  /** No effect here (tf.data service). */
  enable_tf_data_service: bool(false),
  /** No effect here (tf.data service). */
  tf_data_service_address: optStr(),
  /** No effect here (tf.data service). */
  tf_data_service_job_name: optStr(),
  tfds_data_dir: str(''),
  tfds_as_supervised: bool(false),
  tfds_skip_decoding_feature: str(''),
  /** No effect here (tf.data service). */
  enable_shared_tf_data_service_between_parallel_trainers: bool(false),
  /** No effect here (tf.data service). */
  apply_tf_data_service_before_batching: bool(false),
  /** No effect here (parallel trainers sharing a tf.data service). */
  trainer_id: optStr(),
  seed: optInt(),
  prefetch_buffer_size: optInt(),
});

/**
 * RuntimeConfig: where and how the experiment runs. MG's fields are all TF/accelerator settings
 * and have no effect here except `mixed_precision_dtype` (read by the trainer) and
 * `run_eagerly`; `backend`, `num_threads` and `engine_fallback` are vision-garden's own (MG has
 * no fields of those names).
 */
export const runtimeConfig = config({
  /** No effect here (tf.distribute strategy). */
  distribution_strategy: str('mirrored'),
  /** No effect here (XLA). */
  enable_xla: bool(false),
  /** No effect here. */
  gpu_thread_mode: optStr(),
  /** No effect here. */
  dataset_num_private_threads: optInt(),
  /** No effect here. */
  per_gpu_thread_count: int(0),
  /** No effect here (TPU address). */
  tpu: optStr(),
  /** No effect here. */
  num_gpus: int(0),
  /** No effect here (multi-worker). */
  worker_hosts: optStr(),
  /** No effect here (multi-worker). */
  task_index: int(-1),
  /** No effect here. */
  all_reduce_alg: optStr(),
  /** No effect here. */
  num_packs: int(1),
  /** 'float32', 'float16' or 'bfloat16'; null = float32. */
  mixed_precision_dtype: optStr(),
  /** A loss-scale name or a fixed scale. */
  loss_scale: z.union([z.string(), z.number()]).nullable().default(null),
  run_eagerly: bool(false),
  /** No effect here (cuDNN batch norm). */
  batchnorm_spatial_persistent: bool(false),
  /** No effect here (XLA dynamic padder). */
  tpu_enable_xla_dynamic_padder: optBool(),
  /** No effect here (model parallelism). */
  num_cores_per_replica: int(1),
  /** No effect here (model parallelism). */
  default_shard_dim: int(-1),
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
  /** No effect here (Orbit tf.while_loop). */
  train_tf_while_loop: bool(true),
  /** No effect here (tf.function). */
  train_tf_function: bool(true),
  /** No effect here (tf.function). */
  eval_tf_function: bool(true),
  /** No effect here (Orbit tf.while_loop). */
  eval_tf_while_loop: bool(false),
  /** No effect here (TPU summaries). */
  allow_tpu_summary: bool(false),
  steps_per_loop: int(1000),
  summary_interval: int(1000),
  checkpoint_interval: int(1000),
  max_to_keep: int(5),
  /** Seconds; MG's default is one hour. */
  continuous_eval_timeout: int(60 * 60),
  train_steps: int(0),
  /** -1 evaluates the whole validation set. */
  validation_steps: int(-1),
  validation_interval: int(1000),
  best_checkpoint_export_subdir: str(''),
  best_checkpoint_eval_metric: str(''),
  best_checkpoint_metric_comp: z.enum(['higher', 'lower']).default('higher'),
  loss_upper_bound: float(1e6),
  recovery_begin_steps: int(0),
  /** < 0: no recovery; 0: fail when the loss bound is broken; > 0: restore up to this often. */
  recovery_max_trials: int(0),
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
  /** Deprecated in MG; no effect here. */
  differential_privacy_config: optSub(differentialPrivacyConfig),
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
 * ExperimentConfig `{task, trainer, runtime}` for a given task schema.
 */
export function experimentConfigSchema<T extends ConfigSchema>(taskSchema: T) {
  return config({
    task: sub(taskSchema),
    trainer: sub(trainerConfig),
    runtime: sub(runtimeConfig),
  });
}

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
