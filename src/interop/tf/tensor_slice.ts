/**
 * Sliced (partitioned) tensors in a TensorBundle. A variable saved in slices — TF1 partitioned
 * variables, or TF2's `CheckpointOptions(experimental_sharding_callback=MaxShardSizePolicy(...))`
 * splitting large tensors across shards — has a full entry whose `slices` lists each slice's
 * extents, and one entry per slice under the key
 *
 *   OrderedCode: NumIncreasing(0) String(name) NumIncreasing(rank) {SignedNumIncreasing(start)
 *                SignedNumIncreasing(length)} per dimension   (length -1: the whole dimension)
 *
 * (tensorflow/core/util/saved_tensor_slice_util.cc EncodeTensorNameSlice,
 * tensorflow/core/lib/strings/ordered_code.cc). Each slice's data is its sub-tensor, row-major.
 */
import type { TensorSliceExtent } from './bundle_proto.js';

/** One dimension of a slice: [start, start + length). */
export interface SliceExtent {
  start: number;
  length: number;
}

/** OrderedCode NumIncreasing: a byte with the length, then the big-endian bytes. */
function numIncreasing(v: number, out: number[]): void {
  const bytes: number[] = [];
  for (let x = BigInt(v); x > 0n; x >>= 8n) bytes.unshift(Number(x & 0xffn));
  out.push(bytes.length, ...bytes);
}

/** OrderedCode String: 0x00 → 00 ff, 0xff → ff 00, then the terminator 00 01. */
function orderedString(s: Uint8Array, out: number[]): void {
  for (const b of s) {
    if (b === 0x00) out.push(0x00, 0xff);
    else if (b === 0xff) out.push(0xff, 0x00);
    else out.push(b);
  }
  out.push(0x00, 0x01);
}

/**
 * OrderedCode SignedNumIncreasing: the value sign-extended to `len` bytes (the least length with
 * |x| < 2^(7·len − 1), x = v or ~v), its top `len` bits flipped as the length header.
 */
function signedNumIncreasing(v: number, out: number[]): void {
  const big = BigInt(v);
  const x = big < 0n ? ~big : big;
  let len = 1;
  while (len < 10 && x >= 1n << BigInt(7 * len - 1)) len++;
  const bits = BigInt(8 * len);
  const header = ((1n << BigInt(len)) - 1n) << (bits - BigInt(len));
  let enc = BigInt.asUintN(8 * len, big) ^ header;
  const bytes: number[] = [];
  for (let i = 0; i < len; i++, enc >>= 8n) bytes.unshift(Number(enc & 0xffn));
  out.push(...bytes);
}

/** The table key of one slice of a variable (TensorFlow's EncodeTensorNameSlice). */
export function tensorSliceKey(name: string, extents: readonly TensorSliceExtent[]): Uint8Array {
  const out: number[] = [];
  numIncreasing(0, out);
  orderedString(new TextEncoder().encode(name), out);
  numIncreasing(extents.length, out);
  for (const e of extents) {
    signedNumIncreasing(Number(e.start ?? 0), out);
    signedNumIncreasing(e.length === undefined ? -1 : Number(e.length), out);
  }
  return Uint8Array.from(out);
}

/** A slice's extents resolved against the full shape (a missing length is the whole dim). */
export function resolveExtents(
  extents: readonly TensorSliceExtent[],
  shape: readonly number[],
  where: string,
): SliceExtent[] {
  if (extents.length !== shape.length) {
    throw new Error(`${where}: slice has ${extents.length} dimensions, the tensor ${shape.length}`);
  }
  return extents.map((e, d) => {
    const start = Number(e.start ?? 0);
    const length = e.length === undefined ? shape[d] - start : Number(e.length);
    if (start < 0 || length < 0 || start + length > shape[d]) {
      throw new Error(
        `${where}: slice [${start}, +${length}) outside dimension ${d} of size ${shape[d]}`,
      );
    }
    return { start, length };
  });
}

/**
 * Copies a slice's row-major bytes into the full tensor's bytes (element size `itemBytes`).
 */
export function copySliceInto(
  full: Uint8Array,
  shape: readonly number[],
  slice: Uint8Array,
  extents: readonly SliceExtent[],
  itemBytes: number,
): void {
  const rank = shape.length;
  if (rank === 0) {
    full.set(slice.subarray(0, itemBytes));
    return;
  }
  // Strides of the full tensor, in elements.
  const strides = new Array<number>(rank);
  strides[rank - 1] = 1;
  for (let d = rank - 2; d >= 0; d--) strides[d] = strides[d + 1] * shape[d + 1];
  const runBytes = extents[rank - 1].length * itemBytes;
  const outer = extents.slice(0, rank - 1).reduce((a, e) => a * e.length, 1);
  if (runBytes === 0 || outer === 0) return;
  const idx = new Array<number>(Math.max(rank - 1, 0)).fill(0);
  for (let run = 0; run < outer; run++) {
    let offset = extents[rank - 1].start;
    for (let d = 0; d < rank - 1; d++) offset += (extents[d].start + idx[d]) * strides[d];
    full.set(slice.subarray(run * runBytes, (run + 1) * runBytes), offset * itemBytes);
    for (let d = rank - 2; d >= 0; d--) {
      if (++idx[d] < extents[d].length) break;
      idx[d] = 0;
    }
  }
}
