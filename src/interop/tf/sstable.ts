/**
 * The immutable sorted table TensorFlow's `.index` files are (tensorflow/core/lib/io/table*.cc,
 * LevelDB's table format):
 *
 *   [data block]* [metaindex block] [index block] [footer: 48 bytes]
 *
 * Footer: the metaindex and index block handles (each two varint64: offset, size), zero-padded to
 * 40 bytes, then the magic 0xdb4775248b80fb57 as a little-endian fixed64. Every block is followed
 * by a 5-byte trailer: a compression type (0 none, 1 snappy) and the masked CRC-32C of the block
 * bytes plus that type byte. A block holds prefix-compressed entries
 * (varint32 shared, varint32 non_shared, varint32 value_length, key suffix, value), then the
 * restart offsets (fixed32 each; entries there store their whole key) and their count (fixed32).
 * The index block maps, for each data block, a key >= every key in it to its handle.
 */
import { crc32c, maskCrc32c } from '../../core/crc32c.js';
import { snappyDecompress } from './snappy.js';

const MAGIC_LO = 0x8b80fb57;
const MAGIC_HI = 0xdb477524;
const FOOTER_SIZE = 48;
const HANDLES_SIZE = 40;
const TRAILER_SIZE = 5;

export interface TableEntry {
  key: Uint8Array;
  value: Uint8Array;
}

interface BlockHandle {
  offset: number;
  size: number;
}

/** Byte cursor over a buffer with varint reads; errors name the file and what was being read. */
class Cursor {
  constructor(
    readonly buf: Uint8Array,
    public pos: number,
    readonly end: number,
    readonly where: string,
  ) {}

  varint(): number {
    let v = 0;
    for (let shift = 0; shift < 64; shift += 7) {
      if (this.pos >= this.end) throw new Error(`${this.where}: truncated varint`);
      const b = this.buf[this.pos++];
      v += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) {
        if (!Number.isSafeInteger(v)) throw new Error(`${this.where}: varint ${v} too large`);
        return v;
      }
    }
    throw new Error(`${this.where}: varint longer than 10 bytes`);
  }

  bytes(n: number): Uint8Array {
    if (this.pos + n > this.end) throw new Error(`${this.where}: entry runs past the block`);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
}

function readFixed32(buf: Uint8Array, at: number): number {
  return (buf[at] | (buf[at + 1] << 8) | (buf[at + 2] << 16) | (buf[at + 3] << 24)) >>> 0;
}

function readHandle(c: Cursor): BlockHandle {
  return { offset: c.varint(), size: c.varint() };
}

/** Reads one block's contents (checksum verified, snappy undone). */
function readBlock(file: Uint8Array, h: BlockHandle, name: string, what: string): Uint8Array {
  const where = `${name}: ${what} at offset ${h.offset}`;
  if (h.offset + h.size + TRAILER_SIZE > file.length) {
    throw new Error(`${where}: block of ${h.size} bytes runs past the end of the file`);
  }
  const contents = file.subarray(h.offset, h.offset + h.size);
  const type = file[h.offset + h.size];
  const stored = readFixed32(file, h.offset + h.size + 1);
  const actual = maskCrc32c(crc32c(file.subarray(h.offset, h.offset + h.size + 1)));
  if (stored !== actual) {
    throw new Error(
      `${where}: block checksum mismatch (stored 0x${stored.toString(16)}, computed 0x${actual.toString(16)})`,
    );
  }
  if (type === 0) return contents;
  if (type === 1) return snappyDecompress(contents, where);
  throw new Error(`${where}: unknown block compression type ${type}`);
}

