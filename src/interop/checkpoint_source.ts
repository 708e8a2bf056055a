/**
 * A checkpoint to map weights from, whatever wrote it: a TF TensorBundle (Model Garden's
 * checkpoints, by object graph) or named tensors already in memory (our `.vgckpt` files, keyed
 * `model/<Keras path>`, read by src/train). See ./weight_map.ts for the mapping.
 */
import { openTensorBundle, type TensorBundle } from './tf/bundle_reader.js';
import {
  graphFromKeys,
  graphFromTrackable,
  type Naming,
  type ObjectNode,
  type VariableInfo,
} from './weight_map.js';

/** Float values of one checkpoint tensor (float16/bfloat16 widened), or int32 for int tensors. */
export type SourceValues = Float32Array | Int32Array | Uint8Array;

export interface CheckpointSource {
  /** File or prefix, for messages. */
  readonly description: string;
  /** Root of the object graph: the `tf.train.Checkpoint` root, or the root of the key tree. */
  readonly root: ObjectNode;
  /**
   * How the checkpoint names sub-layers and weights under `root`: attribute (TF), Keras name
   * (ours), or Keras 3's `.weights.h5` layout (see MapOptions in ./weight_map.ts).
   */
  readonly by: Naming;
  readonly variables: ReadonlyMap<string, VariableInfo>;
  read(key: string): SourceValues;
  close(): void;
}

/** Dtypes the reader widens to float32 (`BundleTensor.values` is a Float32Array). */
const WIDENED = new Set(['float16', 'bfloat16']);

/** The values of a read tensor as a loader takes them; `what` names it in errors. */
export function toSourceValues(values: unknown, what: string): SourceValues {
  if (
    values instanceof Float32Array ||
    values instanceof Int32Array ||
    values instanceof Uint8Array
  ) {
    return values;
  }
  if (values instanceof Float64Array) return Float32Array.from(values);
  if (values instanceof BigInt64Array) return Int32Array.from(values, (v) => Number(v));
  if (values instanceof Int8Array || values instanceof Int16Array) return Int32Array.from(values);
  throw new Error(`${what}: this tensor type cannot be loaded into a model variable`);
}

/** A TF checkpoint (prefix, `.index` file or directory) through the TensorBundle reader. */
export function tfCheckpointSource(prefixOrDir: string): CheckpointSource {
  const bundle: TensorBundle = openTensorBundle(prefixOrDir);
  try {
    const variables = new Map<string, VariableInfo>();
    for (const v of bundle.variables()) {
      variables.set(v.name, { shape: v.shape, dtype: WIDENED.has(v.dtype) ? 'float32' : v.dtype });
    }
    const graph = bundle.objectGraph();
    return {
      description: bundle.prefix,
      root: graph ? graphFromTrackable(graph) : graphFromKeys(variables.keys()),
      by: 'attribute',
      variables,
      read: (key) => toSourceValues(bundle.read(key).values, `${bundle.prefix}: ${key}`),
      close: () => bundle.close(),
    };
  } catch (err) {
    bundle.close();
    throw err;
  }
}

/** Named tensors in memory (keys `model/<Keras path>`), mapped by Keras name. */
export function tensorMapSource(
  description: string,
  tensors: ReadonlyMap<string, { dtype: string; shape: number[]; data: unknown }>,
): CheckpointSource {
  const variables = new Map<string, VariableInfo>();
  for (const [k, t] of tensors) variables.set(k, { shape: t.shape, dtype: t.dtype });
  return {
    description,
    root: graphFromKeys(tensors.keys()),
    by: 'name',
    variables,
    read: (key) => {
      const t = tensors.get(key);
      if (!t) throw new Error(`${description}: no tensor '${key}'`);
      return toSourceValues(t.data, `${description}: ${key}`);
    },
    close: () => undefined,
  };
}
