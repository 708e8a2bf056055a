/**
 * 64-bit integer conversions between our plain-object form and protobufjs.
 *
 * Our convention for every int64/uint64 field: a JS `number` when the value is a safe integer
 * (|v| <= 2^53 - 1), otherwise a `bigint`. On encode both are accepted.
 */

/** An int64 value as our messages carry it: number when safe, bigint otherwise. */
export type Int64 = number | bigint;

/** protobufjs' Long-compatible bit pair, which its writer accepts for 64-bit fields. */
export interface LongBitsLike {
  low: number;
  high: number;
  unsigned: boolean;
}

/**
 * Converts an int64 input to what the protobufjs writer takes: numbers pass through (after an
 * integer check), bigints become a {low, high} pair of 32-bit halves (two's complement).
 * @param field name used in the error message for a bad value.
 */
export function toWireInt64(value: Int64, field: string): number | LongBitsLike {
  if (typeof value === 'bigint') {
    if (value < -(1n << 63n) || value >= 1n << 64n) {
      throw new RangeError(`${field}: ${value} does not fit in 64 bits`);
    }
    const bits = BigInt.asUintN(64, value);
    return {
      low: Number(BigInt.asIntN(32, bits)),
      high: Number(BigInt.asIntN(32, bits >> 32n)),
      unsigned: false,
    };
  }
  if (!Number.isSafeInteger(value)) {
    throw new RangeError(
      `${field}: ${value} is not a safe integer (pass a bigint for values beyond 2^53)`,
    );
  }
  return value;
}

/**
 * Converts a decoded 64-bit value (protobufjs gives decimal strings with `longs: String`, or a
 * number) to our form: number when it is a safe integer, else bigint.
 */
export function fromWireInt64(value: unknown): Int64 {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return toSafeNumber(value);
  if (typeof value === 'string') return toSafeNumber(BigInt(value));
  throw new TypeError(`expected a 64-bit integer, got ${typeof value}`);
}

function toSafeNumber(v: bigint): Int64 {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER)
    ? Number(v)
    : v;
}
