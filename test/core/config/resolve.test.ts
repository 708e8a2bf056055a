import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  baseExperimentConfig,
  ConfigError,
  loadYamlFile,
  resolveConfig,
  writeParamsYaml,
} from '../../../src/core/config/index.js';

const dir = mkdtempSync(join(tmpdir(), 'vg-resolve-'));
function yamlFile(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

/** Runs `fn`, expects a ConfigError, and returns it. */
function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  assert.fail('expected a ConfigError');
}

const base = {
  trainer: { train_steps: 100, validation_steps: 5, checkpoint_interval: 10 },
  runtime: { backend: 'cpu' },
};

test('order: base, then files in order, then overrides in order; mappings merge key by key', () => {
  const f1 = yamlFile(
    'one.yaml',
    'trainer:\n  train_steps: 200\n  validation_steps: 7\n  optimizer_config:\n' +
      '    optimizer: {type: sgd, sgd: {momentum: 0.9}}\n',
  );
  const f2 = yamlFile('two.yaml', 'trainer:\n  train_steps: 300\n');
  const cfg = resolveConfig(baseExperimentConfig, {
    base,
    files: [f1, f2],
    overrides: ['trainer.validation_steps=8', { trainer: { summary_interval: 3 } }],
  });
  assert.equal(cfg.trainer.train_steps, 300); // base 100 < one.yaml 200 < two.yaml 300
  assert.equal(cfg.trainer.validation_steps, 8); // one.yaml 7 < override 8
  assert.equal(cfg.trainer.checkpoint_interval, 10); // only in base
  assert.equal(cfg.trainer.summary_interval, 3); // mapping override
  assert.equal(cfg.trainer.steps_per_loop, 1000); // schema default
  assert.equal(cfg.runtime.backend, 'cpu');
  assert.equal(cfg.trainer.optimizer_config.optimizer.type, 'sgd');
  assert.equal(cfg.trainer.optimizer_config.optimizer.sgd.momentum, 0.9);
  assert.equal(cfg.trainer.optimizer_config.optimizer.sgd.nesterov, false);
});

test('lists replace as a whole; null replaces a section', () => {
  const f = yamlFile(
    'lists.yaml',
    'trainer:\n  optimizer_config:\n    learning_rate:\n      type: stepwise\n' +
      '      stepwise: {boundaries: [10, 20, 30], values: [1.0, 0.5, 0.25, 0.125]}\n' +
      '    ema: {average_decay: 0.9}\n',
  );
  const cfg = resolveConfig(baseExperimentConfig, {
    files: [f],
    overrides: [
      'trainer.optimizer_config.learning_rate.stepwise.boundaries=[5],' +
        'trainer.optimizer_config.learning_rate.stepwise.values=[0.1, 0.01],' +
        'trainer.optimizer_config.ema=null',
    ],
  });
  assert.deepEqual(cfg.trainer.optimizer_config.learning_rate.stepwise.boundaries, [5]);
  assert.deepEqual(cfg.trainer.optimizer_config.learning_rate.stepwise.values, [0.1, 0.01]);
  assert.equal(cfg.trainer.optimizer_config.ema, null);
});

test('all override syntaxes: assignments, YAML document, JSON document, file path', () => {
  const f = yamlFile('ovr.yaml', 'runtime:\n  num_threads: 4\n');
  const cfg = resolveConfig(baseExperimentConfig, {
    overrides: [
      "task.train_data.tfds_data_dir='gs://b/data', trainer.optimizer_config.optimizer.type=adam",
      '{trainer: {optimizer_config: {optimizer: {adam: {beta_2: 0.98}}}}}',
      '{"task": {"train_data": {"input_path": ["a*", "b*"], "global_batch_size": 8}}}',
      f,
    ],
  });
  assert.equal(cfg.task.train_data.tfds_data_dir, 'gs://b/data');
  assert.equal(cfg.trainer.optimizer_config.optimizer.type, 'adam');
  assert.equal(cfg.trainer.optimizer_config.optimizer.adam.beta_2, 0.98);
  assert.deepEqual(cfg.task.train_data.input_path, ['a*', 'b*']);
  assert.equal(cfg.task.train_data.global_batch_size, 8);
  assert.equal(cfg.runtime.num_threads, 4);
});

test('unknown key deep in a oneOf branch: full path, source, suggestion', () => {
  const f = yamlFile(
    'typo.yaml',
    'trainer:\n  optimizer_config:\n    learning_rate:\n      type: cosine\n' +
      '      cosine:\n        decay_stepz: 1000\n',
  );
  const err = configError(() => resolveConfig(baseExperimentConfig, { files: [f] }));
  assert.equal(err.source, `file '${f}'`);
  assert.deepEqual(err.issues, [
    {
      path: 'trainer.optimizer_config.learning_rate.cosine.decay_stepz',
      message: "unknown key 'decay_stepz' (did you mean 'decay_steps'?)",
      suggestions: ['decay_steps'],
    },
  ]);
  assert.match(err.message, new RegExp(`in file '${f}'`));
  assert.match(err.message, /trainer\.optimizer_config\.learning_rate\.cosine\.decay_stepz/);
});

test('unknown top-level section and unknown key in an override name the override', () => {
  const err = configError(() =>
    resolveConfig(baseExperimentConfig, {
      files: [],
      overrides: ['trainer.train_steps=1', 'trainer.optimizer_config.optimizr.type=sgd'],
    }),
  );
  assert.equal(err.source, "override 'trainer.optimizer_config.optimizr.type=sgd'");
  assert.equal(err.issues[0].path, 'trainer.optimizer_config.optimizr');
  assert.deepEqual(err.issues[0].suggestions, ['optimizer']);
  const top = configError(() =>
    resolveConfig(baseExperimentConfig, { overrides: ['{trainr: {}}'] }),
  );
  assert.equal(top.issues[0].path, 'trainr');
  assert.deepEqual(top.issues[0].suggestions, ['trainer']);
});

