/**
 * Reads TensorFlow's TensorBundle checkpoints (the V2 format `tf.train.Checkpoint` writes):
 * `PREFIX.index`, a sorted table (./sstable.ts) whose entry "" is a BundleHeaderProto and every
 * other entry a BundleEntryProto (dtype, shape, shard, offset, size, masked CRC-32C), and the
 * `PREFIX.data-NNNNN-of-NNNNN` shards with the raw little-endian tensor bytes
 * (tensorflow/core/util/tensor_bundle/tensor_bundle.cc). A string tensor is stored as the
 * varint64 lengths of its elements, the masked CRC-32C of those length bytes (fixed32), then the
 * element bytes. A variable saved in slices (partitioned, or split across shards by a sharding
 * policy) is assembled from its slice entries (./tensor_slice.ts). TF2 checkpoints also hold
 * `_CHECKPOINTABLE_OBJECT_GRAPH`, a serialised TrackableObjectGraph naming the object path of
 * each variable.
 */
import {
  closeSync,
  existsSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  statSync,
} from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { crc32c, maskCrc32c } from '../../core/crc32c.js';
import { tensorProtoShape } from '../../core/proto/tensor.js';
import { readTable } from './sstable.js';
import { copySliceInto, resolveExtents, tensorSliceKey } from './tensor_slice.js';
import {
  decodeBundleEntry,
  decodeBundleHeader,
  decodeObjectGraph,
  type BundleEntry,
  type TrackableObjectGraph,
} from './bundle_proto.js';
import {
  DTYPE_BYTES,
  decodeFixed,
  dtypeEnumName,
  dtypeFromEnum,
  type TensorValuesArray,
  type TfDtype,
} from './dtypes.js';

export type { TfDtype } from './dtypes.js';
export type { TrackableObjectGraph } from './bundle_proto.js';

/** Key of the serialised object graph in TF2 checkpoints. */
export const OBJECT_GRAPH_KEY = '_CHECKPOINTABLE_OBJECT_GRAPH';

export interface BundleVariable {
  name: string;
  shape: number[];
  dtype: TfDtype;
}

export interface BundleTensor {
  name: string;
  shape: number[];
  dtype: TfDtype;
  values: TensorValuesArray;
  /** For string tensors: each element's raw bytes (`values` holds them decoded as UTF-8). */
  bytes?: Uint8Array[];
}

export interface TensorBundle {
  prefix: string;
  /** As `tf.train.list_variables`: sorted by name, the object graph and save_counter included. */
  variables(): BundleVariable[];
  has(name: string): boolean;
  /** float16/bfloat16 are widened to Float32Array (`dtype` keeps the stored one). */
  read(name: string): BundleTensor;
  /** The parsed `_CHECKPOINTABLE_OBJECT_GRAPH`, or undefined for a name-based (TF1) checkpoint. */
  objectGraph(): TrackableObjectGraph | undefined;
  close(): void;
}

type FixedDtype = Exclude<TfDtype, 'string'>;

interface Entry {
  variable: BundleVariable;
  proto: BundleEntry;
}

const utf8 = new TextDecoder('utf-8');

/**
 * Resolves what a user passed to a checkpoint prefix: a prefix (`dir/ckpt-1`), its `.index` file,
 * or a directory (followed through its `checkpoint` state file's `model_checkpoint_path`, else
 * the single `*.index` in it).
 */
