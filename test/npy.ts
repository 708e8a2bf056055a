/** Test-only readers for NumPy `.npy` files and `.npz` archives (stored or deflated zip entries). */
import { readFileSync } from 'node:fs';
import { inflateRawSync } from 'node:zlib';

export interface NpyArray {
  shape: number[];
  data: Float32Array | Int32Array;
}

/** Parses a little-endian float32/int32 C-order `.npy` payload. */
export function parseNpy(buf: Buffer, what: string): NpyArray {
  if (buf.readUInt32BE(0) !== 0x934e554d) throw new Error(`${what}: not a .npy file`);
  const major = buf[6];
  const headerLen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = buf.toString('latin1', start, start + headerLen);
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (/'fortran_order':\s*True/.test(header) || shapeText === undefined) {
    throw new Error(`${what}: unsupported .npy header ${header.trim()}`);
  }
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map(Number);
  const bytes = buf.subarray(start + headerLen);
  const copy = new Uint8Array(bytes).buffer;
  if (descr === '<f4') return { shape, data: new Float32Array(copy) };
  if (descr === '<i4') return { shape, data: new Int32Array(copy) };
  throw new Error(`${what}: unsupported dtype ${descr}`);
}

export function readNpy(file: string): NpyArray {
  return parseNpy(readFileSync(file), file);
}

/** Every array of an `.npz` archive, keyed by name without `.npy`. */
export function readNpz(file: string): Record<string, NpyArray> {
  const buf = readFileSync(file);
  const out: Record<string, NpyArray> = {};
  let p = 0;
  while (p + 30 <= buf.length && buf.readUInt32LE(p) === 0x04034b50) {
    const flags = buf.readUInt16LE(p + 6);
    const method = buf.readUInt16LE(p + 8);
    let compressed = buf.readUInt32LE(p + 18);
    const nameLen = buf.readUInt16LE(p + 26);
    const extraLen = buf.readUInt16LE(p + 28);
    if (flags & 0x8)
      throw new Error(`${file}: zip entries with data descriptors are not supported`);
    const name = buf.toString('utf8', p + 30, p + 30 + nameLen);
    const dataStart = p + 30 + nameLen + extraLen;
    if (compressed === 0xffffffff) {
      // ZIP64 (numpy writes with force_zip64): sizes in extra field 0x0001 as [size, compressed].
      for (let e = p + 30 + nameLen; e + 4 <= dataStart; e += 4 + buf.readUInt16LE(e + 2)) {
        if (buf.readUInt16LE(e) === 0x0001) compressed = Number(buf.readBigUInt64LE(e + 12));
      }
    }
    const raw = buf.subarray(dataStart, dataStart + compressed);
    const body = method === 0 ? raw : method === 8 ? inflateRawSync(raw) : null;
    if (!body) throw new Error(`${file}: entry ${name} uses zip method ${method}`);
    out[name.replace(/\.npy$/, '')] = parseNpy(body, `${file}:${name}`);
    p = dataStart + compressed;
  }
  return out;
}
