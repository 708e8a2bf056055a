/**
 * TensorFlow's `Fingerprint64` (tensorflow/core/platform/fingerprint.h), which is FarmHash's
 * `Fingerprint64`, i.e. `farmhashna::Hash64` (github.com/google/farmhash, src/farmhash.cc), in
 * BigInt arithmetic, plus `tf.strings.to_hash_bucket_fast` built on it.
 *
 * The npm package `farmhash-modern` was tried first and rejected: it wraps the Rust `farmhash`
 * crate, whose 64-byte loop runs once too often when the length is a multiple of 64 above 64
 * (seiflotfy/rust-farmhash issue #18), so it disagrees with TensorFlow on e.g. 128-byte inputs.
 *
 * All arithmetic is on unsigned 64-bit values held in BigInts and wrapped with `BigInt.asUintN`.
 */

const MASK64 = (1n << 64n) - 1n;
const K0 = 0xc3a5c85c97cb3127n;
const K1 = 0xb492b66fbe98f273n;
const K2 = 0x9ae16a3b2f90404fn;
/** farmhashna::Hash64's fixed seed for inputs longer than 64 bytes. */
const LONG_SEED = 81n;

const u64 = (v: bigint): bigint => v & MASK64;
const mul64 = (a: bigint, b: bigint): bigint => (a * b) & MASK64;
const add64 = (a: bigint, b: bigint): bigint => (a + b) & MASK64;

function rotr64(v: bigint, shift: bigint): bigint {
  return shift === 0n ? v : ((v >> shift) | (v << (64n - shift))) & MASK64;
}

const shiftMix = (v: bigint): bigint => v ^ (v >> 47n);

