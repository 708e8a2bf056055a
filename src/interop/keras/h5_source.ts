/**
 * A Keras 3 `.weights.h5` file (`model.save_weights`) as a {@link CheckpointSource}: datasets
 * `layers/<item>/.../vars/<i>` mapped onto our layers by Keras 3's saving rules (the `keras3`
 * naming of ../weight_map.ts). Keras 2 / legacy HDF5 weight files (`<layer>/<layer>/kernel:0`) are
 * refused with a clear error.
 */
import { toSourceValues, type CheckpointSource } from '../checkpoint_source.js';
import { graphFromKeys, type VariableInfo } from '../weight_map.js';
import type { TensorValuesArray } from '../tf/dtypes.js';
import { readKerasWeightsH5 } from './weights_h5.js';

/** A `vars/<i>` dataset, at the root (the model's own weights) or under a layer's group. */
const VARS = /(^|\/)vars\/\d+$/;

/** Opens `path` (read fully into memory: weight files of the models here are small). */
export async function kerasH5Source(path: string): Promise<CheckpointSource> {
  const datasets = await readKerasWeightsH5(path);
  if (!datasets.some((d) => VARS.test(d.path))) {
    throw new Error(
      `${path}: not a Keras 3 weights file (no 'vars/<i>' datasets; Keras 2 / legacy HDF5 weight files are not supported)`,
    );
  }
  const variables = new Map<string, VariableInfo>();
  const values = new Map<string, TensorValuesArray>();
  for (const d of datasets) {
    // The reader widens float16 to float32 values.
    variables.set(d.path, { shape: d.shape, dtype: d.dtype === 'float16' ? 'float32' : d.dtype });
    values.set(d.path, d.values);
  }
  return {
    description: path,
    root: graphFromKeys(variables.keys()),
    by: 'keras3',
    variables,
    read: (key) => {
      const v = values.get(key);
      if (!v) throw new Error(`${path}: no dataset '${key}'`);
      return toSourceValues(v, `${path}: dataset '${key}'`);
    },
    close: () => values.clear(),
  };
}
