/**
 * Strict mode (runtime.engine_fallback) and the static-shape guard:
 *  - with 'error', a step that cannot compile throws ONE error naming every kernel without a
 *    lowering and the layer that called it (backward kernels: the layer of their forward values);
 *  - the default is 'error' under CI and node's test runner, 'warn' otherwise;
 *  - kernels whose output shape depends on values are refused at compile time, whether listed
 *    (unpadded NMS) or declared by their lowering (`valueDependentShape`);
 *  - the config field is validated, reaches the engine through run_experiment, and is refused
 *    where nothing compiles;
 *  - every existing image-classification model (compact ResNet, ResNet, ResNet-RS, ViT) trains
 *    and evaluates compiled under 'error' (no fallback).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '../../src/tasks/index.js';
import { initBackend, resolveEngineFallback } from '../../src/core/backend/index.js';
import { Rng, setGlobalSeed } from '../../src/core/random.js';
import type { StepParts } from '../../src/core/step_parts.js';
import { compileFunction } from '../../src/engine/compile.js';
import {
  createCompiledStepRunner,
  type CompiledStepRunner,
} from '../../src/engine/compiled_step.js';
import {
  hasValueDependentShape,
  kernelLowering,
  registerKernelLowering,
  type KernelLowering,
} from '../../src/engine/kernels/index.js';
import { buildOptimizer, OptimizerState } from '../../src/train/optimizers/index.js';
import { buildTrainer, resolveExperiment } from '../../src/train/run_experiment.js';
import { BlockTask } from './models.js';

function blockParts() {
  setGlobalSeed(3);
  const task = new BlockTask('bottleneck');
  const model = task.buildModel();
  tf.tidy(() => void task.forward(model, task.batch(2), { training: false }));
  const optimizer = new OptimizerState(buildOptimizer({ type: 'sgd', sgd: { momentum: 0.9 } }));
  return { task, model, optimizer, ema: null, rng: new Rng(1) };
}

test('the default is error under CI and the test runner, warn for users; the config wins', () => {
  assert.equal(resolveEngineFallback(null, {}), 'warn');
  assert.equal(resolveEngineFallback(null, { CI: 'true' }), 'error');
  assert.equal(resolveEngineFallback(null, { CI: 'false' }), 'warn');
  assert.equal(resolveEngineFallback(null, { NODE_TEST_CONTEXT: 'child-v8' }), 'error');
  assert.equal(resolveEngineFallback('warn', { CI: 'true' }), 'warn');
  assert.equal(resolveEngineFallback('error', {}), 'error');
  // This process runs under node's test runner.
  assert.equal(resolveEngineFallback(null), 'error');
});

test("engine_fallback 'error': one error naming every unmapped kernel and its layer", async () => {
  await initBackend('cpu');
  // Relu runs in the bottleneck's call; Step is Relu's gradient (backward, outside any apply).
  const saved = ['Relu', 'Step'].map((k) => [k, registerKernelLowering(k, undefined)] as const);
  try {
    const parts = blockParts();
    const path = parts.model.layers()[0].fullPath();
    const warnings: string[] = [];
    const runner = createCompiledStepRunner(parts, { warn: (m) => warnings.push(m) });
    const err = await runner.trainStep(parts.task.batch(2), 0.1, 1).then(
      () => null,
      (e: Error) => e,
    );
    assert.ok(err, 'the step must throw');
    assert.match(
      err.message,
      /training step cannot be compiled \(runtime.engine_fallback is 'error'\)/,
    );
    assert.ok(err.message.includes(`Relu in ${path}: no ONNX lowering`), err.message);
    assert.ok(err.message.includes(`Step in ${path} (backward): no ONNX lowering`), err.message);
    assert.equal(warnings.length, 0);
    // The same parts with 'warn' run eagerly after one warning naming both kernels.
    const lenient = createCompiledStepRunner(blockParts(), {
      fallback: 'warn',
      warn: (m) => warnings.push(m),
    });
    const r = await lenient.trainStep(parts.task.batch(2), 0.1, 1);
    tf.dispose(r.outputs.logits);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /runs eagerly.*Relu.*Step/);
  } finally {
    for (const [k, l] of saved) registerKernelLowering(k, l);
  }
});

test('value-dependent output shapes are refused at compile time', async () => {
  await initBackend('cpu');
  assert.equal(hasValueDependentShape('NonMaxSuppressionV3', {}), true);
  assert.equal(hasValueDependentShape('NonMaxSuppressionV4', { padToMaxOutputSize: false }), true);
  assert.equal(hasValueDependentShape('NonMaxSuppressionV4', { padToMaxOutputSize: true }), false);
  assert.equal(hasValueDependentShape('Conv2D', {}), false);
  const boxes = tf.tensor2d([0, 0, 1, 1, 0, 0, 1, 1.1, 2, 2, 3, 3], [3, 4]);
  const scores = tf.tensor1d([0.9, 0.8, 0.7]);
  await assert.rejects(
    compileFunction({ boxes, scores }, ({ boxes: b, scores: s }) => [
      tf.image.nonMaxSuppression(b as tf.Tensor2D, s as tf.Tensor1D, 3, 0.5),
    ]),
    /NonMaxSuppressionV3 in outside any layer: its output shape depends on input values \(the trace saw \[2\]\)/,
  );
  // A lowering declares it: the registry entry's optional field.
  const relu = kernelLowering('Relu') as KernelLowering;
  const declared: KernelLowering = Object.assign(
    (ctx: Parameters<KernelLowering>[0]) => relu(ctx),
    {
      valueDependentShape: true,
    },
  );
  registerKernelLowering('Relu', declared);
  try {
    await assert.rejects(
      compileFunction({ scores }, ({ scores: s }) => [tf.relu(s)]),
      /Relu in outside any layer: its output shape depends on input values/,
    );
  } finally {
    registerKernelLowering('Relu', relu);
  }
  tf.dispose([boxes, scores]);
});

test('runtime.engine_fallback is validated, reaches the engine, and is refused off onnx', async () => {
  await initBackend('cpu');
  assert.throws(
    () =>
      resolveExperiment({
        experiment: 'compact_resnet_shapes',
        paramsOverrides: ['runtime.engine_fallback=maybe'],
      }),
    /runtime\.engine_fallback/,
  );
  const resolved = resolveExperiment({
    experiment: 'compact_resnet_shapes',
    paramsOverrides: ['runtime.engine_fallback=warn'],
  });
  const dir = mkdtempSync(join(tmpdir(), 'vg-strict-'));
  const seen: unknown[] = [];
  const { trainer } = buildTrainer(resolved, dir, undefined, 'onnx', (parts, opts) => {
    seen.push(opts.fallback);
    return createCompiledStepRunner(parts, opts);
  });
  assert.deepEqual(seen, ['warn']);
  trainer.dispose();
  assert.throws(
    () => buildTrainer(resolved, dir, undefined, 'cpu'),
    /runtime\.engine_fallback applies to compiled steps \(backend 'onnx'\); the backend is 'cpu'/,
  );
});

/** [experiment, overrides]: each model family small enough for a quick compiled step. */
const MODELS: [string, string[]][] = [
  ['compact_resnet_shapes', []],
  ['resnet_imagenet', ['task.model.backbone.resnet.model_id=18']],
  // ResNet-RS features (SE, ResNet-D shortcut, stem, stochastic depth) on the 18-layer table.
  ['resnet_rs_imagenet', ['task.model.backbone.resnet.model_id=18']],
  ['vit_imagenet_pretrain', ['task.model.backbone.vit.model_name=vit-ti16']],
];