/** Little-endian reader of 64- and 32-bit words of one byte array. */
class WordReader {
  private readonly view: DataView;
  constructor(bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  u64(offset: number): bigint {
    return this.view.getBigUint64(offset, true);
  }
  u32(offset: number): bigint {
    return BigInt(this.view.getUint32(offset, true));
  }
}

/** Mixes two words into one with multiplier `mul` (farmhash HashLen16 with an explicit mul). */
function hashLen16(u: bigint, v: bigint, mul: bigint): bigint {
  let a = mul64(u ^ v, mul);
  a ^= a >> 47n;
  let b = mul64(v ^ a, mul);
  b ^= b >> 47n;
  return mul64(b, mul);
}

function hashLen0to16(s: Uint8Array, r: WordReader): bigint {
  const len = s.length;
  const n = BigInt(len);
  if (len >= 8) {
    const mul = add64(K2, n * 2n);
    const a = add64(r.u64(0), K2);
    const b = r.u64(len - 8);
    const c = add64(mul64(rotr64(b, 37n), mul), a);
    const d = mul64(add64(rotr64(a, 25n), b), mul);
    return hashLen16(c, d, mul);
  }
  if (len >= 4) {
    const mul = add64(K2, n * 2n);
    const a = r.u32(0);
    return hashLen16(add64(n, a << 3n), r.u32(len - 4), mul);
  }
  if (len > 0) {
    const a = BigInt(s[0]);
    const b = BigInt(s[len >> 1]);
    const c = BigInt(s[len - 1]);
    // uint32 arithmetic in farmhash: y = a + (b << 8), z = len + (c << 2).
    const y = (a + (b << 8n)) & 0xffffffffn;
    const z = (n + (c << 2n)) & 0xffffffffn;
    return mul64(shiftMix(mul64(y, K2) ^ mul64(z, K0)), K2);
  }
  return K2;
}

function hashLen17to32(len: number, r: WordReader): bigint {
  const mul = add64(K2, BigInt(len) * 2n);
  const a = mul64(r.u64(0), K1);
  const b = r.u64(8);
  const c = mul64(r.u64(len - 8), mul);
  const d = mul64(r.u64(len - 16), K2);
  return hashLen16(
    add64(add64(rotr64(add64(a, b), 43n), rotr64(c, 30n)), d),
    add64(add64(a, rotr64(add64(b, K2), 18n)), c),
    mul,
  );
}

function hashLen33to64(len: number, r: WordReader): bigint {
  const mul = add64(K2, BigInt(len) * 2n);
  const a = mul64(r.u64(0), K2);
  const b = r.u64(8);
  const c = mul64(r.u64(len - 8), mul);
  const d = mul64(r.u64(len - 16), K2);
  const y = add64(add64(rotr64(add64(a, b), 43n), rotr64(c, 30n)), d);
  const z = hashLen16(y, add64(add64(a, rotr64(add64(b, K2), 18n)), c), mul);
  const e = mul64(r.u64(16), mul);
  const f = r.u64(24);
  const g = mul64(add64(y, r.u64(len - 32)), mul);
  const h = mul64(add64(z, r.u64(len - 24)), mul);
  return hashLen16(
    add64(add64(rotr64(add64(e, f), 43n), rotr64(g, 30n)), h),
    add64(add64(e, rotr64(add64(f, a), 18n)), g),
    mul,
  );
}

/** farmhash WeakHashLen32WithSeeds over the 32 bytes at `offset`: returns [first, second]. */
function weakHashLen32WithSeeds(
  r: WordReader,
  offset: number,
  seedA: bigint,
  seedB: bigint,
): [bigint, bigint] {
  const w = r.u64(offset);
  const x = r.u64(offset + 8);
  const y = r.u64(offset + 16);
  const z = r.u64(offset + 24);
  let a = add64(seedA, w);
  let b = rotr64(add64(add64(seedB, a), z), 21n);
  const c = a;
  a = add64(add64(a, x), y);
  b = add64(b, rotr64(a, 44n));
  return [add64(a, z), add64(b, c)];
}

/**
 * FarmHash Fingerprint64 of `bytes` (TensorFlow `Fingerprint64`), an unsigned 64-bit value.
 * Stable across platforms and versions, not cryptographic.
 */
export function fingerprint64(bytes: Uint8Array): bigint {
  const len = bytes.length;
  const r = new WordReader(bytes);
  if (len <= 16) return hashLen0to16(bytes, r);
  if (len <= 32) return hashLen17to32(len, r);
  if (len <= 64) return hashLen33to64(len, r);

  let x = LONG_SEED;
  let y = u64(LONG_SEED * K1 + 113n);
  let z = mul64(shiftMix(u64(y * K2 + 113n)), K2);
  let v: [bigint, bigint] = [0n, 0n];
  let w: [bigint, bigint] = [0n, 0n];
  x = add64(mul64(x, K2), r.u64(0));

  // 64-byte blocks up to, not including, the block that holds the last byte; the last 64 bytes
  // (which may overlap the previous block) are mixed after the loop with a length-dependent mul.
  const end = Math.floor((len - 1) / 64) * 64;
  const tail = (len - 1) & 63;
  const last64 = end + tail - 63;
  let s = 0;
  do {
    x = mul64(rotr64(add64(add64(add64(x, y), v[0]), r.u64(s + 8)), 37n), K1);
    y = mul64(rotr64(add64(add64(y, v[1]), r.u64(s + 48)), 42n), K1);
    x ^= w[1];
    y = add64(y, add64(v[0], r.u64(s + 40)));
    z = mul64(rotr64(add64(z, w[0]), 33n), K1);
    v = weakHashLen32WithSeeds(r, s, mul64(v[1], K1), add64(x, w[0]));
    w = weakHashLen32WithSeeds(r, s + 32, add64(z, w[1]), add64(y, r.u64(s + 16)));
    [z, x] = [x, z];
    s += 64;
  } while (s !== end);

  const mul = add64(K1, (z & 0xffn) << 1n);
  s = last64;
  w[0] = add64(w[0], BigInt(tail));
  v[0] = add64(v[0], w[0]);
  w[0] = add64(w[0], v[0]);
  x = mul64(rotr64(add64(add64(add64(x, y), v[0]), r.u64(s + 8)), 37n), mul);
  y = mul64(rotr64(add64(add64(y, v[1]), r.u64(s + 48)), 42n), mul);
  x ^= mul64(w[1], 9n);
  y = add64(y, add64(mul64(v[0], 9n), r.u64(s + 40)));
  z = mul64(rotr64(add64(z, w[0]), 33n), mul);
  v = weakHashLen32WithSeeds(r, s, mul64(v[1], mul), add64(x, w[0]));
  w = weakHashLen32WithSeeds(r, s + 32, add64(z, w[1]), add64(y, r.u64(s + 16)));
  [z, x] = [x, z];
  return hashLen16(
    add64(add64(hashLen16(v[0], w[0], mul), mul64(shiftMix(y), K0)), z),
    add64(hashLen16(v[1], w[1], mul), x),
    mul,
  );
}

/**
 * `tf.strings.to_hash_bucket_fast` for one string: Fingerprint64(bytes) taken modulo
 * `numBuckets` as unsigned 64-bit integers (TF's StringToHashBucketOp computes
 * `uint64 hash % num_buckets`), so the result lies in [0, numBuckets).
 */
export function toHashBucketFast(bytes: Uint8Array, numBuckets: number | bigint): bigint {
  const buckets = BigInt(numBuckets);
  if (buckets < 1n || buckets > (1n << 63n) - 1n) {
    throw new RangeError(
      `toHashBucketFast: numBuckets must be in [1, 2^63 - 1] (an int64 >= 1), got ${buckets}`,
    );
  }
  return fingerprint64(bytes) % buckets;
}