/** Decodes every entry of a block, in order. */
function blockEntries(block: Uint8Array, where: string): TableEntry[] {
  if (block.length < 4) throw new Error(`${where}: block too short (${block.length} bytes)`);
  const numRestarts = readFixed32(block, block.length - 4);
  const restartsAt = block.length - 4 - 4 * numRestarts;
  if (numRestarts === 0 || restartsAt < 0) {
    throw new Error(`${where}: bad restart count ${numRestarts}`);
  }
  const restarts = new Set<number>();
  for (let i = 0; i < numRestarts; i++) {
    const r = readFixed32(block, restartsAt + 4 * i);
    if (r !== 0 && r >= restartsAt) {
      throw new Error(`${where}: restart point ${r} outside the entries`);
    }
    restarts.add(r);
  }
  const out: TableEntry[] = [];
  const c = new Cursor(block, 0, restartsAt, where);
  let prev: Uint8Array = new Uint8Array(0);
  while (c.pos < restartsAt) {
    const at = c.pos;
    const shared = c.varint();
    const nonShared = c.varint();
    const valueLength = c.varint();
    if (shared > prev.length || (restarts.has(at) && shared !== 0)) {
      throw new Error(
        `${where}: entry at ${at} shares ${shared} bytes with a ${prev.length}-byte key`,
      );
    }
    const key = new Uint8Array(shared + nonShared);
    key.set(prev.subarray(0, shared));
    key.set(c.bytes(nonShared), shared);
    out.push({ key, value: c.bytes(valueLength) });
    prev = key;
  }
  return out;
}

/**
 * Reads every entry of a table held in memory, in key order.
 * @param name the file name, used in every error message.
 */
export function readTable(file: Uint8Array, name: string): TableEntry[] {
  if (file.length < FOOTER_SIZE) {
    throw new Error(`${name}: not a TensorFlow table (${file.length} bytes, footer needs 48)`);
  }
  const f = file.length - FOOTER_SIZE;
  if (readFixed32(file, f + HANDLES_SIZE) !== MAGIC_LO || readFixed32(file, f + 44) !== MAGIC_HI) {
    throw new Error(`${name}: bad table magic number (not a TensorFlow .index file, or truncated)`);
  }
  const footer = new Cursor(file, f, f + HANDLES_SIZE, `${name}: footer`);
  readHandle(footer); // metaindex: TensorBundle tables keep nothing there
  const indexHandle = readHandle(footer);
  const index = blockEntries(
    readBlock(file, indexHandle, name, 'index block'),
    `${name}: index block`,
  );
  const out: TableEntry[] = [];
  for (const e of index) {
    const h = readHandle(new Cursor(e.value, 0, e.value.length, `${name}: index entry`));
    const what = `data block`;
    out.push(
      ...blockEntries(readBlock(file, h, name, what), `${name}: ${what} at offset ${h.offset}`),
    );
  }
  for (let i = 1; i < out.length; i++) {
    if (compareBytes(out[i - 1].key, out[i].key) >= 0) {
      throw new Error(`${name}: keys out of order at entry ${i}`);
    }
  }
  return out;
}

/** Bytewise comparison, the order of every TensorFlow table. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

// ---------------------------------------------------------------------------------------------
// Writing

/** Growable byte buffer. */
export class ByteSink {
  private buf = new Uint8Array(1024);
  length = 0;

  private reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.length + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }

  bytes(b: Uint8Array): void {
    this.reserve(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }

  byte(b: number): void {
    this.reserve(1);
    this.buf[this.length++] = b;
  }

  varint(v: number): void {
    if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`bad varint value ${v}`);
    while (v >= 0x80) {
      this.byte((v % 0x80) | 0x80);
      v = Math.floor(v / 0x80);
    }
    this.byte(v);
  }

  fixed32(v: number): void {
    this.byte(v & 0xff);
    this.byte((v >>> 8) & 0xff);
    this.byte((v >>> 16) & 0xff);
    this.byte((v >>> 24) & 0xff);
  }

  view(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }
}

/** Builds one block: prefix-compressed entries with a restart point every `interval` entries. */
class BlockBuilder {
  private readonly sink = new ByteSink();
  private readonly restarts: number[] = [0];
  private count = 0;
  private last: Uint8Array = new Uint8Array(0);

