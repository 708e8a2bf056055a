/**
 * A minimal reader of NumPy `.npz` files (zip archives of `.npy` arrays, stored or deflated,
 * zip64 sizes included) for tests that compare against Model Garden's reference outputs.
 * Little-endian float32 / int32 / float64 / int64 C-order arrays only.
 */
import { readFileSync } from 'node:fs';
import { inflateRawSync } from 'node:zlib';

export interface NpyArray {
  shape: number[];
  dtype: string;
  data: Float32Array | Int32Array | Float64Array;
}

/** Parses one `.npy` buffer. */
export function parseNpy(buf: Buffer, name = 'npy'): NpyArray {
  if (buf.readUInt32BE(0) !== 0x934e554d) throw new Error(`${name}: not a .npy array`);
  const major = buf[6];
  const headerLen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = buf.toString('latin1', start, start + headerLen);
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || shapeText === undefined || /'fortran_order':\s*True/.test(header)) {
    throw new Error(`${name}: unsupported .npy header ${header}`);
  }
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map(Number);
  const body = buf.subarray(start + headerLen);
  const copy = (bytes: number) => {
    const ab = new ArrayBuffer(body.length - (body.length % bytes));
    new Uint8Array(ab).set(body.subarray(0, ab.byteLength));
    return ab;
  };
  switch (descr) {
    case '<f4':
      return { shape, dtype: 'float32', data: new Float32Array(copy(4)) };
    case '<i4':
      return { shape, dtype: 'int32', data: new Int32Array(copy(4)) };
    case '<f8':
      return { shape, dtype: 'float64', data: new Float64Array(copy(8)) };
    case '<i8': {
      const big = new BigInt64Array(copy(8));
      return { shape, dtype: 'int32', data: Int32Array.from(big, (v) => Number(v)) };
    }
    default:
      throw new Error(`${name}: unsupported dtype ${descr}`);
  }
}

/** Reads every array of an `.npz` file, keyed by its name without `.npy`. */
export function readNpz(path: string): Record<string, NpyArray> {
  const buf = readFileSync(path);
  let eocd = buf.length - 22;
  while (eocd >= 0 && buf.readUInt32LE(eocd) !== 0x06054b50) eocd--;
  if (eocd < 0) throw new Error(`${path}: no zip end-of-central-directory record`);
  let count = buf.readUInt16LE(eocd + 10);
  let offset = buf.readUInt32LE(eocd + 16);
  const locator = eocd - 20;
  if (locator >= 0 && buf.readUInt32LE(locator) === 0x07064b50) {
    const z64 = Number(buf.readBigUInt64LE(locator + 8));
    count = Number(buf.readBigUInt64LE(z64 + 32));
    offset = Number(buf.readBigUInt64LE(z64 + 48));
  }
  const out: Record<string, NpyArray> = {};
  for (let i = 0; i < count; i++) {
    if (buf.readUInt32LE(offset) !== 0x02014b50) throw new Error(`${path}: bad central directory`);
    const method = buf.readUInt16LE(offset + 10);
    let compressed = buf.readUInt32LE(offset + 20);
    let size = buf.readUInt32LE(offset + 24);
    const nameLen = buf.readUInt16LE(offset + 28);
    const extraLen = buf.readUInt16LE(offset + 30);
    const commentLen = buf.readUInt16LE(offset + 32);
    let local = buf.readUInt32LE(offset + 42);
    const name = buf.toString('utf8', offset + 46, offset + 46 + nameLen);
    // Zip64 extra field: the 0xFFFFFFFF fields, in order size, compressed size, local offset.
    let e = offset + 46 + nameLen;
    const end = e + extraLen;
    while (e < end) {
      const id = buf.readUInt16LE(e);
      const len = buf.readUInt16LE(e + 2);
      if (id === 1) {
        let p = e + 4;
        if (size === 0xffffffff) {
          size = Number(buf.readBigUInt64LE(p));
          p += 8;
        }
        if (compressed === 0xffffffff) {
          compressed = Number(buf.readBigUInt64LE(p));
          p += 8;
        }
        if (local === 0xffffffff) local = Number(buf.readBigUInt64LE(p));
      }
      e += 4 + len;
    }
    const dataStart = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
    const raw = buf.subarray(dataStart, dataStart + compressed);
    const bytes = method === 0 ? raw : method === 8 ? inflateRawSync(raw) : null;
    if (!bytes || bytes.length !== size) {
      throw new Error(`${path}: ${name} uses zip method ${method} or has a bad size`);
    }
    out[name.replace(/\.npy$/, '')] = parseNpy(bytes, `${path}:${name}`);
    offset += 46 + nameLen + extraLen + commentLen;
  }
  return out;
}
