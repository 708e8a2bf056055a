/**
 * `tensorflow.TensorProto` in plain-object form, and conversions to and from typed arrays.
 *
 * A TensorProto holds its values either in `tensorContent` (raw little-endian bytes, row-major)
 * or in the typed `*Val` list for its dtype (tensorflow/core/framework/tensor.proto). When a `*Val`
 * list is shorter than the shape needs, TensorFlow repeats its last element (and uses zeros when
 * it is empty); {@link tensorProtoValues} does the same.
 */
import { fromWireInt64, type Int64 } from './int64.js';

/** `tensorflow.DataType` enum values (tensorflow/core/framework/types.proto). */
export const TF_DTYPE = {
  DT_INVALID: 0,
  DT_FLOAT: 1,
  DT_DOUBLE: 2,
  DT_INT32: 3,
  DT_UINT8: 4,
  DT_INT16: 5,
  DT_INT8: 6,
  DT_STRING: 7,
  DT_COMPLEX64: 8,
  DT_INT64: 9,
  DT_BOOL: 10,
  DT_BFLOAT16: 14,
  DT_UINT16: 17,
  DT_COMPLEX128: 18,
  DT_HALF: 19,
  DT_UINT32: 22,
  DT_UINT64: 23,
} as const;

export interface TensorShapeDim {
  size: Int64;
  name?: string;
}

export interface TensorShapeMessage {
  dim?: TensorShapeDim[];
  unknownRank?: boolean;
}

/** A TensorProto as our encoders take it and decoders return it (camelCase field names). */
export interface TensorProtoMessage {
  dtype: number;
  tensorShape?: TensorShapeMessage | null;
  versionNumber?: number;
  tensorContent?: Uint8Array;
  halfVal?: number[];
  floatVal?: number[];
  doubleVal?: number[];
  intVal?: number[];
  stringVal?: Uint8Array[];
  int64Val?: Int64[];
  boolVal?: boolean[];
  uint32Val?: number[];
  uint64Val?: Int64[];
}

/** Values of a decoded tensor, by dtype. */
export type TensorValues =
  | { dtype: 'float32'; values: Float32Array }
  | { dtype: 'float64'; values: Float64Array }
  | { dtype: 'int32'; values: Int32Array }
  | { dtype: 'uint8'; values: Uint8Array }
  | { dtype: 'int8'; values: Int8Array }
  | { dtype: 'int16'; values: Int16Array }
  | { dtype: 'uint16'; values: Uint16Array }
  | { dtype: 'uint32'; values: Uint32Array }
  | { dtype: 'int64' | 'uint64'; values: Int64[] }
  | { dtype: 'bool'; values: boolean[] }
  | { dtype: 'string'; values: Uint8Array[] };

/** Shape of a TensorProto as numbers ([] for a scalar). Throws for unknown rank or huge dims. */
export function tensorProtoShape(t: TensorProtoMessage): number[] {
  if (t.tensorShape?.unknownRank) throw new Error('TensorProto has unknown rank');
  return (t.tensorShape?.dim ?? []).map((d, i) => {
    const size = typeof d.size === 'bigint' ? Number.NaN : d.size;
    if (!Number.isSafeInteger(size) || size < 0) {
      throw new RangeError(
        `TensorProto.tensorShape.dim[${i}].size ${String(d.size)} is not a valid size`,
      );
    }
    return size;
  });
}

/** Copies little-endian bytes into a typed array of `n` elements (alignment-safe). */
function fromContent<T>(
  content: Uint8Array,
  bytesPerElement: number,
  n: number,
  make: (b: ArrayBuffer) => T,
): T {
  if (content.length !== n * bytesPerElement) {
    throw new RangeError(
      `TensorProto.tensorContent has ${content.length} bytes, shape needs ${n} x ${bytesPerElement}`,
    );
  }
  const copy = new Uint8Array(content.length);
  copy.set(content);
  return make(copy.buffer);
}

/** Fills `n` values from a `*Val` list with TF's rule: repeat the last value, zeros if empty. */
function fillFromList<T>(list: ArrayLike<T>, n: number, zero: T): T[] {
  const out = new Array<T>(n);
  for (let i = 0; i < n; i++)
    out[i] = i < list.length ? list[i] : list.length ? list[list.length - 1] : zero;
  return out;
}

/** Converts IEEE half-precision bits to a number. */
function halfToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** Converts bfloat16 bits to a number (the top half of a float32). */
function bfloat16ToNumber(h: number): number {
  const f = new Float32Array(new Uint32Array([(h & 0xffff) << 16]).buffer);
  return f[0];
}

/**
 * Decodes the values of a TensorProto, row-major, with its shape.
 * Supports float/double/int8/16/32/64, uint8/16/32/64, bool, string, half and bfloat16
 * (the last two returned as float32).
 */