  constructor(private readonly interval: number) {}

  get empty(): boolean {
    return this.count === 0 && this.sink.length === 0;
  }

  get estimatedSize(): number {
    return this.sink.length + 4 * this.restarts.length + 4;
  }

  add(key: Uint8Array, value: Uint8Array): void {
    let shared = 0;
    if (this.count < this.interval) {
      const n = Math.min(this.last.length, key.length);
      while (shared < n && this.last[shared] === key[shared]) shared++;
    } else {
      this.restarts.push(this.sink.length);
      this.count = 0;
    }
    this.sink.varint(shared);
    this.sink.varint(key.length - shared);
    this.sink.varint(value.length);
    this.sink.bytes(key.subarray(shared));
    this.sink.bytes(value);
    this.last = key;
    this.count++;
  }

  finish(): Uint8Array {
    for (const r of this.restarts) this.sink.fixed32(r);
    this.sink.fixed32(this.restarts.length);
    return this.sink.view();
  }
}

export interface TableOptions {
  /** Target uncompressed data-block size (TensorFlow's default, 256 KiB). */
  blockSize?: number;
  /** Entries between restart points in data blocks (16, as TensorFlow and LevelDB). */
  restartInterval?: number;
  /**
   * A snappy compressor: blocks are stored compressed (type 1) when that makes them smaller.
   * TensorFlow writes bundles uncompressed; the reader accepts both.
   */
  snappy?: (block: Uint8Array) => Uint8Array;
}

/**
 * Serialises sorted entries as an uncompressed table. Keys must be strictly increasing
 * (bytewise). Each index key is the last key of its block, a valid separator.
 */
export function buildTable(entries: TableEntry[], opts: TableOptions = {}): Uint8Array {
  const blockSize = opts.blockSize ?? 256 * 1024;
  const interval = opts.restartInterval ?? 16;
  const out = new ByteSink();
  const index = new BlockBuilder(1);

  // LevelDB keeps a compressed block only when it saves at least 1/8 of the bytes.
  const writeBlock = (raw: Uint8Array): BlockHandle => {
    let contents = raw;
    let type = 0;
    const packed = opts.snappy?.(raw);
    if (packed && packed.length < raw.length - raw.length / 8) {
      contents = packed;
      type = 1;
    }
    const handle = { offset: out.length, size: contents.length };
    out.bytes(contents);
    out.byte(type);
    const crc = crc32c(Uint8Array.of(type), crc32c(contents));
    out.fixed32(maskCrc32c(crc));
    return handle;
  };
  const encodeHandle = (h: BlockHandle): Uint8Array => {
    const s = new ByteSink();
    s.varint(h.offset);
    s.varint(h.size);
    return s.view().slice();
  };

  let block = new BlockBuilder(interval);
  let lastKey: Uint8Array | undefined;
  const flush = () => {
    if (block.empty || lastKey === undefined) return;
    index.add(lastKey, encodeHandle(writeBlock(block.finish())));
    block = new BlockBuilder(interval);
  };
  for (const e of entries) {
    if (lastKey !== undefined && compareBytes(lastKey, e.key) >= 0) {
      throw new Error('buildTable: keys must be strictly increasing');
    }
    block.add(e.key, e.value);
    lastKey = e.key;
    if (block.estimatedSize >= blockSize) flush();
  }
  flush();
  const metaHandle = writeBlock(new BlockBuilder(interval).finish());
  const indexHandle = writeBlock(index.finish());
  const footer = new ByteSink();
  footer.bytes(encodeHandle(metaHandle));
  footer.bytes(encodeHandle(indexHandle));
  while (footer.length < HANDLES_SIZE) footer.byte(0);
  footer.fixed32(MAGIC_LO);
  footer.fixed32(MAGIC_HI);
  out.bytes(footer.view());
  return out.view().slice();
}