test('wrong types: path, expected type and the offending value', () => {
  const err = configError(() =>
    resolveConfig(baseExperimentConfig, {
      overrides: [
        '{trainer: {train_steps: "many", max_to_keep: 2.5, optimizer_config: {optimizer: {sgd: {momentum: [0.9]}}}}, runtime: {tpu: 3}}',
      ],
    }),
  );
  // Zod reports issues in its own traversal order; compare them sorted by path.
  const byPath = (x: string[], y: string[]) => x[0].localeCompare(y[0]);
  assert.deepEqual(err.issues.map((i) => [i.path, i.message]).sort(byPath), [
    ['runtime.tpu', 'expected string or null, got int 3'],
    ['trainer.max_to_keep', 'expected int, got float 2.5'],
    ['trainer.optimizer_config.optimizer.sgd.momentum', 'expected number, got list [0.9]'],
    ['trainer.train_steps', 'expected int, got string "many"'],
  ]);
  assert.equal(err.issues.length, 4);
  assert.match(err.message, /^invalid config \(4 errors in override '\{trainer:/);
});

test('bad oneOf type suggests the closest branch name', () => {
  const err = configError(() =>
    resolveConfig(baseExperimentConfig, {
      overrides: ['trainer.optimizer_config.warmup.type=linaer'],
    }),
  );
  assert.equal(err.issues[0].path, 'trainer.optimizer_config.warmup.type');
  assert.equal(
    err.issues[0].message,
    "got string \"linaer\", expected one of 'linear', 'polynomial' (did you mean 'linear'?)",
  );
});

test('the error names the file it came from, not the later sources', () => {
  const good = yamlFile('good.yaml', 'trainer:\n  train_steps: 5\n');
  const bad = yamlFile('bad_type.yaml', 'runtime:\n  run_eagerly: "yes"\n');
  const err = configError(() =>
    resolveConfig(baseExperimentConfig, {
      files: [good, bad],
      overrides: ['trainer.train_steps=6'],
    }),
  );
  assert.equal(err.source, `file '${bad}'`);
  assert.deepEqual(err.issues[0].path, 'runtime.run_eagerly');
  assert.equal(err.issues[0].message, 'expected boolean, got string "yes"');
});

test('cross-field checks run on the final config, so coordinated changes may span sources', () => {
  const stepwise = 'trainer.optimizer_config.learning_rate.stepwise';
  const cfg = resolveConfig(baseExperimentConfig, {
    overrides: [`${stepwise}.boundaries=[10, 20]`, `${stepwise}.values=[1.0, 0.1, 0.01]`],
  });
  assert.deepEqual(cfg.trainer.optimizer_config.learning_rate.stepwise.values, [1.0, 0.1, 0.01]);
  const err = configError(() =>
    resolveConfig(baseExperimentConfig, {
      overrides: [`${stepwise}.boundaries=[10, 20]`, `${stepwise}.values=[1.0, 0.1]`],
    }),
  );
  assert.equal(err.issues[0].path, `${stepwise}.values`);
  assert.match(err.issues[0].message, /2 boundaries but 2 values/);
  assert.match(
    err.source,
    /^the merged config \(base config, override .*boundaries.*, override .*values/,
  );
  const order = configError(() =>
    resolveConfig(baseExperimentConfig, {
      overrides: [`${stepwise}.boundaries=[20, 10]`],
    }),
  );
  assert.equal(order.issues[0].path, `${stepwise}.boundaries`);
  assert.match(order.issues[0].message, /strictly increasing, got \[20, 10\]/);
});

test('params.yaml round trip: the written file reproduces the same config', () => {
  const cfg = resolveConfig(baseExperimentConfig, {
    base,
    overrides: [
      '{trainer: {optimizer_config: {optimizer: {type: lamb, lamb: {exclude_from_weight_decay: [bias, "1e3"]}}, ' +
        'ema: {average_decay: 0.9999}, learning_rate: {type: stepwise, stepwise: {boundaries: [3, 6], values: [0.3, 0.03, 0.003]}}}}, ' +
        'task: {name: "null", train_data: {input_path: {a: "x*", b: ["y*", "z*"]}, seed: 7}}, runtime: {loss_scale: "dynamic"}}',
    ],
  });
  const modelDir = join(dir, 'round_trip');
  const path = writeParamsYaml(modelDir, cfg);
  // From the file alone, with no base: everything comes from params.yaml.
  const reread = resolveConfig(baseExperimentConfig, { files: [path] });
  assert.deepEqual(reread, cfg);
  assert.equal(reread.task.name, 'null'); // a string that looks like null stays a string
  assert.deepEqual(loadYamlFile(path), cfg);
});

test('a __proto__ key in a file is reported as unknown, not applied to the prototype', () => {
  const f = yamlFile('proto.yaml', '__proto__:\n  polluted: true\ntrainer:\n  train_steps: 1\n');
  const err = configError(() => resolveConfig(baseExperimentConfig, { files: [f] }));
  assert.equal(err.issues[0].path, '__proto__');
  assert.match(err.issues[0].message, /unknown key '__proto__'/);
  assert.equal(({} as { polluted?: boolean }).polluted, undefined);
});