export function resolveBundlePrefix(prefixOrDir: string): string {
  let p = prefixOrDir;
  if (p.endsWith('.index') && existsSync(p)) return p.slice(0, -'.index'.length);
  if (existsSync(p) && statSync(p).isDirectory()) {
    const state = join(p, 'checkpoint');
    if (existsSync(state)) {
      const m = /^model_checkpoint_path:\s*"((?:[^"\\]|\\.)*)"/m.exec(readFileSync(state, 'utf8'));
      if (!m) throw new Error(`${state}: no model_checkpoint_path line`);
      const target = m[1].replace(/\\(.)/g, '$1');
      p = resolve(p, target);
      if (!existsSync(`${p}.index`)) {
        throw new Error(`${state}: model_checkpoint_path '${target}' has no ${basename(p)}.index`);
      }
      return p;
    }
    const indexes = readdirSync(p).filter((f) => f.endsWith('.index'));
    if (indexes.length !== 1) {
      throw new Error(
        indexes.length === 0
          ? `${p}: no 'checkpoint' state file and no *.index file: not a TensorFlow checkpoint directory`
          : `${p}: no 'checkpoint' state file and ${indexes.length} *.index files (${indexes.join(', ')}); pass a prefix`,
      );
    }
    return join(p, indexes[0].slice(0, -'.index'.length));
  }
  if (!existsSync(`${p}.index`)) {
    throw new Error(`${p}.index not found: not a TensorFlow checkpoint prefix or directory`);
  }
  return p;
}

/** Name of shard `id` of `numShards` (`PREFIX.data-00000-of-00001`). */
export function shardPath(prefix: string, id: number, numShards: number): string {
  const pad = (n: number) => String(n).padStart(5, '0');
  return `${prefix}.data-${pad(id)}-of-${pad(numShards)}`;
}

class FileTensorBundle implements TensorBundle {
  private readonly entries = new Map<string, Entry>();
  /** Entries of slices, by their binary key (as latin1 text). */
  private readonly sliceEntries = new Map<string, Uint8Array>();
  private readonly numShards: number;
  private readonly fds = new Map<number, number>();
  private graph: TrackableObjectGraph | undefined | null = null;

  constructor(readonly prefix: string) {
    const indexPath = `${prefix}.index`;
    const table = readTable(new Uint8Array(readFileSync(indexPath)), indexPath);
    if (table.length === 0 || table[0].key.length !== 0) {
      throw new Error(`${indexPath}: no bundle header entry (first key must be empty)`);
    }
    const header = decodeBundleHeader(table[0].value);
    if (header.endianness !== 0) {
      throw new Error(`${indexPath}: big-endian bundles are not supported`);
    }
    if (!(header.numShards >= 1)) {
      throw new Error(`${indexPath}: header has num_shards ${header.numShards}`);
    }
    this.numShards = header.numShards;
    for (const { key, value } of table.slice(1)) {
      // Keys of the slices of a partitioned variable are binary (OrderedCode, starting with a
      // 0 byte); tf.train.list_variables shows only the full variable, as we do.
      if (key[0] === 0) {
        this.sliceEntries.set(latin1(key), value);
        continue;
      }
      const name = utf8.decode(key);
      let proto: BundleEntry;
      try {
        proto = decodeBundleEntry(value);
      } catch (err) {
        throw new Error(`${indexPath}: entry '${name}': ${(err as Error).message}`, { cause: err });
      }
      const dtype = dtypeFromEnum(proto.dtype);
      if (dtype === undefined) {
        throw new Error(
          `${indexPath}: variable '${name}' has dtype ${dtypeEnumName(proto.dtype)}, which is not supported`,
        );
      }
      let shape: number[];
      try {
        shape = tensorProtoShape({ dtype: proto.dtype, tensorShape: proto.shape ?? null });
      } catch (err) {
        throw new Error(`${indexPath}: variable '${name}': ${(err as Error).message}`, {
          cause: err,
        });
      }
      if (proto.shardId < 0 || proto.shardId >= this.numShards) {
        throw new Error(
          `${indexPath}: variable '${name}' is in shard ${proto.shardId} of ${this.numShards}`,
        );
      }
      this.entries.set(name, { variable: { name, shape, dtype }, proto });
    }
  }

