/**
 * An experiment's model with a checkpoint's weights: the config resolved as for training, the
 * model built through its task, then every weight loaded by the mapping by rule (strict: every
 * weight found with its shape, every checkpoint variable of the model used). Shared by
 * `forward` and `convert-checkpoint`.
 */
import * as tf from '@tensorflow/tfjs-core';
import { withShapeOnlyBuild, type Layer } from '../core/layer.js';
import { setGlobalSeed } from '../core/random.js';
import type { AnyTask } from '../core/task.js';
import { loadWeights } from '../interop/load.js';
import { openCheckpointSource } from '../train/open_checkpoint.js';
import {
  experimentSeed,
  resolveExperiment,
  type ExperimentSpec,
  type ResolvedExperiment,
} from '../train/run_experiment.js';

export interface CheckpointModel {
  resolved: ResolvedExperiment;
  task: AnyTask;
  model: Layer<unknown, unknown>;
  /** The checkpoint as the loader described it (file or prefix). */
  source: string;
}

/** Builds the experiment's model (tensor backend already initialised) and loads `checkpoint`. */
export async function loadCheckpointModel(
  spec: ExperimentSpec,
  checkpoint: string,
): Promise<CheckpointModel> {
  const resolved = resolveExperiment(spec);
  setGlobalSeed(experimentSeed(resolved.config));
  const task = resolved.taskEntry.create(resolved.config.task) as AnyTask;
  const model = task.buildModel();
  // Every weight is then loaded (strict), so build without drawing initial values.
  withShapeOnlyBuild(() =>
    tf.tidy(() => {
      const dummy = task.dummyBatch(1);
      task.forward(model, dummy, { training: false });
      tf.dispose(Object.values(dummy));
    }),
  );
  const source = await openCheckpointSource(checkpoint);
  try {
    loadWeights(model, source, { strict: true });
  } catch (err) {
    model.dispose();
    throw err;
  } finally {
    source.close();
  }
  return { resolved, task, model, source: source.description };
}
