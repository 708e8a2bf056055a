/**
 * Writes TF2 object-based checkpoints as `tf.train.Checkpoint.save` does: one shard
 * `PREFIX.data-00000-of-00001` with the tensors' little-endian bytes (strings as varint64 lengths,
 * their masked CRC-32C and the bytes; see bundle_reader.ts), `PREFIX.index` (an uncompressed
 * table: the BundleHeaderProto under key "", then one BundleEntryProto per tensor in key order),
 * the `_CHECKPOINTABLE_OBJECT_GRAPH` built from the variables' object paths, `save_counter`,
 * and the directory's `checkpoint` state file. Each file is written atomically; the data shard
 * lands before the index, so a reader never sees an index without its data.
 */
import { mkdirSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { crc32c, maskCrc32c } from '../../core/crc32c.js';
import { writeAllSync, writeFileAtomicSync } from '../../core/atomic_write.js';
import { encodeBundleEntry, encodeBundleHeader, encodeObjectGraph } from './bundle_proto.js';
import { OBJECT_GRAPH_KEY, shardPath, type TensorBundle } from './bundle_reader.js';
import { dtypeEnum, encodeFixed, type TensorValuesArray, type TfDtype } from './dtypes.js';
import { buildObjectGraph, checkpointKeyPaths } from './object_graph.js';
import { buildTable, compareBytes, ByteSink, type TableEntry } from './sstable.js';

/** A tensor stored under a raw checkpoint key. */
export interface KeyedTensor {
  key: string;
  dtype: TfDtype;
  shape: readonly number[];
  values: TensorValuesArray | ArrayLike<number> | readonly (string | Uint8Array)[];
}

/** A variable placed by its object path. */
export interface ObjectVariable {
  /** Local names from the root: `['model', '_backbone', 'kernel']`, or that joined with '/'. */
  path: string | readonly string[];
  dtype: TfDtype;
  shape: readonly number[];
  values: KeyedTensor['values'];
  /** The variable's own name in the object graph (default: the path joined with '/'). */
  fullName?: string;
}

export interface WriteCheckpointOptions {
  /** Value of the `save_counter` variable `Checkpoint.save` adds (default 1; null: none). */
  saveCounter?: number | bigint | null;
  /** Point the directory's `checkpoint` state file at this prefix (default true). */
  updateCheckpointState?: boolean;
}

export interface WrittenCheckpoint {
  prefix: string;
  indexPath: string;
  dataPath: string;
  /** Checkpoint key of each input variable, in input order. */
  keys: string[];
}

/** TensorFlow's kTensorBundleVersion (producer); min_consumer 0. */
const BUNDLE_VERSION = 1;
const utf8 = new TextEncoder();

function tensorBytes(t: KeyedTensor): { bytes: Uint8Array; crc: number } {
  const count = t.shape.reduce((a, b) => a * b, 1);
  if (!t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new Error(`checkpoint writer: '${t.key}' has a bad shape [${t.shape.join(', ')}]`);
  }
  if (t.values.length !== count) {
    throw new Error(
      `checkpoint writer: '${t.key}' has ${t.values.length} values, shape [${t.shape.join(', ')}] needs ${count}`,
    );
  }
  if (t.dtype !== 'string') {
    const bytes = encodeFixed(t.dtype, t.values as ArrayLike<number | bigint | boolean>);
    return { bytes, crc: maskCrc32c(crc32c(bytes)) };
  }
  // As TensorFlow's WriteStringTensor: the checksums cover each length as a little-endian
  // uint32 (uint64 above 2^32-1), then the stored length checksum, then the element bytes.
  const elems = Array.from(t.values as ArrayLike<string | Uint8Array>, (v) =>
    typeof v === 'string' ? utf8.encode(v) : v,
  );
  const sink = new ByteSink();
  let crc = 0;
  const le = new Uint8Array(8);
  const view = new DataView(le.buffer);
  for (const e of elems) {
    sink.varint(e.length);
    view.setBigUint64(0, BigInt(e.length), true);
    crc = crc32c(e.length <= 0xffffffff ? le.subarray(0, 4) : le, crc);
  }
  const lengthCrc = maskCrc32c(crc);
  view.setUint32(0, lengthCrc, true);
  crc = crc32c(le.subarray(0, 4), crc);
  sink.fixed32(lengthCrc);
  for (const e of elems) {
    sink.bytes(e);
    crc = crc32c(e, crc);
  }
  return { bytes: sink.view(), crc: maskCrc32c(crc) };
}

/**
 * Writes tensors under raw keys as a single-shard TensorBundle (`PREFIX.index`,
 * `PREFIX.data-00000-of-00001`). Keys must be unique and non-empty.
 */
export function writeTensorBundle(
  prefix: string,
  tensors: readonly KeyedTensor[],
): { indexPath: string; dataPath: string } {
  const sorted = tensors
    .map((t) => ({ t, key: utf8.encode(t.key) }))
    .sort((a, b) => compareBytes(a.key, b.key));
  for (let i = 0; i < sorted.length; i++) {
    if (sorted[i].key.length === 0) throw new Error('checkpoint writer: empty tensor key');
    if (i > 0 && compareBytes(sorted[i - 1].key, sorted[i].key) === 0) {
      throw new Error(`checkpoint writer: key '${sorted[i].t.key}' given twice`);
    }
  }
  mkdirSync(dirname(prefix), { recursive: true });
  const dataPath = shardPath(prefix, 0, 1);
  const indexPath = `${prefix}.index`;
  const entries: TableEntry[] = [
    {
      key: new Uint8Array(0),
      value: encodeBundleHeader({
        numShards: 1,
        endianness: 0,
        version: { producer: BUNDLE_VERSION },
      }),
    },
  ];
  writeFileAtomicSync(dataPath, (fd) => {
    let offset = 0;
    for (const { t, key } of sorted) {
      const { bytes, crc } = tensorBytes(t);
      writeAllSync(fd, bytes);
      entries.push({
        key,
        value: encodeBundleEntry({
          dtype: dtypeEnum(t.dtype),
          shape: { dim: t.shape.map((size) => ({ size })) },
          shardId: 0,
          offset,
          size: bytes.length,
          crc32c: crc,
        }),
      });
      offset += bytes.length;
    }
  });
  const index = buildTable(entries);
  writeFileAtomicSync(indexPath, (fd) => writeAllSync(fd, index));
  return { indexPath, dataPath };
}

/**
 * Writes the `checkpoint` state file beside a prefix, as `tf.train.Checkpoint.save` leaves it:
 * `model_checkpoint_path` and `all_model_checkpoint_paths` (relative to the directory).
 */
export function writeCheckpointState(prefix: string): string {
  const dir = dirname(prefix);
  const rel = relative(dir, prefix) || basename(prefix);
  const quoted = `"${rel.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
  const text = `model_checkpoint_path: ${quoted}\nall_model_checkpoint_paths: ${quoted}\n`;
  const path = join(dir, 'checkpoint');
  writeFileAtomicSync(path, (fd) => writeAllSync(fd, utf8.encode(text)));
  return path;
}

/** Splits a '/'-joined object path (an array is taken as it is). */
function pathParts(path: ObjectVariable['path']): readonly string[] {
  return typeof path === 'string' ? path.split('/') : path;
}

/**
 * Writes a TF2 object-based checkpoint: every variable under the key its object path gives
 * (`model/_dense/kernel/.ATTRIBUTES/VARIABLE_VALUE`), `save_counter`, and the object graph that
 * `tf.train.Checkpoint.restore` walks to match them to a model's objects.
 */
export function writeObjectCheckpoint(
  prefix: string,
  variables: readonly ObjectVariable[],
  opts: WriteCheckpointOptions = {},
): WrittenCheckpoint {
  const saveCounter = opts.saveCounter === undefined ? 1 : opts.saveCounter;
  const placed = variables.map((v) => ({ path: pathParts(v.path), fullName: v.fullName }));
  if (saveCounter !== null) {
    if (placed.some((p) => p.path.length === 1 && p.path[0] === 'save_counter')) {
      throw new Error(
        "checkpoint writer: a variable is already named 'save_counter'; pass saveCounter: null",
      );
    }
    placed.push({ path: ['save_counter'], fullName: 'save_counter' });
  }
  const { graph, keys } = buildObjectGraph(placed);
  const tensors: KeyedTensor[] = variables.map((v, i) => ({
    key: keys[i],
    dtype: v.dtype,
    shape: v.shape,
    values: v.values,
  }));
  if (saveCounter !== null) {
    tensors.push({
      key: keys[variables.length],
      dtype: 'int64',
      shape: [],
      values: BigInt64Array.of(BigInt(saveCounter)),
    });
  }
  tensors.push({
    key: OBJECT_GRAPH_KEY,
    dtype: 'string',
    shape: [],
    values: [encodeObjectGraph(graph)],
  });
  const { indexPath, dataPath } = writeTensorBundle(prefix, tensors);
  if (opts.updateCheckpointState ?? true) writeCheckpointState(prefix);
  return { prefix, indexPath, dataPath, keys: keys.slice(0, variables.length) };
}

const SAVE_COUNTER_KEY = 'save_counter/.ATTRIBUTES/VARIABLE_VALUE';

/**
 * Reads every variable of an object-based checkpoint with its object path (from the object
 * graph) and full name, ready for {@link writeObjectCheckpoint}; `save_counter` is returned apart.
 */
export function readObjectVariables(bundle: TensorBundle): {
  variables: ObjectVariable[];
  saveCounter: bigint | null;
} {
  const graph = bundle.objectGraph();
  if (!graph) {
    throw new Error(
      `${bundle.prefix}: no ${OBJECT_GRAPH_KEY}: a name-based checkpoint has no object paths`,
    );
  }
  const paths = checkpointKeyPaths(graph);
  const variables: ObjectVariable[] = [];
  let saveCounter: bigint | null = null;
  for (const { name } of bundle.variables()) {
    if (name === OBJECT_GRAPH_KEY) continue;
    const t = bundle.read(name);
    if (name === SAVE_COUNTER_KEY && t.dtype === 'int64' && t.shape.length === 0) {
      saveCounter = (t.values as BigInt64Array)[0];
      continue;
    }
    const p = paths.get(name);
    if (!p) throw new Error(`${bundle.prefix}: variable '${name}' is not in the object graph`);
    variables.push({
      path: p.path,
      dtype: t.dtype,
      shape: t.shape,
      values: t.values,
      fullName: p.fullName,
    });
  }
  return { variables, saveCounter };
}
