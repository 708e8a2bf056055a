/**
 * TensorFlow dtypes as a TensorBundle stores them: names (as `tf.DType.name` prints them), the
 * `DataType` enum values, element sizes, and conversion between the little-endian bytes of a
 * `.data` shard and typed arrays. float16 and bfloat16 are widened to float32 on read and
 * narrowed (round to nearest even) on write.
 */
import { TF_DTYPE } from '../../core/proto/tensor.js';

export type TfDtype =
  | 'float32'
  | 'float16'
  | 'bfloat16'
  | 'float64'
  | 'int64'
  | 'int32'
  | 'int16'
  | 'int8'
  | 'uint8'
  | 'string'
  | 'bool';

export type TensorValuesArray =
  | Float32Array
  | Float64Array
  | Int32Array
  | BigInt64Array
  | Uint8Array
  | Int8Array
  | Int16Array
  | string[]
  | boolean[];

const BY_ENUM = new Map<number, TfDtype>([
  [TF_DTYPE.DT_FLOAT, 'float32'],
  [TF_DTYPE.DT_HALF, 'float16'],
  [TF_DTYPE.DT_BFLOAT16, 'bfloat16'],
  [TF_DTYPE.DT_DOUBLE, 'float64'],
  [TF_DTYPE.DT_INT64, 'int64'],
  [TF_DTYPE.DT_INT32, 'int32'],
  [TF_DTYPE.DT_INT16, 'int16'],
  [TF_DTYPE.DT_INT8, 'int8'],
  [TF_DTYPE.DT_UINT8, 'uint8'],
  [TF_DTYPE.DT_STRING, 'string'],
  [TF_DTYPE.DT_BOOL, 'bool'],
]);
const BY_NAME = new Map<TfDtype, number>([...BY_ENUM].map(([k, v]) => [v, k]));

/** Bytes per element of the fixed-size dtypes. */
export const DTYPE_BYTES: Record<Exclude<TfDtype, 'string'>, number> = {
  float32: 4,
  float16: 2,
  bfloat16: 2,
  float64: 8,
  int64: 8,
  int32: 4,
  int16: 2,
  int8: 1,
  uint8: 1,
  bool: 1,
};

/** The dtype name of a `DataType` enum value, or undefined when we do not support it. */
export function dtypeFromEnum(value: number): TfDtype | undefined {
  return BY_ENUM.get(value);
}

/** The `DataType` enum value of a dtype name. */
export function dtypeEnum(dtype: TfDtype): number {
  const v = BY_NAME.get(dtype);
  if (v === undefined) throw new Error(`unknown dtype '${String(dtype)}'`);
  return v;
}

/** The enum's own name (`DT_COMPLEX64`), for messages about dtypes we do not read. */
export function dtypeEnumName(value: number): string {
  const e = Object.entries(TF_DTYPE).find(([, v]) => v === value);
  return e ? e[0] : `DataType ${value}`;
}

/** IEEE half (binary16) bits → number. */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? Number.NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** number → IEEE half bits, rounding to nearest even (overflow → ±Inf). */
export function floatToHalf(x: number): number {
  f32[0] = x;
  const b = u32[0];
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  const mant = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    const m = mant | 0x800000;
    const shift = 14 - e;
    let h = m >>> shift;
    const rem = m & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && h & 1)) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++;
  return sign | h;
}

/** number → bfloat16 bits (the high half of float32, rounded to nearest even). */
export function floatToBfloat16(x: number): number {
  f32[0] = x;
  const b = u32[0];
  if (Number.isNaN(x)) return (b >>> 16) | 0x40;
  return ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) & 0xffff;
}

/**
 * Typed values of `count` fixed-size elements from little-endian bytes. `bytes` must start on an
 * 8-byte-aligned offset of its buffer (a fresh Uint8Array does).
 */
export function decodeFixed(
  dtype: Exclude<TfDtype, 'string'>,
  bytes: Uint8Array,
  count: number,
): Exclude<TensorValuesArray, string[]> {
  const { buffer, byteOffset } = bytes;
  switch (dtype) {
    case 'float32':
      return new Float32Array(buffer, byteOffset, count);
    case 'float64':
      return new Float64Array(buffer, byteOffset, count);
    case 'int64':
      return new BigInt64Array(buffer, byteOffset, count);
    case 'int32':
      return new Int32Array(buffer, byteOffset, count);
    case 'int16':
      return new Int16Array(buffer, byteOffset, count);
    case 'int8':
      return new Int8Array(buffer, byteOffset, count);
    case 'uint8':
      return new Uint8Array(buffer, byteOffset, count);
    case 'bool':
      return Array.from(bytes.subarray(0, count), (b) => b !== 0);
    case 'float16':
    case 'bfloat16': {
      const bits = new Uint16Array(buffer, byteOffset, count);
      const out = new Float32Array(count);
      if (dtype === 'float16') for (let i = 0; i < count; i++) out[i] = halfToFloat(bits[i]);
      else new Uint32Array(out.buffer).set(Array.from(bits, (b) => b << 16));
      return out;
    }
  }
}

/** Typed arrays whose bytes already are the stored form of a dtype. */
const SAME_LAYOUT: Partial<Record<TfDtype, abstract new (...args: never[]) => unknown>> = {
  float32: Float32Array,
  float64: Float64Array,
  int64: BigInt64Array,
  int32: Int32Array,
  int16: Int16Array,
  int8: Int8Array,
  uint8: Uint8Array,
};

/** Little-endian bytes of fixed-size values (numbers narrowed to the dtype). */
export function encodeFixed(
  dtype: Exclude<TfDtype, 'string'>,
  values: ArrayLike<number | bigint | boolean>,
): Uint8Array {
  const n = values.length;
  const num = (i: number) => Number(values[i]);
  const same = SAME_LAYOUT[dtype];
  if (same && values instanceof same) {
    const v = values as unknown as ArrayBufferView;
    return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  }
  let out: ArrayBufferView;
  switch (dtype) {
    case 'float32':
      out = Float32Array.from({ length: n }, (_, i) => num(i));
      break;
    case 'float64':
      out = Float64Array.from({ length: n }, (_, i) => num(i));
      break;
    case 'int64':
      out = BigInt64Array.from({ length: n }, (_, i) => BigInt(values[i] as number | bigint));
      break;
    case 'int32':
      out = Int32Array.from({ length: n }, (_, i) => num(i));
      break;
    case 'int16':
      out = Int16Array.from({ length: n }, (_, i) => num(i));
      break;
    case 'int8':
      out = Int8Array.from({ length: n }, (_, i) => num(i));
      break;
    case 'uint8':
      out = Uint8Array.from({ length: n }, (_, i) => num(i));
      break;
    case 'bool':
      out = Uint8Array.from({ length: n }, (_, i) => (values[i] ? 1 : 0));
      break;
    case 'float16':
      out = Uint16Array.from({ length: n }, (_, i) => floatToHalf(num(i)));
      break;
    case 'bfloat16':
      out = Uint16Array.from({ length: n }, (_, i) => floatToBfloat16(num(i)));
      break;
  }
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}
