/**
 * Field names and defaults against Model Garden's dataclasses. The expected values below are
 * read off the MG sources named in each test (tensorflow/models), not from our output.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  activeBranch,
  baseExperimentConfig,
  dataConfig,
  emaConfig,
  experimentConfigSchema,
  optimizationConfig,
  runtimeConfig,
  taskConfig,
  trainerConfig,
  validateConfig,
  ConfigError,
  sub,
  config,
  int,
} from '../../../src/core/config/index.js';
import {
  augmentationConfig,
  dataDecoderConfig,
  normActivationConfig,
} from '../../../src/core/config/vision_common.js';

// official/core/config_definitions.py, DataConfig fields in declaration order.
const MG_DATA_CONFIG_FIELDS = [
  'input_path',
  'tfds_name',
  'tfds_split',
  'global_batch_size',
  'is_training',
  'drop_remainder',
  'shuffle_buffer_size',
  'cache',
  'cycle_length',
  'block_length',
  'ram_budget',
  'deterministic',
  'sharding',
  'enable_tf_data_service',
  'tf_data_service_address',
  'tf_data_service_job_name',
  'tfds_data_dir',
  'tfds_as_supervised',
  'tfds_skip_decoding_feature',
  'enable_shared_tf_data_service_between_parallel_trainers',
  'apply_tf_data_service_before_batching',
  'trainer_id',
  'seed',
  'prefetch_buffer_size',
  'autotune_algorithm',
];

// official/core/config_definitions.py, RuntimeConfig fields.
const MG_RUNTIME_FIELDS = [
  'distribution_strategy',
  'enable_xla',
  'gpu_thread_mode',
  'dataset_num_private_threads',
  'per_gpu_thread_count',
  'tpu',
  'num_gpus',
  'worker_hosts',
  'task_index',
  'all_reduce_alg',
  'num_packs',
  'mixed_precision_dtype',
  'loss_scale',
  'run_eagerly',
  'batchnorm_spatial_persistent',
  'tpu_enable_xla_dynamic_padder',
  'num_cores_per_replica',
  'default_shard_dim',
  'use_tpu_mp_strategy',
];

// official/core/config_definitions.py, TrainerConfig fields.
const MG_TRAINER_FIELDS = [
  'optimizer_config',
  'train_tf_while_loop',
  'train_tf_function',
  'eval_tf_function',
  'eval_tf_while_loop',
  'allow_tpu_summary',
  'steps_per_loop',
  'summary_interval',
  'checkpoint_interval',
  'max_to_keep',
  'continuous_eval_timeout',
  'train_steps',
  'validation_steps',
  'validation_interval',
  'best_checkpoint_export_subdir',
  'best_checkpoint_eval_metric',
  'best_checkpoint_metric_comp',
  'loss_upper_bound',
  'recovery_begin_steps',
  'recovery_max_trials',
  'validation_summary_subdir',
  'preemption_on_demand_checkpoint',
];

test('an empty mapping parses to the complete default ExperimentConfig', () => {
  const cfg = baseExperimentConfig.parse({});
  assert.deepEqual(Object.keys(cfg), ['task', 'trainer', 'runtime']);
  assert.deepEqual(Object.keys(cfg.task.train_data), MG_DATA_CONFIG_FIELDS);
  assert.deepEqual(Object.keys(cfg.trainer), MG_TRAINER_FIELDS);
  // MG's runtime fields, then our two JS-runtime fields.
  assert.deepEqual(Object.keys(cfg.runtime), [
    ...MG_RUNTIME_FIELDS,
    'backend',
    'num_threads',
    'engine_fallback',
  ]);
  assert.deepEqual(Object.keys(cfg.task), [
    'init_checkpoint',
    'model',
    'train_data',
    'validation_data',
    'name',
    'differential_privacy_config',
    'allow_image_summary',
  ]);
  // No field anywhere is left undefined.
  const walk = (v: unknown, path: string): void => {
    assert.notEqual(v, undefined, `${path} is undefined`);
    if (v && typeof v === 'object') {
      for (const [k, child] of Object.entries(v)) walk(child, `${path}.${k}`);
    }
  };
  walk(cfg, 'config');
});

test('TrainerConfig, RuntimeConfig and DataConfig defaults are Model Garden defaults', () => {
  const t = trainerConfig.parse({});
  assert.equal(t.train_tf_while_loop, true);
  assert.equal(t.eval_tf_while_loop, false);
  assert.equal(t.steps_per_loop, 1000);
  assert.equal(t.summary_interval, 1000);
  assert.equal(t.checkpoint_interval, 1000);
  assert.equal(t.max_to_keep, 5);
  assert.equal(t.continuous_eval_timeout, 3600);
  assert.equal(t.train_steps, 0);
  assert.equal(t.validation_steps, -1);
  assert.equal(t.validation_interval, 1000);
  assert.equal(t.best_checkpoint_export_subdir, '');
  assert.equal(t.best_checkpoint_metric_comp, 'higher');
  assert.equal(t.loss_upper_bound, 1e6);
  assert.equal(t.recovery_max_trials, 0);
  assert.equal(t.validation_summary_subdir, 'validation');
  assert.equal(t.preemption_on_demand_checkpoint, true);

  const r = runtimeConfig.parse({});
  assert.equal(r.distribution_strategy, 'mirrored');
  assert.equal(r.tpu, null);
  assert.equal(r.task_index, -1);
  assert.equal(r.num_packs, 1);
  assert.equal(r.mixed_precision_dtype, null);
  assert.equal(r.num_cores_per_replica, 1);
  assert.equal(r.default_shard_dim, -1);
  assert.equal(r.backend, '');
  assert.equal(r.num_threads, 0);

  const d = dataConfig.parse({});
  assert.equal(d.input_path, '');
  assert.equal(d.global_batch_size, 0);
  assert.equal(d.is_training, null);
  assert.equal(d.drop_remainder, true);
  assert.equal(d.shuffle_buffer_size, 100);
  assert.equal(d.cache, false);
  assert.equal(d.cycle_length, null);
  assert.equal(d.block_length, 1);
  assert.equal(d.deterministic, null);
  assert.equal(d.sharding, true);
  assert.equal(d.seed, null);
});

test('OptimizationConfig defaults follow optimizer_config.py and learning_rate_config.py', () => {
  const o = optimizationConfig.parse({});
  assert.equal(o.optimizer.type, null);
  assert.equal(o.learning_rate.type, null);
  assert.equal(o.warmup.type, null);
  assert.equal(o.ema, null);
  assert.deepEqual(o.optimizer.sgd, {
    clipnorm: null,
    clipvalue: null,
    global_clipnorm: null,
    name: 'SGD',
    decay: 0,
    nesterov: false,
    momentum: 0,
  });
  assert.deepEqual(o.optimizer.adam, {
    clipnorm: null,
    clipvalue: null,
    global_clipnorm: null,
    name: 'Adam',
    beta_1: 0.9,
    beta_2: 0.999,
    epsilon: 1e-7,
    amsgrad: false,
  });
  assert.equal(o.optimizer.adamw.name, 'AdamWeightDecay');
  assert.equal(o.optimizer.adamw.gradient_clip_norm, 1.0);
  assert.equal(o.optimizer.adamw.exclude_from_weight_decay, null);
  // AdamWeightDecayExperimentalConfig redeclares global_clipnorm = 1.0.
  assert.equal(o.optimizer.adamw_experimental.global_clipnorm, 1.0);
  assert.equal(o.optimizer.rmsprop.rho, 0.9);
  assert.equal(o.optimizer.rmsprop.epsilon, 1e-7);
  assert.equal(o.optimizer.lamb.epsilon, 1e-6);
  assert.equal(o.optimizer.lars.momentum, 0.9);
  assert.equal(o.optimizer.lars.eeta, 0.001);
  assert.equal(o.optimizer.lars.classic_momentum, true);
  assert.equal(o.optimizer.adagrad.initial_accumulator_value, 0.1);
  assert.equal(o.optimizer.adafactor.min_dim_size_to_factor, 128);
  assert.equal(o.optimizer.slide.ratio_clip_norm, 1e5);
  assert.deepEqual(o.learning_rate.constant, { name: 'Constant', learning_rate: 0.1 });
  assert.deepEqual(o.learning_rate.stepwise, {
    name: 'PiecewiseConstantDecay',
    boundaries: null,
    values: null,
    offset: 0,
  });
  assert.deepEqual(o.learning_rate.cosine, {
    name: 'CosineDecay',
    initial_learning_rate: null,
    decay_steps: null,
    alpha: 0,
    offset: 0,
  });
  assert.equal(o.learning_rate.polynomial.end_learning_rate, 0.0001);
  assert.equal(o.learning_rate.polynomial.power, 1.0);
  assert.equal(o.learning_rate.power.power, -0.5);
  assert.equal(o.learning_rate.power_linear.linear_decay_fraction, 0.1);
  assert.equal(o.learning_rate.power_with_offset.pre_offset_learning_rate, 1e6);
  assert.deepEqual(o.warmup.linear, {
    name: 'linear',
    warmup_learning_rate: 0,
    warmup_steps: null,
  });
  assert.deepEqual(o.warmup.polynomial, { name: 'polynomial', power: 1, warmup_steps: null });
  assert.deepEqual(Object.keys(o.optimizer), [
    'type',
    'sgd',
    'sgd_experimental',
    'adam',
    'adam_experimental',
    'adamw',
    'adamw_experimental',
    'lamb',
    'rmsprop',
    'lars',
    'adagrad',
    'slide',
    'adafactor',
  ]);
  assert.deepEqual(Object.keys(o.learning_rate), [
    'type',
    'constant',
    'stepwise',
    'exponential',
    'polynomial',
    'cosine',
    'power',
    'power_linear',
    'power_with_offset',
    'step_cosine_with_offset',
  ]);
});

test('EMA is null by default; a mapping for it starts from EMAConfig defaults', () => {
  const o = optimizationConfig.parse({ ema: { average_decay: 0.9999 } });
  assert.deepEqual(o.ema, {
    clipnorm: null,
    clipvalue: null,
    global_clipnorm: null,
    name: 'ExponentialMovingAverage',
    trainable_weights_only: true,
    average_decay: 0.9999,
    start_step: 0,
    dynamic_decay: true,
  });
  assert.deepEqual(emaConfig.parse({}).average_decay, 0.99);
});

test('oneOf: type selects the active branch; unknown type and keys are rejected', () => {
  const o = optimizationConfig.parse({
    optimizer: { type: 'adam', adam: { beta_2: 0.98 } },
    learning_rate: { type: 'cosine', cosine: { initial_learning_rate: 0.1, decay_steps: 100 } },
  });
  assert.deepEqual(activeBranch(o.optimizer), { ...o.optimizer.adam });
  assert.equal(o.optimizer.adam.beta_2, 0.98);
  assert.equal(o.optimizer.adam.beta_1, 0.9);
  assert.equal(activeBranch(o.learning_rate), o.learning_rate.cosine);
  assert.equal(activeBranch(o.warmup), null);
  assert.equal(optimizationConfig.safeParse({ optimizer: { type: 'adamm' } }).success, false);
  assert.equal(
    optimizationConfig.safeParse({ optimizer: { type: 'sgd', sgd: { momentun: 0.9 } } }).success,
    false,
  );
});

test('vision common configs: DataDecoder defaults to simple_decoder, NormActivation defaults', () => {
  // official/vision/configs/common.py
  assert.equal(dataDecoderConfig.parse({}).type, 'simple_decoder');
  assert.deepEqual(dataDecoderConfig.parse({}).simple_decoder.attribute_names, []);
  assert.equal(augmentationConfig.parse({}).type, null);
  assert.equal(augmentationConfig.parse({ type: 'randaug' }).randaug.magnitude, 10);
  assert.deepEqual(normActivationConfig.parse({}), {
    activation: 'relu',
    use_sync_bn: true,
    norm_momentum: 0.99,
    norm_epsilon: 0.001,
  });
});

test('task schemas extend the base TaskConfig and stay strict', () => {
  const model = config({ num_classes: int(0) });
  const schema = experimentConfigSchema(taskConfig({ model: sub(model) }));
  const cfg = validateConfig(schema, { task: { model: { num_classes: 10 } } }, 'test');
  assert.equal(cfg.task.model.num_classes, 10);
  assert.equal(cfg.task.train_data.shuffle_buffer_size, 100);
  assert.throws(
    () => validateConfig(schema, { task: { modle: {} } }, 'test'),
    (err: unknown) =>
      err instanceof ConfigError &&
      err.message.includes("task.modle: unknown key 'modle' (did you mean 'model'?)"),
  );
});

test('distinct parses do not share default lists', () => {
  const a = dataDecoderConfig.parse({});
  const b = dataDecoderConfig.parse({});
  a.simple_decoder.attribute_names.push('x');
  assert.deepEqual(b.simple_decoder.attribute_names, []);
});
