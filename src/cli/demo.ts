/**
 * `vision-garden demo`: the built-in default job. Trains the compact_resnet_shapes experiment on
 * generated shapes (no download), evaluates it, saves checkpoints, then loads the saved model
 * into a fresh process-local model and predicts on a newly rendered image.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Layer } from '../core/layer.js';
import { initBackend, resolveEngineFallback, usesCompiledSteps } from '../core/backend/index.js';
import { CompiledModel } from '../engine/compile_model.js';
import { createCompiledStepRunner } from '../engine/compiled_step.js';
import { renderShape, SHAPE_CLASS_NAMES } from '../data/synthetic/shapes.js';
import { InMemoryImageClassification, MEAN_RGB, STDDEV_RGB } from '../data/in_memory.js';
import type { ImageClassificationTask } from '../tasks/image_classification/task.js';
import {
  buildTrainer,
  DEFAULT_NODE_BACKEND,
  disposeRun,
  resolveExperiment,
  runExperiment,
} from '../train/run_experiment.js';
import { formatMetrics, progressEvents } from './progress.js';

export interface DemoOptions {
  modelDir: string;
  paramsOverride: string[];
  backend?: string;
  plain?: boolean;
}

export const DEMO_EXPERIMENT = 'compact_resnet_shapes';

export async function runDemo(
  opts: DemoOptions,
): Promise<{ accuracy: number; predicted: string; truth: string }> {
  const events = progressEvents({ plain: opts.plain });
  console.log(`demo: experiment ${DEMO_EXPERIMENT} → ${opts.modelDir}`);
  const run = await runExperiment({
    mode: 'train_and_eval',
    experiment: DEMO_EXPERIMENT,
    paramsOverrides: opts.paramsOverride,
    modelDir: opts.modelDir,
    backend: opts.backend,
    events,
    compiledSteps: createCompiledStepRunner,
  });
  events.stop();
  const accuracy = run.eval?.accuracy ?? NaN;
  console.log(`demo: eval @ step ${run.step}: ${formatMetrics(run.eval ?? {})}`);
  disposeRun(run);

  // Load the saved checkpoint into a new model and predict on an image it has never seen.
  const resolved = resolveExperiment({
    experiment: DEMO_EXPERIMENT,
    paramsOverrides: opts.paramsOverride,
  });
  const backend = opts.backend || resolved.config.runtime.backend || DEFAULT_NODE_BACKEND;
  await initBackend(backend);
  const { task, trainer } = buildTrainer(
    resolved,
    opts.modelDir,
    undefined,
    backend,
    createCompiledStepRunner,
  );
  const restored = await trainer.restoreLatest(true);
  trainer.ema?.swapIn();
  const truth = SHAPE_CLASS_NAMES[Math.floor(Math.random() * SHAPE_CLASS_NAMES.length)];
  const { image } = renderShape(truth, { seed: Date.now() >>> 0 });
  const pipeline = new InMemoryImageClassification({
    images: image,
    shape: [1, 32, 32, 3],
    labels: [0],
    batchSize: 1,
    isTraining: false,
    mean: MEAN_RGB,
    stddev: STDDEV_RGB,
  });
  const batch = await pipeline.next();
  if (!batch) throw new Error('demo: could not build the prediction batch');
  const classify = (x: Record<string, tf.Tensor>) =>
    (task as unknown as ImageClassificationTask).predict(
      trainer.model as never,
      x.image as tf.Tensor4D,
    );
  // On the onnx backend the prediction runs compiled, as predict does.
  const compiled = usesCompiledSteps(backend)
    ? new CompiledModel(classify, {
        variables: (trainer.model as Layer<unknown, unknown>).weights().map((w) => ({
          name: `model/${w.path}`,
          variable: w.variable,
        })),
        fallback: resolveEngineFallback(resolved.config.runtime.engine_fallback),
        what: 'classifier',
      })
    : null;
  const probs = compiled
    ? await compiled.run({ image: batch.image })
    : tf.tidy(() => classify({ image: batch.image }));
  await compiled?.dispose();
  const p = await probs.data();
  tf.dispose([probs, batch.image, batch.label]);
  const ranked = Array.from(p)
    .map((v, i) => ({ name: SHAPE_CLASS_NAMES[i], p: v }))
    .sort((a, b) => b.p - a.p);
  console.log(`demo: restored ${restored}; predicting a freshly rendered '${truth}':`);
  for (const r of ranked.slice(0, 3))
    console.log(`  ${r.name.padEnd(15)} ${(100 * r.p).toFixed(1)}%`);
  trainer.dispose();
  return { accuracy, predicted: ranked[0].name, truth };
}
