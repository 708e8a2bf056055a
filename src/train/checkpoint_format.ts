/**
 * The `.vgckpt` checkpoint file: one file per checkpoint holding named tensors and a JSON `meta`.
 *
 * Layout (all integers little-endian):
 *
 * ```
 * offset        size  field
 * 0             8     magic "\x89VGCKPT\n"
 * 8             4     u32 format version (currently 1)
 * 12            4     u32 H = byte length of the JSON header
 * 16            8     u64 M = total file length in bytes, footer included
 * 24            H     JSON header, UTF-8: {"tensors": [TensorEntry...], "meta": {...}}
 * 24+H          pad   zeros up to D0 = the first multiple of 64 at or after 24+H
 * D0            ...   data section: each tensor's raw little-endian bytes at D0 + entry.offset
 *                     (entry.offset is a multiple of 64), zero padding between tensors
 * M-24          8     u64 M again
 * M-16          4     u32 CRC-32C of bytes [0, 24+H): preamble and header
 * M-12          4     u32 CRC-32C of the 12 footer bytes before it
 * M-8           8     end magic "\x89VGCEND\n"
 * ```
 *
 * Each TensorEntry is `{name, dtype, shape, offset, byteLength, crc32c}` where `crc32c` is the
 * plain (unmasked) CRC-32C of the tensor's bytes. Because the preamble states the total length
 * and the footer repeats it, a file cut short anywhere is reported as truncated, with both sizes.
 * `bool` tensors take one byte per element (0 or 1); `float16`/`bfloat16` are stored as raw
 * 16-bit patterns in a Uint16Array.
 *
 * Files are written atomically (src/core/atomic_write.ts): to `<path>.tmp-<pid>`, fsynced, renamed
 * over `<path>`, then the directory is fsynced, so a reader sees either the old file or the new one.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { endianness } from 'node:os';
import { writeFileAtomic } from '../core/atomic_write.js';
import { crc32c } from '../core/crc32c.js';
import { STORED_DTYPES, type StoredData, type StoredDType } from '../core/stored_dtypes.js';
import { afterBytes, bytesAllowed, reachedPhase } from './fault_injection.js';

/** Current (and only) format version written and read by this module. */
export const CHECKPOINT_FORMAT_VERSION = 1;
/** File name extension of checkpoint files. */
export const CHECKPOINT_EXTENSION = '.vgckpt';
/** Alignment of the data section and of each tensor in it. */
export const DATA_ALIGNMENT = 64;

const MAGIC = Uint8Array.from([0x89, 0x56, 0x47, 0x43, 0x4b, 0x50, 0x54, 0x0a]); // \x89VGCKPT\n
const END_MAGIC = Uint8Array.from([0x89, 0x56, 0x47, 0x43, 0x45, 0x4e, 0x44, 0x0a]); // \x89VGCEND\n
const PREAMBLE_BYTES = 24;
const FOOTER_BYTES = 24;
/** Largest chunk handed to one read/write call (Node caps single calls at 2 GiB). */
const IO_CHUNK = 64 * 1024 * 1024;

/** Element types a checkpoint can hold. */
export type CheckpointDType = StoredDType;

/** Typed arrays that carry tensor data, one per {@link CheckpointDType} (see STORED_DTYPES). */
export type TensorData = StoredData;

const DTYPES = STORED_DTYPES;

/** Whether `s` names a dtype this format stores. */
export function isCheckpointDType(s: string): s is CheckpointDType {
  return Object.prototype.hasOwnProperty.call(DTYPES, s);
}

/** A tensor's value: dtype, shape (row-major) and a typed array of `prod(shape)` elements. */
export interface StoredTensor {
  dtype: CheckpointDType;
  shape: number[];
  data: TensorData;
}

export interface NamedStoredTensor extends StoredTensor {
  name: string;
}

export type JsonValue = null | boolean | number | string | JsonValue[] | { [k: string]: JsonValue };
export type JsonObject = { [k: string]: JsonValue };

