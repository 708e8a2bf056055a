/**
 * NumPy `.npy` and `.npz` files: the arrays Model Garden's reference fixtures use for inputs and
 * outputs, and what `vision-garden forward` reads and writes.
 *
 * `.npy` (numpy/lib/format.py, versions 1.0–3.0): magic `\x93NUMPY`, version, header length
 * (u16 in 1.0, u32 in 2.0/3.0), a Python-literal dict `{'descr', 'fortran_order', 'shape'}`
 * padded to 64 bytes, then the C-order data. Little-endian and byte-order-free dtypes are read;
 * big-endian data and Fortran order are rejected with the file's name.
 *
 * `.npz`: a zip archive with one `<key>.npy` member per array, stored or deflated
 * (`np.savez` / `np.savez_compressed`); numpy writes zip64 records, which are read. Members are
 * inflated with node's zlib and their CRC-32 checked. Written archives use deflate.
 */
import { readFileSync } from 'node:fs';
import { crc32, deflateRawSync, inflateRawSync } from 'node:zlib';
import { writeAllSync, writeFileAtomicSync } from '../core/atomic_write.js';
import { STORED_DTYPES, type StoredData } from '../core/stored_dtypes.js';

export type NpyDtype =
  | 'float16'
  | 'float32'
  | 'float64'
  | 'int8'
  | 'int16'
  | 'int32'
  | 'int64'
  | 'uint8'
  | 'uint16'
  | 'uint32'
  | 'bool';

/** The typed arrays of {@link NpyDtype} (src/core/stored_dtypes.ts; no uint64). */
export type NpyData = Exclude<StoredData, BigUint64Array>;

/** One array: C-order data. float16 is kept as raw 16-bit patterns; bool as one byte (0/1). */
export interface NdArray {
  dtype: NpyDtype;
  shape: number[];
  data: NpyData;
}

/** The `.npy` descr of each dtype (its typed array: src/core/stored_dtypes.ts). */
const DESCRS: Record<NpyDtype, string> = {
  float16: '<f2',
  float32: '<f4',
  float64: '<f8',
  int8: '|i1',
  int16: '<i2',
  int32: '<i4',
  int64: '<i8',
  uint8: '|u1',
  uint16: '<u2',
  uint32: '<u4',
  bool: '|b1',
};

/** descr → dtype; '=' and '<' both mean little-endian here (hosts are little-endian). */
function dtypeOfDescr(descr: string): NpyDtype | null {
  const norm = descr.replace(/^[=<|]/, '');
  for (const [name, d] of Object.entries(DESCRS)) {
    if (d.slice(1) === norm) return name as NpyDtype;
  }
  return null;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

/** Parses the header dict: `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }`. */
function parseHeader(
  text: string,
  source: string,
): { descr: string; fortran: boolean; shape: number[] } {
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(text);
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(text);
  const shape = /'shape'\s*:\s*\(([^)]*)\)/.exec(text);
  if (!descr || !fortran || !shape) {
    throw new Error(`${source}: malformed .npy header ${JSON.stringify(text.trim())}`);
  }
  const dims = shape[1]
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((s) => {
      const n = Number(s.replace(/L$/, ''));
      if (!Number.isSafeInteger(n) || n < 0) {
        throw new Error(`${source}: bad dimension '${s}' in .npy shape (${shape[1]})`);
      }
      return n;
    });
  return { descr: descr[1], fortran: fortran[1] === 'True', shape: dims };
}

/** Decodes one `.npy` byte string; `source` names the file (and member) in errors. */
export function parseNpy(bytes: Uint8Array, source: string): NdArray {
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) {
    throw new Error(`${source}: not a .npy file (bad magic)`);
  }
  const major = bytes[6];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerLen: number;
  let start: number;
  if (major === 1) {
    headerLen = view.getUint16(8, true);
    start = 10;
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) throw new Error(`${source}: truncated .npy header`);
    headerLen = view.getUint32(8, true);
    start = 12;
  } else {
    throw new Error(`${source}: unsupported .npy version ${major}.${bytes[7]}`);
  }
  if (start + headerLen > bytes.length) throw new Error(`${source}: truncated .npy header`);
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(
    bytes.subarray(start, start + headerLen),
  );
  const { descr, fortran, shape } = parseHeader(header, source);
  if (fortran) {
    throw new Error(`${source}: Fortran-order arrays are not supported; save with C order`);
  }
  const dtype = dtypeOfDescr(descr);
  if (!dtype) {
    throw new Error(
      `${source}: dtype '${descr}' is not supported (little-endian ${Object.values(DESCRS).join(', ')})`,
    );
  }
  const array = STORED_DTYPES[dtype];
  const count = shape.reduce((a, b) => a * b, 1);
  const dataStart = start + headerLen;
  const byteLength = count * array.BYTES_PER_ELEMENT;
  if (bytes.length - dataStart !== byteLength) {
    throw new Error(
      `${source}: data holds ${bytes.length - dataStart} bytes; shape (${shape.join(', ')}) ${descr} needs ${byteLength}`,
    );
  }
  // Copy into an aligned buffer of its own (the source may be unaligned or shared).
  // (Buffer#slice would return a view, so copy explicitly.)
  const copy = new Uint8Array(byteLength);
  copy.set(bytes.subarray(dataStart, dataStart + byteLength));
  return { dtype, shape, data: new array(copy.buffer, 0, count) as NpyData };
}