  variables(): BundleVariable[] {
    return [...this.entries.values()]
      .map((e) => ({ ...e.variable, shape: [...e.variable.shape] }))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  private shardFd(id: number, variable: string): { fd: number; path: string } {
    const path = shardPath(this.prefix, id, this.numShards);
    let fd = this.fds.get(id);
    if (fd === undefined) {
      if (!existsSync(path)) {
        throw new Error(`${path}: shard file missing (needed for variable '${variable}')`);
      }
      fd = openSync(path, 'r');
      this.fds.set(id, fd);
    }
    return { fd, path };
  }

  /** Reads an entry's bytes from its shard (bounds checked; checksums are the caller's). */
  private readData(p: BundleEntry, name: string): { bytes: Uint8Array; path: string } {
    const offset = Number(p.offset);
    const size = Number(p.size);
    const { fd, path } = this.shardFd(p.shardId, name);
    const fileSize = statSync(path).size;
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(size) || offset + size > fileSize) {
      throw new Error(
        `${path}: variable '${name}' (bytes ${String(p.offset)}..+${String(p.size)}) lies past the end of the ${fileSize}-byte shard (truncated?)`,
      );
    }
    const bytes = new Uint8Array(size);
    let got = 0;
    while (got < size) {
      const n = readSync(fd, bytes, got, size - got, offset + got);
      if (n === 0) break;
      got += n;
    }
    if (got !== size) {
      throw new Error(`${path}: variable '${name}': short read (${got} of ${size} bytes)`);
    }
    return { bytes, path };
  }

  /** Reads a fixed-size entry: checksum, then size against the shape. */
  private readFixed(p: BundleEntry, name: string, dtype: FixedDtype, count: number): Uint8Array {
    const { bytes, path } = this.readData(p, name);
    const where = `${path}: variable '${name}'`;
    checkCrc(p.crc32c >>> 0, maskCrc32c(crc32c(bytes)), where);
    const expected = count * DTYPE_BYTES[dtype];
    if (bytes.length !== expected) {
      throw new Error(
        `${where} has ${bytes.length} bytes, ${count} ${dtype} values need ${expected}`,
      );
    }
    return bytes;
  }

  read(name: string): BundleTensor {
    const e = this.entries.get(name);
    if (!e) throw new Error(`${this.prefix}: no variable '${name}' in the checkpoint`);
    const { shape, dtype } = e.variable;
    const p = e.proto;
    const count = shape.reduce((a, b) => a * b, 1);
    if (dtype === 'string') {
      if (p.slices && p.slices.length > 0) {
        throw new Error(`${this.prefix}: string variable '${name}' is sliced; not supported`);
      }
      const { bytes, path } = this.readData(p, name);
      const elems = decodeStrings(bytes, count, p.crc32c >>> 0, `${path}: variable '${name}'`);
      return {
        name,
        shape: [...shape],
        dtype,
        values: elems.map((b) => utf8.decode(b)),
        bytes: elems,
      };
    }
    const bytes =
      p.slices && p.slices.length > 0
        ? this.readSliced(e, count)
        : this.readFixed(p, name, dtype, count);
    return { name, shape: [...shape], dtype, values: decodeFixed(dtype, bytes, count) };
  }

  /** Assembles a sliced variable from its slice entries (./tensor_slice.ts). */
  private readSliced(e: Entry, count: number): Uint8Array {
    const { name, shape } = e.variable;
    const dtype = e.variable.dtype as FixedDtype;
    const item = DTYPE_BYTES[dtype];
    const full = new Uint8Array(count * item);
    for (const [i, slice] of (e.proto.slices ?? []).entries()) {
      const where = `${this.prefix}: variable '${name}' slice ${i}`;
      const extents = resolveExtents(slice.extent ?? [], shape, where);
      const value = this.sliceEntries.get(latin1(tensorSliceKey(name, slice.extent ?? [])));
      if (!value) throw new Error(`${where}: its entry is missing from the index`);
      let sp: BundleEntry;
      try {
        sp = decodeBundleEntry(value);
      } catch (err) {
        throw new Error(`${where}: ${(err as Error).message}`, { cause: err });
      }
      if (sp.shardId < 0 || sp.shardId >= this.numShards) {
        throw new Error(`${where} is in shard ${sp.shardId} of ${this.numShards}`);
      }
      const n = extents.reduce((a, x) => a * x.length, 1);
      copySliceInto(full, shape, this.readFixed(sp, name, dtype, n), extents, item);
    }
    return full;
  }