/** What to write: tensors (a map keyed by name, or a list with names) and free-form meta. */
export interface CheckpointContent {
  tensors: Map<string, StoredTensor> | NamedStoredTensor[];
  /**
   * JSON-serialisable state: step, RNG states, data cursor, config hash... Checked at write time
   * (finite numbers, plain objects and arrays only), so interface-typed values are accepted here.
   */
  meta?: Record<string, unknown>;
}

/** What was read: tensors in file order, and the meta object. */
export interface CheckpointData {
  tensors: Map<string, StoredTensor>;
  meta: JsonObject;
}

/** One tensor's record in the JSON header. */
export interface TensorEntry {
  name: string;
  dtype: CheckpointDType;
  shape: number[];
  /** Byte offset from the start of the data section; a multiple of {@link DATA_ALIGNMENT}. */
  offset: number;
  byteLength: number;
  /** Plain CRC-32C of the tensor's bytes. */
  crc32c: number;
}

/** The structurally verified header of a checkpoint file (no tensor data read). */
export interface CheckpointHeader {
  version: number;
  tensors: TensorEntry[];
  meta: JsonObject;
  /** Total file length in bytes. */
  fileLength: number;
  /** Absolute file offset of the data section. */
  dataStart: number;
}

/** A checkpoint file is unreadable or malformed; `file` names it, `reason` says what is wrong. */
export class CheckpointError extends Error {
  override name = 'CheckpointError';
  constructor(
    readonly file: string,
    readonly reason: string,
  ) {
    super(`checkpoint ${file}: ${reason}`);
  }
}

function align(n: number): number {
  return Math.ceil(n / DATA_ALIGNMENT) * DATA_ALIGNMENT;
}

function bytesOf(data: TensorData): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

function elementCount(shape: readonly number[]): number {
  return shape.reduce((n, d) => n * d, 1);
}

function hex(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join(' ');
}

function assertLittleEndianHost(): void {
  if (endianness() !== 'LE') {
    throw new Error('.vgckpt files store little-endian data; this big-endian host is unsupported');
  }
}

/** Throws unless `value` is plain JSON (finite numbers, no undefined/functions/bigint). */
function validateJson(value: unknown, where: string): void {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`${where} is ${value}, which JSON cannot hold`);
    return;
  }
  if (Array.isArray(value)) {
    value.forEach((v, i) => validateJson(v, `${where}[${i}]`));
    return;
  }
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    for (const [k, v] of Object.entries(value)) validateJson(v, `${where}.${k}`);
    return;
  }
  const kind = typeof value === 'object' ? value.constructor?.name : typeof value;
  throw new Error(`${where} is a ${kind}, which is not plain JSON`);
}

/** Checks one tensor to be written; returns it with its name. */
function validateTensor(name: string, t: StoredTensor): NamedStoredTensor {
  if (typeof name !== 'string' || name.length === 0) {
    throw new Error(
      `checkpoint tensor names must be non-empty strings, got ${JSON.stringify(name)}`,
    );
  }
  if (!isCheckpointDType(t.dtype)) {
    throw new Error(
      `tensor '${name}': unsupported dtype '${t.dtype}' (supported: ${Object.keys(DTYPES).join(', ')})`,
    );
  }
  if (!Array.isArray(t.shape) || !t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new Error(
      `tensor '${name}': shape must be non-negative integers, got ${JSON.stringify(t.shape)}`,
    );
  }
  const array = DTYPES[t.dtype];
  if (!(t.data instanceof array)) {
    const got = (t.data as { constructor?: { name?: string } } | null)?.constructor?.name;
    throw new Error(
      `tensor '${name}': dtype ${t.dtype} needs a ${array.name}, got ${got ?? typeof t.data}`,
    );
  }
  const n = elementCount(t.shape);
  if (t.data.length !== n) {
    throw new Error(
      `tensor '${name}': shape [${t.shape.join(', ')}] has ${n} elements but data has ${t.data.length}`,
    );
  }
  if (t.dtype === 'bool') {
    const bad = (t.data as Uint8Array).findIndex((v) => v > 1);
    if (bad >= 0)
      throw new Error(`tensor '${name}': bool element ${bad} is ${t.data[bad]}, not 0 or 1`);
  }
  return { name, dtype: t.dtype, shape: [...t.shape], data: t.data };
}

