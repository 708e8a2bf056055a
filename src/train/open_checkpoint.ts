/**
 * Opens any checkpoint a user may name for `init_checkpoint`, `forward --checkpoint` or
 * `convert-checkpoint`: one of ours (a `.vgckpt` file, or a run directory whose `checkpoint` file
 * points at one), a TensorFlow checkpoint (a prefix, its `.index` file, or a directory) or a Keras 3
 * `.weights.h5` file, as a {@link CheckpointSource} for the mapping by rule (src/interop).
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { refuseCloudPath } from '../core/fs_errors.js';
import {
  tensorMapSource,
  tfCheckpointSource,
  type CheckpointSource,
} from '../interop/checkpoint_source.js';
import { kerasH5Source } from '../interop/keras/h5_source.js';
import { CHECKPOINT_EXTENSION, CheckpointManager, readCheckpointFile } from './checkpoint.js';

/** Whether `dir` is a run directory of ours (holds `.vgckpt` files). */
function isOurRunDirectory(dir: string): boolean {
  return readdirSync(dir).some((f) => f.endsWith(CHECKPOINT_EXTENSION));
}

export async function openCheckpointSource(path: string): Promise<CheckpointSource> {
  if (!path) throw new Error('no checkpoint path given');
  refuseCloudPath(path, 'checkpoint');
  let file: string | null = null;
  if (path.endsWith('.h5')) {
    if (!existsSync(path)) throw new Error(`checkpoint ${path} not found`);
    return kerasH5Source(path);
  }
  if (path.endsWith(CHECKPOINT_EXTENSION)) {
    if (!existsSync(path)) throw new Error(`checkpoint ${path} not found`);
    file = path;
  } else if (existsSync(path) && statSync(path).isDirectory() && isOurRunDirectory(path)) {
    file = await new CheckpointManager(path).latestCheckpoint();
    if (!file) throw new Error(`${path}: no valid ${CHECKPOINT_EXTENSION} checkpoint in it`);
  } else if (!existsSync(path) && !existsSync(`${path}.index`)) {
    throw new Error(
      `checkpoint ${path} not found (expected a TF checkpoint prefix or directory, a Keras .weights.h5 file, or a ${CHECKPOINT_EXTENSION} file or run directory)`,
    );
  }
  if (file) {
    const { tensors } = await readCheckpointFile(file);
    return tensorMapSource(file, tensors);
  }
  return tfCheckpointSource(path);
}