for (const [experiment, overrides] of MODELS) {
  test(`${experiment}: trains and evaluates compiled with engine_fallback 'error'`, async () => {
    await initBackend('wasm');
    const resolved = resolveExperiment({
      experiment,
      paramsOverrides: [
        'task.model.input_size=[32,32,3],task.model.num_classes=5,runtime.engine_fallback=error',
        ...overrides,
      ],
    });
    let runner: CompiledStepRunner<never, never, never> | null = null;
    const { task, trainer } = buildTrainer(
      resolved,
      mkdtempSync(join(tmpdir(), 'vg-strict-')),
      undefined,
      'onnx',
      (parts, opts) => {
        assert.equal(opts.fallback, 'error');
        runner = createCompiledStepRunner(parts as StepParts<never, never, never>, {
          ...opts,
          intraOpNumThreads: 1,
        });
        return runner;
      },
    );
    const r = runner as unknown as CompiledStepRunner<never, never, never>;
    const batch = task.dummyBatch(2) as never;
    const train = await r.trainStep(batch, 0.01, 1);
    assert.ok(Number.isFinite(train.logs.total_loss), `loss ${train.logs.total_loss}`);
    const evaluation = await r.evalStep(batch);
    assert.equal(typeof evaluation.logs.total_loss, 'number');
    assert.equal(r.modeFor('train', batch), 'compiled');
    assert.equal(r.modeFor('eval', batch), 'compiled');
    tf.dispose([train.outputs, evaluation.outputs] as unknown as tf.Tensor[]);
    trainer.dispose();
  });
}