function normaliseTensors(tensors: CheckpointContent['tensors']): NamedStoredTensor[] {
  const list: NamedStoredTensor[] = [];
  const seen = new Set<string>();
  const entries: [string, StoredTensor][] =
    tensors instanceof Map ? [...tensors.entries()] : tensors.map((t) => [t.name, t]);
  for (const [name, t] of entries) {
    if (seen.has(name)) throw new Error(`checkpoint tensor '${name}' is given twice`);
    seen.add(name);
    list.push(validateTensor(name, t));
  }
  return list;
}

/** Writes all of `bytes` at `position` (through the fault-injection hook, off by default). */
export async function writeFully(
  fh: FileHandle,
  bytes: Uint8Array,
  position: number,
): Promise<void> {
  let done = 0;
  while (done < bytes.length) {
    const len = bytesAllowed(Math.min(IO_CHUNK, bytes.length - done));
    const { bytesWritten } =
      len > 0
        ? await fh.write(bytes, done, len, position + done)
        : {
            bytesWritten: 0,
          };
    afterBytes(bytesWritten);
    done += bytesWritten;
  }
}

/** Reads exactly `bytes.length` bytes at `position`; returns how many were available. */
async function readFully(fh: FileHandle, bytes: Uint8Array, position: number): Promise<number> {
  let done = 0;
  while (done < bytes.length) {
    const len = Math.min(IO_CHUNK, bytes.length - done);
    const { bytesRead } = await fh.read(bytes, done, len, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done;
}

/**
 * Writes a file atomically (src/core/atomic_write.ts) with the fault-injection hook at each phase
 * (src/train/fault_injection.ts; off by default).
 */
export function atomicWriteFile(
  path: string,
  write: (fh: FileHandle) => Promise<void>,
): Promise<void> {
  return writeFileAtomic(path, write, reachedPhase);
}

/**
 * Writes a `.vgckpt` file atomically (see the module comment for the layout).
 * Tensor bytes are written straight from each typed array, so memory use does not grow with the
 * checkpoint size. Throws a plain Error naming the tensor or meta field for invalid content.
 */
export async function writeCheckpointFile(path: string, content: CheckpointContent): Promise<void> {
  assertLittleEndianHost();
  const tensors = normaliseTensors(content.tensors);
  const meta = content.meta ?? {};
  if (typeof meta !== 'object' || meta === null || Array.isArray(meta)) {
    throw new Error('checkpoint meta must be a JSON object');
  }
  validateJson(meta, 'meta');

  const entries: TensorEntry[] = [];
  let cursor = 0;
  for (const t of tensors) {
    const bytes = bytesOf(t.data);
    entries.push({
      name: t.name,
      dtype: t.dtype,
      shape: t.shape,
      offset: cursor,
      byteLength: bytes.length,
      crc32c: crc32c(bytes),
    });
    cursor = align(cursor + bytes.length);
  }
  const dataBytes = cursor;
  const header = new TextEncoder().encode(JSON.stringify({ tensors: entries, meta }));
  const dataStart = align(PREAMBLE_BYTES + header.length);
  const total = dataStart + dataBytes + FOOTER_BYTES;

  const preamble = new Uint8Array(PREAMBLE_BYTES);
  const pv = new DataView(preamble.buffer);
  preamble.set(MAGIC, 0);
  pv.setUint32(8, CHECKPOINT_FORMAT_VERSION, true);
  pv.setUint32(12, header.length, true);
  pv.setBigUint64(16, BigInt(total), true);

  const footer = new Uint8Array(FOOTER_BYTES);
  const fv = new DataView(footer.buffer);
  fv.setBigUint64(0, BigInt(total), true);
  fv.setUint32(8, crc32c(header, crc32c(preamble)), true);
  fv.setUint32(12, crc32c(footer.subarray(0, 12)), true);
  footer.set(END_MAGIC, 16);

  await atomicWriteFile(path, async (fh) => {
    await writeFully(fh, preamble, 0);
    await writeFully(fh, header, PREAMBLE_BYTES);
    // Gaps between regions are written as zeros explicitly, so the file never has holes.
    const zeros = new Uint8Array(DATA_ALIGNMENT);
    await writeFully(
      fh,
      zeros.subarray(0, dataStart - PREAMBLE_BYTES - header.length),
      PREAMBLE_BYTES + header.length,
    );
    for (let i = 0; i < tensors.length; i++) {
      const e = entries[i];
      const at = dataStart + e.offset;
      await writeFully(fh, bytesOf(tensors[i].data), at);
      const padEnd = dataStart + (i + 1 < entries.length ? entries[i + 1].offset : dataBytes);
      await writeFully(fh, zeros.subarray(0, padEnd - at - e.byteLength), at + e.byteLength);
    }
    await writeFully(fh, footer, total - FOOTER_BYTES);
  });
}

function checkEntries(file: string, raw: unknown, dataBytes: number): TensorEntry[] {
  const fail = (what: string): never => {
    throw new CheckpointError(file, `malformed header: ${what}`);
  };
  if (!Array.isArray(raw)) fail('"tensors" is not a list');
  const seen = new Set<string>();
  return (raw as unknown[]).map((r, i) => {
    if (typeof r !== 'object' || r === null) fail(`tensors[${i}] is not an object`);
    const e = r as Record<string, unknown>;
    const label = typeof e.name === 'string' ? `tensor '${e.name}'` : `tensors[${i}]`;
    if (typeof e.name !== 'string' || e.name.length === 0) fail(`${label} has no name`);
    const name = e.name as string;
    if (seen.has(name)) fail(`tensor '${name}' appears twice`);
    seen.add(name);
    if (typeof e.dtype !== 'string' || !isCheckpointDType(e.dtype)) {
      fail(`${label} has unsupported dtype ${JSON.stringify(e.dtype)}`);
    }
    const dtype = e.dtype as CheckpointDType;
    const shape = e.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      fail(`${label} has invalid shape ${JSON.stringify(shape)}`);
    }
    for (const k of ['offset', 'byteLength', 'crc32c'] as const) {
      if (!Number.isSafeInteger(e[k]) || (e[k] as number) < 0) fail(`${label} has invalid ${k}`);
    }
    const entry: TensorEntry = {
      name,
      dtype,
      shape: shape as number[],
      offset: e.offset as number,
      byteLength: e.byteLength as number,
      crc32c: e.crc32c as number,
    };
    const expected = elementCount(entry.shape) * DTYPES[dtype].BYTES_PER_ELEMENT;
    if (entry.byteLength !== expected) {
      fail(
        `${label}: byteLength ${entry.byteLength} but ${dtype}[${entry.shape}] takes ${expected}`,
      );
    }
    if (entry.offset % DATA_ALIGNMENT !== 0)
      fail(`${label}: offset ${entry.offset} is not 64-byte aligned`);
    if (entry.offset + entry.byteLength > dataBytes) {
      fail(
        `${label}: bytes [${entry.offset}, ${entry.offset + entry.byteLength}) lie outside the ${dataBytes}-byte data section`,
      );
    }
    return entry;
  });
}

interface OpenedCheckpoint {
  fh: FileHandle;
  header: CheckpointHeader;
}

/** Opens a checkpoint and verifies everything except the tensor bytes. Caller closes `fh`. */
async function openCheckpoint(file: string): Promise<OpenedCheckpoint> {
  let fh: FileHandle;
  try {
    fh = await open(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new CheckpointError(file, 'file does not exist');
    }
    throw err;
  }
  try {
    const size = (await fh.stat()).size;
    const preamble = new Uint8Array(PREAMBLE_BYTES);
    const got = await readFully(fh, preamble, 0);
    const magicLen = Math.min(got, MAGIC.length);
    if (!preamble.subarray(0, magicLen).every((b, i) => b === MAGIC[i])) {
      throw new CheckpointError(
        file,
        `bad magic: starts with bytes [${hex(preamble.subarray(0, magicLen))}], a .vgckpt file starts with [${hex(MAGIC)}]`,
      );
    }
    if (got < PREAMBLE_BYTES) {
      throw new CheckpointError(
        file,
        `truncated at byte ${got}: shorter than the ${PREAMBLE_BYTES}-byte preamble`,
      );
    }
    const pv = new DataView(preamble.buffer);
    const version = pv.getUint32(8, true);
    if (version !== CHECKPOINT_FORMAT_VERSION) {
      throw new CheckpointError(
        file,
        `unsupported format version ${version} (this build reads version ${CHECKPOINT_FORMAT_VERSION})`,
      );
    }
    const headerLength = pv.getUint32(12, true);
    const declared = Number(pv.getBigUint64(16, true));
    if (size !== declared) {
      // A footer that agrees with the actual size means the preamble, not the file, is damaged.
      const tail = new Uint8Array(FOOTER_BYTES);
      if (
        size >= PREAMBLE_BYTES + FOOTER_BYTES &&
        (await readFully(fh, tail, size - FOOTER_BYTES)) === FOOTER_BYTES
      ) {
        const tv = new DataView(tail.buffer);
        const footerOk =
          tail.subarray(16).every((b, i) => b === END_MAGIC[i]) &&
          tv.getUint32(12, true) === crc32c(tail.subarray(0, 12)) &&
          Number(tv.getBigUint64(0, true)) === size;
        if (footerOk) {
          throw new CheckpointError(
            file,
            `corrupt preamble: it declares ${declared} bytes but the footer and the file size agree on ${size}`,
          );
        }
      }
      if (size < declared)
        throw new CheckpointError(file, `truncated at byte ${size} of ${declared}`);
      throw new CheckpointError(
        file,
        `has ${size} bytes but declares ${declared}: trailing data after the footer`,
      );
    }
    const dataStart = align(PREAMBLE_BYTES + headerLength);
    if (dataStart + FOOTER_BYTES > size) {
      throw new CheckpointError(
        file,
        `header length ${headerLength} does not fit in a ${size}-byte file`,
      );
    }
    const footer = new Uint8Array(FOOTER_BYTES);
    await readFully(fh, footer, size - FOOTER_BYTES);
    const fv = new DataView(footer.buffer);
    if (!footer.subarray(16).every((b, i) => b === END_MAGIC[i])) {
      throw new CheckpointError(
        file,
        `bad end magic at byte ${size - 8}: [${hex(footer.subarray(16))}]`,
      );
    }
    if (fv.getUint32(12, true) !== crc32c(footer.subarray(0, 12))) {
      throw new CheckpointError(
        file,
        `footer CRC mismatch: the footer at byte ${size - FOOTER_BYTES} is corrupt`,
      );
    }
    if (Number(fv.getBigUint64(0, true)) !== size) {
      throw new CheckpointError(
        file,
        `footer declares ${fv.getBigUint64(0, true)} bytes, file has ${size}`,
      );
    }
    const headerBytes = new Uint8Array(headerLength);
    await readFully(fh, headerBytes, PREAMBLE_BYTES);
    const storedCrc = fv.getUint32(8, true);
    const actualCrc = crc32c(headerBytes, crc32c(preamble));
    if (storedCrc !== actualCrc) {
      throw new CheckpointError(
        file,
        `header CRC mismatch (stored 0x${storedCrc.toString(16)}, computed 0x${actualCrc.toString(16)})`,
      );
    }
    let json: unknown;
    try {
      json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(headerBytes));
    } catch (err) {
      throw new CheckpointError(file, `header is not valid UTF-8 JSON (${(err as Error).message})`);
    }
    if (typeof json !== 'object' || json === null) {
      throw new CheckpointError(file, 'malformed header: not a JSON object');
    }
    const h = json as Record<string, unknown>;
    const dataBytes = size - FOOTER_BYTES - dataStart;
    const tensors = checkEntries(file, h.tensors, dataBytes);
    const meta = h.meta ?? {};
    if (typeof meta !== 'object' || meta === null || Array.isArray(meta)) {
      throw new CheckpointError(file, 'malformed header: "meta" is not an object');
    }
    return {
      fh,
      header: { version, tensors, meta: meta as JsonObject, fileLength: size, dataStart },
    };
  } catch (err) {
    await fh.close();
    throw err;
  }
}