export function tensorProtoValues(t: TensorProtoMessage): TensorValues & { shape: number[] } {
  const shape = tensorProtoShape(t);
  const n = shape.reduce((a, b) => a * b, 1);
  const content = t.tensorContent && t.tensorContent.length > 0 ? t.tensorContent : undefined;
  const le = (fn: (v: DataView, i: number) => number | bigint, size: number) => {
    const v = new DataView(content!.buffer, content!.byteOffset, content!.byteLength);
    if (content!.length !== n * size) {
      throw new RangeError(
        `TensorProto.tensorContent has ${content!.length} bytes, shape needs ${n} x ${size}`,
      );
    }
    return Array.from({ length: n }, (_, i) => fn(v, i * size));
  };
  switch (t.dtype) {
    case TF_DTYPE.DT_FLOAT:
      return {
        dtype: 'float32',
        shape,
        values: content
          ? fromContent(content, 4, n, (b) => new Float32Array(b))
          : Float32Array.from(fillFromList(t.floatVal ?? [], n, 0)),
      };
    case TF_DTYPE.DT_DOUBLE:
      return {
        dtype: 'float64',
        shape,
        values: content
          ? fromContent(content, 8, n, (b) => new Float64Array(b))
          : Float64Array.from(fillFromList(t.doubleVal ?? [], n, 0)),
      };
    case TF_DTYPE.DT_INT32:
      return {
        dtype: 'int32',
        shape,
        values: content
          ? fromContent(content, 4, n, (b) => new Int32Array(b))
          : Int32Array.from(fillFromList(t.intVal ?? [], n, 0)),
      };
    case TF_DTYPE.DT_UINT8:
      return {
        dtype: 'uint8',
        shape,
        values: content
          ? fromContent(content, 1, n, (b) => new Uint8Array(b))
          : Uint8Array.from(fillFromList(t.intVal ?? [], n, 0)),
      };
    case TF_DTYPE.DT_INT8:
      return {
        dtype: 'int8',
        shape,
        values: content
          ? fromContent(content, 1, n, (b) => new Int8Array(b))
          : Int8Array.from(fillFromList(t.intVal ?? [], n, 0)),
      };
    case TF_DTYPE.DT_INT16:
      return {
        dtype: 'int16',
        shape,
        values: content
          ? fromContent(content, 2, n, (b) => new Int16Array(b))
          : Int16Array.from(fillFromList(t.intVal ?? [], n, 0)),
      };
    case TF_DTYPE.DT_UINT16:
      return {
        dtype: 'uint16',
        shape,
        values: content
          ? fromContent(content, 2, n, (b) => new Uint16Array(b))
          : Uint16Array.from(fillFromList(t.intVal ?? [], n, 0)),
      };
    case TF_DTYPE.DT_UINT32:
      return {
        dtype: 'uint32',
        shape,
        values: content
          ? fromContent(content, 4, n, (b) => new Uint32Array(b))
          : Uint32Array.from(fillFromList(t.uint32Val ?? [], n, 0)),
      };
    case TF_DTYPE.DT_INT64:
    case TF_DTYPE.DT_UINT64: {
      const unsigned = t.dtype === TF_DTYPE.DT_UINT64;
      const values = content
        ? le((v, o) => (unsigned ? v.getBigUint64(o, true) : v.getBigInt64(o, true)), 8).map(
            fromWireInt64,
          )
        : fillFromList((unsigned ? t.uint64Val : t.int64Val) ?? [], n, 0);
      return { dtype: unsigned ? 'uint64' : 'int64', shape, values };
    }
    case TF_DTYPE.DT_BOOL:
      return {
        dtype: 'bool',
        shape,
        values: content
          ? Array.from(content, (b) => b !== 0)
          : fillFromList(t.boolVal ?? [], n, false),
      };
    case TF_DTYPE.DT_HALF:
    case TF_DTYPE.DT_BFLOAT16: {
      const conv = t.dtype === TF_DTYPE.DT_HALF ? halfToNumber : bfloat16ToNumber;
      const bits = content
        ? le((v, o) => v.getUint16(o, true), 2).map(Number)
        : fillFromList(t.halfVal ?? [], n, 0);
      return { dtype: 'float32', shape, values: Float32Array.from(bits, conv) };
    }
    case TF_DTYPE.DT_STRING: {
      const list = t.stringVal ?? [];
      if (list.length !== n) {
        throw new RangeError(
          `string TensorProto has ${list.length} values, shape [${shape}] needs ${n}`,
        );
      }
      return { dtype: 'string', shape, values: list };
    }
    default:
      throw new Error(`TensorProto dtype ${t.dtype} is not supported`);
  }
}

function shapeMessage(shape: number[]): TensorShapeMessage {
  shape.forEach((d, i) => {
    if (!Number.isSafeInteger(d) || d < 0)
      throw new RangeError(`shape[${i}] = ${d} is not a valid size`);
  });
  return { dim: shape.map((size) => ({ size })) };
}

/** A float32 TensorProto with raw little-endian `tensorContent` (as TF's summary ops write). */
export function float32TensorProto(
  values: ArrayLike<number>,
  shape: number[] = [],
): TensorProtoMessage {
  const n = shape.reduce((a, b) => a * b, 1);
  if (values.length !== n)
    throw new RangeError(`${values.length} values do not fill shape [${shape}]`);
  const data = Float32Array.from(values);
  return {
    dtype: TF_DTYPE.DT_FLOAT,
    tensorShape: shapeMessage(shape),
    tensorContent: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
  };
}

/** A DT_STRING TensorProto (strings are written as UTF-8). */
export function stringTensorProto(
  values: (string | Uint8Array)[],
  shape: number[] = [values.length],
): TensorProtoMessage {
  const n = shape.reduce((a, b) => a * b, 1);
  if (values.length !== n)
    throw new RangeError(`${values.length} strings do not fill shape [${shape}]`);
  const enc = new TextEncoder();
  return {
    dtype: TF_DTYPE.DT_STRING,
    tensorShape: shapeMessage(shape),
    stringVal: values.map((v) => (typeof v === 'string' ? enc.encode(v) : v)),
  };
}
