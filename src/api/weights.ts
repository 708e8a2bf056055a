/**
 * Loading a checkpoint into a built model: one of ours (`.vgckpt`, or a run directory's latest)
 * by Keras path, preferring the EMA averages as evaluation does; anything else (a TensorFlow
 * checkpoint, a Keras `.weights.h5`) through the mapping by rule of src/interop, strictly.
 */
import { existsSync, statSync, readdirSync } from 'node:fs';
import type { Layer } from '../core/layer.js';
import { refuseCloudPath } from '../core/fs_errors.js';
import { loadWeights } from '../interop/load.js';
import {
  assignToVariables,
  CHECKPOINT_EXTENSION,
  CheckpointManager,
  readCheckpointFile,
  readCheckpointHeader,
  type StoredTensor,
} from '../train/checkpoint.js';
import { openCheckpointSource } from '../train/open_checkpoint.js';

export interface LoadedCheckpoint {
  /** The file (or TF prefix) the weights came from. */
  source: string;
  /** Whether a checkpoint of ours gave its EMA averages. */
  usedEma: boolean;
}

/** Our checkpoint file for `path` (a `.vgckpt`, or a run directory's latest), or null. */
async function ourCheckpoint(path: string): Promise<string | null> {
  if (path.endsWith(CHECKPOINT_EXTENSION)) {
    if (!existsSync(path)) throw new Error(`checkpoint '${path}' does not exist`);
    return path;
  }
  if (existsSync(path) && statSync(path).isDirectory()) {
    if (!readdirSync(path).some((f) => f.endsWith(CHECKPOINT_EXTENSION))) return null;
    const latest = await new CheckpointManager(path).latestCheckpoint();
    if (!latest) throw new Error(`checkpoint: no valid ${CHECKPOINT_EXTENSION} in '${path}'`);
    return latest;
  }
  return null;
}

/**
 * Loads a checkpoint of ours written by the trainer: every model weight must be there with its
 * shape (`model/<path>`); with `useEma`, `ema/<path>` replaces it where present.
 */
export async function loadOurCheckpoint(
  model: Layer<unknown, unknown>,
  file: string,
  useEma = true,
): Promise<LoadedCheckpoint> {
  const header = await readCheckpointHeader(file);
  const stored = new Set(header.tensors.map((t) => t.name));
  const weights = model.weights();
  let usedEma = false;
  const sourceOf = new Map<string, string>();
  for (const w of weights) {
    const ema = `ema/${w.path}`;
    if (useEma && stored.has(ema)) {
      sourceOf.set(w.path, ema);
      usedEma = true;
    } else {
      sourceOf.set(w.path, `model/${w.path}`);
    }
  }
  const missing = [...sourceOf.values()].filter((n) => !stored.has(n));
  if (missing.length) {
    throw new Error(
      `cannot restore from ${file}: ${missing.length} of the model's ${weights.length} ` +
        `weights are not in it (first: '${missing[0]}'); was it written by this experiment?`,
    );
  }
  const data = await readCheckpointFile(file, { names: [...sourceOf.values()] });
  const byPath = new Map<string, StoredTensor>();
  for (const [path, name] of sourceOf) byPath.set(path, data.tensors.get(name)!);
  assignToVariables(
    byPath,
    weights.map((w) => ({ name: w.path, variable: w.variable })),
    { source: file },
  );
  return { source: file, usedEma };
}

/** Loads any checkpoint a user may name into `model` (see the module comment). */
export async function loadCheckpoint(
  model: Layer<unknown, unknown>,
  path: string,
  useEma = true,
): Promise<LoadedCheckpoint> {
  refuseCloudPath(path, 'checkpoint');
  if (!existsSync(path) && !existsSync(`${path}.index`)) {
    throw new Error(`checkpoint '${path}' does not exist`);
  }
  const ours = await ourCheckpoint(path);
  if (ours) return loadOurCheckpoint(model, ours, useEma);
  const source = await openCheckpointSource(path);
  try {
    loadWeights(model, source, { strict: true });
  } finally {
    source.close();
  }
  return { source: source.description, usedEma: false };
}
