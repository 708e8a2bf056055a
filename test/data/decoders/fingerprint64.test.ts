/**
 * TF Fingerprint64 (FarmHash Fingerprint64 = farmhashna::Hash64) and to_hash_bucket_fast against
 * published values:
 *   - FarmHash's / TensorFlow's fingerprint self-test: hashes of prefixes of a 1000-byte buffer
 *     drawn from ACMRandom(10) (the vectors also printed in tfjs-core's hash_util_test, which ports
 *     TF's test), and the "many different strings" xor-chain value 0x7a1d67c50ec7e167;
 *   - BigQuery FARM_FINGERPRINT(REPEAT('a', n)) for n = 126..130, as quoted in
 *     seiflotfy/rust-farmhash issue #18 (signed int64 there);
 *   - the tf.strings.to_hash_bucket_fast docstring: ["Hello", "TensorFlow", "2.x"], 3 -> [0, 2, 2].
 * Plus a cross-check against tfjs-core's independent Long-based port (util.fingerPrint64) on
 * every length 0..300 and on a real COCO JPEG.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import * as tf from '@tensorflow/tfjs-core';
import { fingerprint64, toHashBucketFast } from '../../../src/data/decoders/fingerprint64.js';
import { sharedData } from '../../helpers.js';

const utf8 = new TextEncoder();
const U64 = (v: bigint) => BigInt.asUintN(64, v);

/** ACMRandom (Park-Miller minimal standard, multiplier 16807) as in FarmHash's test harness. */
function acmRandomBytes(seed: number, n: number): Uint8Array {
  const MAX = 2147483647;
  let s = seed & 0x7fffffff;
  if (s === 0 || s === MAX) s = 1;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    // seed * 16807 < 2^46: exact in a double.
    s = (s * 16807) % MAX;
    out[i] = (s >> 1) & 0xff;
  }
  return out;
}

test('Fingerprint64 of ACMRandom(10) prefixes equals the FarmHash / TF self-test values', () => {
  const buf = acmRandomBytes(10, 1000);
  const expected: [number, string][] = [
    [0, '9ae16a3b2f90404f'],
    [1, '49d8a5e3fa93c327'],
    [2, 'fd259abb0ff2bf12'],
    [3, '781f1c6437096ac2'],
    [4, '0f1369d6c0b45716'],
    [5, '02d8cec6394de09a'],
    [7, '1faf6c6d43626c48'],
    [9, 'c93efd6dbe139be8'],
    [12, '65abbc967c87d515'],
    [16, '3f61450a03cff5af'],
    [20, '5d2fe297e45fed1a'],
    [26, 'eb665983aeb9ab94'],
    [33, '3a5f3890b124b4a3'],
    [42, 'f0c1cd66d7d9f246'],
    [53, 'cf7e3e4b1efeba6d'],
    [67, '0ced753b45740875'],
    [84, 'a585e0be01846ff4'],
    [105, 'fb6496deb356cdda'],
    [132, 'f2e4c5b6db6c154a'],
    [166, '4498451c3bca85a0'],
    [208, 'd604355fa4d0b14e'],
    [261, 'bb165e6b84ba9cdf'],
    [327, '9ebfab4519b1348c'],
    [409, '5921974ba2e9a5c2'],
    [512, 'a86a96e7a44282e3'],
    [640, 'dd731dfee500aa3c'],
    [800, 'a69f3400e6c98357'],
    [1000, '5c63b66443990bec'],
  ];
  for (const [n, hex] of expected) {
    assert.equal(fingerprint64(buf.subarray(0, n)), BigInt(`0x${hex}`), `length ${n}`);
  }
});

test('Fingerprint64 "many different strings" xor chain gives 0x7a1d67c50ec7e167', () => {
  const iters = 800;
  const s = new Uint8Array(4 * iters);
  let len = 0;
  let h = 0n;
  const remix = (): number => {
    h = U64(h ^ (h >> 41n));
    h = U64(h * 949921979n);
    return 97 + Number((h & 0xfffffn) % 26n);
  };
  const fp = (n: number) => fingerprint64(s.subarray(0, n));
  for (let i = 0; i < iters; i++) {
    h ^= fp(i);
    s[len++] = remix();
    h ^= fp((i * i) % len);
    s[len++] = remix();
    h ^= fp((i * i * i) % len);
    s[len++] = remix();
    h ^= fp(len);
    s[len++] = remix();
    const x0 = s[len - 1];
    const x1 = s[len - 2];
    const x2 = s[len - 3];
    const x3 = s[len >> 1];
    s[((x0 << 16) + (x1 << 8) + x2) % len] ^= x3;
    s[((x1 << 16) + (x2 << 8) + x3) % len] ^= i % 256;
  }
  assert.equal(h, 0x7a1d67c50ec7e167n);
});

test('Fingerprint64 of "a" * n equals BigQuery FARM_FINGERPRINT (multiples of 64 included)', () => {
  const bigquery: [number, bigint][] = [
    [126, 6261940804893177895n],
    [127, 7531535164187061522n],
    [128, -4747627967806356490n],
    [129, -266561011801984384n],
    [130, 7135893960687184995n],
  ];
  for (const [n, signed] of bigquery) {
    assert.equal(fingerprint64(utf8.encode('a'.repeat(n))), U64(signed), `length ${n}`);
  }
});

test('to_hash_bucket_fast docstring example and unsigned modulo', () => {
  const buckets = ['Hello', 'TensorFlow', '2.x'].map((s) => toHashBucketFast(utf8.encode(s), 3));
  assert.deepEqual(buckets, [0n, 2n, 2n]);
  // Fingerprint64("") = 0x9ae16a3b2f90404f has its top bit set: the bucket is the unsigned
  // value's remainder (TF's uint64 % num_buckets), never a negative int64's.
  const empty = new Uint8Array(0);
  assert.equal(toHashBucketFast(empty, 4194303), 0x9ae16a3b2f90404fn % 4194303n);
  assert.equal(toHashBucketFast(empty, 1), 0n);
  assert.equal(toHashBucketFast(empty, 2n ** 63n - 1n), 0x9ae16a3b2f90404fn - (2n ** 63n - 1n));
  assert.throws(() => toHashBucketFast(empty, 0), /numBuckets must be in \[1, 2\^63 - 1\]/);
  assert.throws(() => toHashBucketFast(empty, 2n ** 63n), /got 9223372036854775808/);
});

test('Fingerprint64 equals tfjs-core util.fingerPrint64 on lengths 0..300 and a COCO JPEG', async () => {
  const buf = acmRandomBytes(12345, 300);
  const ref = (b: Uint8Array) => U64(BigInt(tf.util.fingerPrint64(b).toString()));
  for (let n = 0; n <= 300; n++) {
    const b = buf.slice(0, n);
    assert.equal(fingerprint64(b), ref(b), `length ${n}`);
  }
  const jpeg = new Uint8Array(
    await readFile(sharedData('coco128', 'train2017', '000000000009.jpg')),
  );
  assert.equal(fingerprint64(jpeg), ref(jpeg));
  // A view into a larger buffer at an odd offset hashes its own bytes only.
  const padded = new Uint8Array(jpeg.length + 3);
  padded.set(jpeg, 1);
  assert.equal(fingerprint64(padded.subarray(1, 1 + jpeg.length)), ref(jpeg));
});