/**
 * Reads and structurally verifies a checkpoint's header (magic, version, length, footer, header
 * CRC) without reading tensor data. Throws {@link CheckpointError} naming the file.
 */
export async function readCheckpointHeader(path: string): Promise<CheckpointHeader> {
  const { fh, header } = await openCheckpoint(path);
  await fh.close();
  return header;
}

export interface ReadCheckpointOptions {
  /** Check each read tensor's CRC-32C (default true). The header is always verified. */
  verify?: boolean;
  /** Read only these tensors (default: all). A name not in the file is an error. */
  names?: string[];
}

/**
 * Reads a `.vgckpt` file. Each tensor is read straight into its own freshly allocated typed
 * array, so the file is never held in memory as a whole.
 * @throws CheckpointError naming the file: bad magic, truncation, CRC mismatch, unknown tensor...
 */
export async function readCheckpointFile(
  path: string,
  opts: ReadCheckpointOptions = {},
): Promise<CheckpointData> {
  assertLittleEndianHost();
  const verify = opts.verify ?? true;
  const { fh, header } = await openCheckpoint(path);
  try {
    let selected = header.tensors;
    if (opts.names) {
      const byName = new Map(header.tensors.map((e) => [e.name, e]));
      const missing = opts.names.filter((n) => !byName.has(n));
      if (missing.length) {
        const have = header.tensors.map((e) => e.name);
        throw new CheckpointError(
          path,
          `no tensor named ${missing.map((n) => `'${n}'`).join(', ')} (has ${have.length}: ${listSome(have)})`,
        );
      }
      const wanted = new Set(opts.names);
      selected = header.tensors.filter((e) => wanted.has(e.name));
    }
    const tensors = new Map<string, StoredTensor>();
    for (const e of selected) {
      const data = new DTYPES[e.dtype](e.byteLength / DTYPES[e.dtype].BYTES_PER_ELEMENT);
      const bytes = bytesOf(data);
      const at = header.dataStart + e.offset;
      const got = await readFully(fh, bytes, at);
      if (got !== bytes.length) {
        throw new CheckpointError(path, `truncated at byte ${at + got} inside tensor '${e.name}'`);
      }
      if (verify) {
        const crc = crc32c(bytes);
        if (crc !== e.crc32c) {
          throw new CheckpointError(
            path,
            `CRC mismatch in tensor '${e.name}' (stored 0x${e.crc32c.toString(16)}, computed 0x${crc.toString(16)})`,
          );
        }
      }
      tensors.set(e.name, { dtype: e.dtype, shape: e.shape, data });
    }
    return { tensors, meta: header.meta };
  } finally {
    await fh.close();
  }
}

/** `a, b, c, ... and N more` for error messages. */
export function listSome(names: readonly string[], max = 10): string {
  const shown = names
    .slice(0, max)
    .map((n) => `'${n}'`)
    .join(', ');
  return names.length > max ? `${shown}, ... and ${names.length - max} more` : shown;
}