  objectGraph(): TrackableObjectGraph | undefined {
    if (this.graph === null) {
      if (!this.entries.has(OBJECT_GRAPH_KEY)) {
        this.graph = undefined;
      } else {
        const t = this.read(OBJECT_GRAPH_KEY);
        if (t.shape.length !== 0 || !t.bytes) {
          throw new Error(`${this.prefix}: ${OBJECT_GRAPH_KEY} is not a scalar string`);
        }
        try {
          this.graph = decodeObjectGraph(t.bytes[0]);
        } catch (err) {
          throw new Error(`${this.prefix}: ${OBJECT_GRAPH_KEY}: ${(err as Error).message}`, {
            cause: err,
          });
        }
      }
    }
    return this.graph;
  }

  close(): void {
    for (const fd of this.fds.values()) closeSync(fd);
    this.fds.clear();
  }
}

function latin1(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');
}

function checkCrc(stored: number, actual: number, where: string): void {
  if (stored !== actual) {
    throw new Error(
      `${where}: checksum mismatch (stored 0x${stored.toString(16)}, computed 0x${actual.toString(16)}): the data is corrupt`,
    );
  }
}

/**
 * Decodes a string tensor's bytes: varint64 lengths, a masked CRC-32C, the elements. As
 * TensorFlow's WriteStringTensor, both checksums run over each length as a little-endian
 * uint32 (uint64 above 2^32-1), not over its varint bytes; the entry's checksum continues over
 * the stored length checksum and the element bytes.
 */
function decodeStrings(
  bytes: Uint8Array,
  count: number,
  stored: number,
  where: string,
): Uint8Array[] {
  let pos = 0;
  let crc = 0;
  const lengths: number[] = [];
  for (let i = 0; i < count; i++) {
    let v = 0;
    for (let shift = 0; ; shift += 7) {
      if (pos >= bytes.length || shift > 63) throw new Error(`${where}: truncated string lengths`);
      const b = bytes[pos++];
      v += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) break;
    }
    const le = new Uint8Array(8);
    new DataView(le.buffer).setBigUint64(0, BigInt(v), true);
    crc = crc32c(v <= 0xffffffff ? le.subarray(0, 4) : le, crc);
    lengths.push(v);
  }
  if (pos + 4 > bytes.length) throw new Error(`${where}: truncated string-length checksum`);
  const lengthCrc = bytes.subarray(pos, pos + 4);
  const storedLengthCrc = new DataView(bytes.buffer, bytes.byteOffset + pos, 4).getUint32(0, true);
  checkCrc(storedLengthCrc, maskCrc32c(crc), `${where} (string lengths)`);
  crc = crc32c(lengthCrc, crc);
  pos += 4;
  const out: Uint8Array[] = [];
  for (const len of lengths) {
    if (pos + len > bytes.length) throw new Error(`${where}: string element runs past the entry`);
    const elem = bytes.subarray(pos, pos + len);
    crc = crc32c(elem, crc);
    out.push(elem);
    pos += len;
  }
  if (pos !== bytes.length) throw new Error(`${where}: ${bytes.length - pos} trailing bytes`);
  checkCrc(stored, maskCrc32c(crc), where);
  return out;
}

/**
 * Opens a TensorBundle checkpoint: a prefix (`dir/ckpt-1`), its `.index` file, or a directory
 * (its `checkpoint` state file's model_checkpoint_path, else its single `*.index`). The index is
 * read and checked now; tensor data is read (and checksummed) by `read`.
 */
export function openTensorBundle(prefixOrDir: string): TensorBundle {
  return new FileTensorBundle(resolveBundlePrefix(prefixOrDir));
}
