/**
 * The typed array that holds each element type in binary tensor files (.vgckpt checkpoints, .npy):
 * float16 / bfloat16 as raw 16-bit patterns in a Uint16Array, bool as one byte (0 or 1). The
 * element size is the class's BYTES_PER_ELEMENT.
 */

/** Typed arrays that carry stored tensor data. */
export type StoredData =
  | Float32Array
  | Float64Array
  | Int8Array
  | Int16Array
  | Int32Array
  | BigInt64Array
  | Uint8Array
  | Uint16Array
  | Uint32Array
  | BigUint64Array;

/** A typed-array class: a new array of a length, or a view on a buffer. */
export interface StoredArrayClass {
  new (length: number): StoredData;
  new (buffer: ArrayBuffer, byteOffset: number, length: number): StoredData;
  readonly name: string;
  readonly BYTES_PER_ELEMENT: number;
}

export const STORED_DTYPES = {
  float32: Float32Array,
  float64: Float64Array,
  float16: Uint16Array,
  bfloat16: Uint16Array,
  int8: Int8Array,
  int16: Int16Array,
  int32: Int32Array,
  int64: BigInt64Array,
  uint8: Uint8Array,
  uint16: Uint16Array,
  uint32: Uint32Array,
  uint64: BigUint64Array,
  bool: Uint8Array,
} as const satisfies Record<string, StoredArrayClass>;

export type StoredDType = keyof typeof STORED_DTYPES;
