import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  backbones,
  experiments,
  getExperiment,
  LookupError,
  Registry,
  registerExperiment,
  tasks,
} from '../../src/core/registry.js';
import { baseExperimentConfig } from '../../src/core/config/index.js';

test('register / get / has / names / entries keep registration order', () => {
  const r = new Registry<number>('widget');
  assert.equal(r.register('b', 2), 2);
  r.register('a', 1);
  assert.equal(r.get('a'), 1);
  assert.equal(r.has('b'), true);
  assert.equal(r.has('c'), false);
  assert.deepEqual(r.names(), ['b', 'a']);
  assert.deepEqual(r.entries(), [
    ['b', 2],
    ['a', 1],
  ]);
  assert.equal(r.unregister('b'), true);
  assert.deepEqual(r.names(), ['a']);
});

test('duplicate registration throws and names both registrations', () => {
  const r = new Registry<() => string>('backbone');
  r.register('resnet', function buildResNet() {
    return 'first';
  });
  assert.throws(
    () =>
      r.register('resnet', function buildOtherResNet() {
        return 'second';
      }),
    {
      message:
        "backbone 'resnet' is already registered (existing: function buildResNet; " +
        'new: function buildOtherResNet); names must be unique',
    },
  );
  assert.throws(() => r.register('', () => ''), /the name may not be empty/);
});

test('unknown names: LookupError with the closest names and the import hint', () => {
  const r = new Registry<number>('backbone');
  for (const [i, name] of ['resnet', 'resnet_deeplab', 'mobilenet', 'efficientnet'].entries()) {
    r.register(name, i);
  }
  assert.throws(
    () => r.get('resnt'),
    (err: unknown) =>
      err instanceof LookupError &&
      err.kind === 'backbone' &&
      err.key === 'resnt' &&
      err.suggestions[0] === 'resnet' &&
      err.message ===
        "unknown backbone 'resnt'. Did you mean 'resnet'? " +
          'If it exists, is the module that registers it imported?',
  );
  // Nothing close: the registered names are listed instead.
  assert.throws(() => r.get('vit'), {
    message:
      "unknown backbone 'vit'. Registered: resnet, resnet_deeplab, mobilenet, efficientnet. " +
      'If it exists, is the module that registers it imported?',
  });
  assert.throws(() => new Registry<number>('decoder').get('fpn'), /No decoder is registered\./);
});

test('experiments: registerExperiment / getExperiment, duplicates rejected', () => {
  const name = 'test_only_base_experiment';
  const entry = {
    factory: () => baseExperimentConfig.parse({ trainer: { train_steps: 12 } }),
    description: 'base task, for the registry test',
    taskType: 'base',
  };
  registerExperiment(name, entry);
  try {
    const got = getExperiment(name);
    assert.equal(got.taskType, 'base');
    assert.equal(got.factory().trainer.train_steps, 12);
    assert.notEqual(got.factory(), got.factory()); // a fresh config per call
    assert.throws(
      () => registerExperiment(name, entry),
      new RegExp(
        `experiment '${name}' is already registered \\(existing: 'base task, for the registry ` +
          `test' \\(task base\\)`,
      ),
    );
    assert.throws(() => getExperiment('test_only_base_experimen'), {
      name: 'LookupError',
      message: new RegExp(`Did you mean '${name}'\\?`),
    });
  } finally {
    experiments.unregister(name);
  }
});

test('component registries are separate, named by kind', () => {
  assert.equal(backbones.kind, 'backbone');
  assert.equal(tasks.kind, 'task');
  const name = 'test_only_task';
  tasks.register(name, {
    experimentSchema: baseExperimentConfig,
    create: (taskConfig) => ({ initCheckpoint: taskConfig.init_checkpoint }),
  });
  try {
    const created = tasks.get(name).create(baseExperimentConfig.parse({}).task);
    assert.deepEqual(created, { initCheckpoint: '' });
    assert.equal(backbones.has(name), false);
  } finally {
    tasks.unregister(name);
  }
  assert.throws(
    () => backbones.get('no_such_backbone_xyz'),
    /unknown backbone 'no_such_backbone_xyz'/,
  );
});