/** Encodes an array as a version-1.0 `.npy` byte string. */
export function encodeNpy(a: NdArray, name = 'array'): Uint8Array {
  const descr = DESCRS[a.dtype];
  if (!descr) throw new Error(`${name}: dtype '${String(a.dtype)}' cannot be written to .npy`);
  const count = a.shape.reduce((x, y) => x * y, 1);
  if (a.data.length !== count) {
    throw new Error(`${name}: ${a.data.length} values for shape [${a.shape.join(', ')}]`);
  }
  const shape = a.shape.length === 1 ? `(${a.shape[0]},)` : `(${a.shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  // Pad with spaces so that the data starts at a multiple of 64, ending with '\n'.
  const total = Math.ceil((10 + header.length + 1) / 64) * 64;
  header = header.padEnd(total - 10 - 1, ' ') + '\n';
  if (header.length > 0xffff) throw new Error(`${name}: .npy header too long`);
  const data = new Uint8Array(a.data.buffer, a.data.byteOffset, a.data.byteLength);
  const out = new Uint8Array(total + data.length);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  out.set(data, total);
  return out;
}

export function readNpy(path: string): NdArray {
  return parseNpy(readFileSync(path), path);
}

/** Writes an `.npy` file atomically. */
export function writeNpy(path: string, a: NdArray): void {
  const bytes = encodeNpy(a, path);
  writeFileAtomicSync(path, (fd) => writeAllSync(fd, bytes));
}

// ---------------------------------------------------------------------------------------------
// .npz (zip)

const EOCD_SIG = 0x06054b50;
const ZIP64_EOCD_SIG = 0x06064b50;
const ZIP64_LOCATOR_SIG = 0x07064b50;
const CENTRAL_SIG = 0x02014b50;
const LOCAL_SIG = 0x04034b50;

interface ZipMember {
  name: string;
  method: number;
  crc: number;
  compressedSize: number;
  size: number;
  localOffset: number;
}

function u64(view: DataView, at: number, source: string): number {
  const v = view.getBigUint64(at, true);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error(`${source}: zip offset too large`);
  return Number(v);
}

/** The central directory's members (zip64 sizes and offsets resolved). */
function zipMembers(bytes: Uint8Array, source: string): ZipMember[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let eocd = -1;
  for (let i = bytes.length - 22; i >= Math.max(0, bytes.length - 22 - 0xffff); i--) {
    if (view.getUint32(i, true) === EOCD_SIG) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0)
    throw new Error(`${source}: not a zip/.npz file (no end-of-central-directory record)`);
  let count = view.getUint16(eocd + 10, true);
  let cdOffset = view.getUint32(eocd + 16, true);
  if (
    (count === 0xffff || cdOffset === 0xffffffff) &&
    eocd >= 20 &&
    view.getUint32(eocd - 20, true) === ZIP64_LOCATOR_SIG
  ) {
    const z64 = u64(view, eocd - 12, source);
    if (z64 + 56 > bytes.length || view.getUint32(z64, true) !== ZIP64_EOCD_SIG) {
      throw new Error(`${source}: corrupt zip64 end-of-central-directory record`);
    }
    count = u64(view, z64 + 32, source);
    cdOffset = u64(view, z64 + 48, source);
  }
  const members: ZipMember[] = [];
  let p = cdOffset;
  for (let k = 0; k < count; k++) {
    if (p + 46 > bytes.length || view.getUint32(p, true) !== CENTRAL_SIG) {
      throw new Error(`${source}: corrupt zip central directory (entry ${k})`);
    }
    const nameLen = view.getUint16(p + 28, true);
    const extraLen = view.getUint16(p + 30, true);
    const commentLen = view.getUint16(p + 32, true);
    const name = new TextDecoder().decode(bytes.subarray(p + 46, p + 46 + nameLen));
    let compressedSize = view.getUint32(p + 20, true);
    let size = view.getUint32(p + 24, true);
    let localOffset = view.getUint32(p + 42, true);
    // zip64 extended information: the 0xffffffff fields, in order, as 8-byte values.
    let e = p + 46 + nameLen;
    const eEnd = e + extraLen;
    while (e + 4 <= eEnd) {
      const id = view.getUint16(e, true);
      const len = view.getUint16(e + 2, true);
      if (id === 0x0001) {
        let q = e + 4;
        if (size === 0xffffffff) {
          size = u64(view, q, source);
          q += 8;
        }
        if (compressedSize === 0xffffffff) {
          compressedSize = u64(view, q, source);
          q += 8;
        }
        if (localOffset === 0xffffffff) localOffset = u64(view, q, source);
      }
      e += 4 + len;
    }
    members.push({
      name,
      method: view.getUint16(p + 10, true),
      crc: view.getUint32(p + 16, true),
      compressedSize,
      size,
      localOffset,
    });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return members;
}

function memberBytes(bytes: Uint8Array, m: ZipMember, source: string): Uint8Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const at = m.localOffset;
  if (at + 30 > bytes.length || view.getUint32(at, true) !== LOCAL_SIG) {
    throw new Error(`${source}: member '${m.name}': corrupt local header`);
  }
  const start = at + 30 + view.getUint16(at + 26, true) + view.getUint16(at + 28, true);
  if (start + m.compressedSize > bytes.length) {
    throw new Error(`${source}: member '${m.name}' is truncated`);
  }
  const raw = bytes.subarray(start, start + m.compressedSize);
  let out: Uint8Array;
  if (m.method === 0) out = raw;
  else if (m.method === 8) {
    try {
      out = inflateRawSync(raw);
    } catch (err) {
      throw new Error(`${source}: member '${m.name}': ${(err as Error).message}`, { cause: err });
    }
  } else {
    throw new Error(
      `${source}: member '${m.name}' uses zip method ${m.method} (only stored and deflate)`,
    );
  }
  if (out.length !== m.size) {
    throw new Error(
      `${source}: member '${m.name}' inflates to ${out.length} bytes, directory says ${m.size}`,
    );
  }
  if (crc32(out) >>> 0 !== m.crc) throw new Error(`${source}: member '${m.name}': CRC-32 mismatch`);
  return out;
}

/** Decodes an `.npz` archive: array name (member name without `.npy`) → array, in archive order. */
export function parseNpz(bytes: Uint8Array, source: string): Map<string, NdArray> {
  const out = new Map<string, NdArray>();
  for (const m of zipMembers(bytes, source)) {
    if (m.name.endsWith('/')) continue;
    const key = m.name.endsWith('.npy') ? m.name.slice(0, -4) : m.name;
    out.set(key, parseNpy(memberBytes(bytes, m, source), `${source}:${m.name}`));
  }
  return out;
}

export function readNpz(path: string): Map<string, NdArray> {
  return parseNpz(readFileSync(path), path);
}

/** Encodes arrays as a deflated `.npz` (each as `<name>.npy`, like np.savez_compressed). */
export function encodeNpz(arrays: Iterable<[string, NdArray]>): Uint8Array {
  const locals: Uint8Array[] = [];
  const centrals: Uint8Array[] = [];
  let offset = 0;
  let count = 0;
  const enc = new TextEncoder();
  for (const [key, a] of arrays) {
    const name = enc.encode(`${key}.npy`);
    const data = encodeNpy(a, key);
    const packed = deflateRawSync(data);
    const crc = crc32(data) >>> 0;
    if (offset + 30 + name.length + packed.length > 0xffffffff || data.length > 0xffffffff) {
      throw new Error(`${key}: .npz archives over 4 GiB are not written`);
    }
    const local = new Uint8Array(30 + name.length);
    const lv = new DataView(local.buffer);
    lv.setUint32(0, LOCAL_SIG, true);
    lv.setUint16(4, 20, true); // version needed: 2.0 (deflate)
    lv.setUint16(8, 8, true); // method: deflate
    lv.setUint16(10, 0, true); // time
    lv.setUint16(12, 0x21, true); // date: 1980-01-01
    lv.setUint32(14, crc, true);
    lv.setUint32(18, packed.length, true);
    lv.setUint32(22, data.length, true);
    lv.setUint16(26, name.length, true);
    local.set(name, 30);
    const central = new Uint8Array(46 + name.length);
    const cv = new DataView(central.buffer);
    cv.setUint32(0, CENTRAL_SIG, true);
    cv.setUint16(4, 20, true);
    cv.setUint16(6, 20, true);
    cv.setUint16(10, 8, true);
    cv.setUint16(14, 0x21, true);
    cv.setUint32(16, crc, true);
    cv.setUint32(20, packed.length, true);
    cv.setUint32(24, data.length, true);
    cv.setUint16(28, name.length, true);
    cv.setUint32(42, offset, true);
    central.set(name, 46);
    locals.push(local, packed);
    centrals.push(central);
    offset += local.length + packed.length;
    count++;
  }
  if (count > 0xffff) throw new Error(`.npz archives of more than 65535 arrays are not written`);
  const cdSize = centrals.reduce((n, c) => n + c.length, 0);
  const eocd = new Uint8Array(22);
  const ev = new DataView(eocd.buffer);
  ev.setUint32(0, EOCD_SIG, true);
  ev.setUint16(8, count, true);
  ev.setUint16(10, count, true);
  ev.setUint32(12, cdSize, true);
  ev.setUint32(16, offset, true);
  const out = new Uint8Array(offset + cdSize + 22);
  let p = 0;
  for (const part of [...locals, ...centrals, eocd]) {
    out.set(part, p);
    p += part.length;
  }
  return out;
}

/** Writes an `.npz` file atomically. */
export function writeNpz(path: string, arrays: Iterable<[string, NdArray]>): void {
  const bytes = encodeNpz(arrays);
  writeFileAtomicSync(path, (fd) => writeAllSync(fd, bytes));
}
