/**
 * .npy / .npz I/O against the reference fixtures: the tf-checkpoint fixture ships the same arrays
 * as raw float32 files (`input.f32`, `logits.f32`), and each Model Garden case's `case.json` gives
 * the shape, dtype and absolute maximum of every output numpy wrote to `outputs.npz`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  encodeNpy,
  encodeNpz,
  parseNpy,
  parseNpz,
  readNpy,
  readNpz,
  writeNpz,
  type NdArray,
} from '../../src/interop/numpy.js';
import { sharedData } from '../helpers.js';

const MG = (...p: string[]) => sharedData('model-garden-reference', ...p);

function rawF32(path: string): Float32Array {
  const b = readFileSync(path);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

test('.npy: the tf-checkpoint input and logits equal their raw float32 copies', () => {
  const x = readNpy(sharedData('tf-checkpoint', 'input.npy'));
  assert.equal(x.dtype, 'float32');
  assert.deepEqual(x.shape, [4, 32, 32, 3]);
  assert.deepEqual(x.data, rawF32(sharedData('tf-checkpoint', 'input.f32')));
  const y = readNpy(sharedData('tf-checkpoint', 'logits.npy'));
  assert.deepEqual(y.shape, [4, 10]);
  assert.deepEqual(y.data, rawF32(sharedData('tf-checkpoint', 'logits.f32')));
});

test(".npz: every output of numpy's savez_compressed matches case.json (float32 and int32)", () => {
  for (const name of ['resnet_rs', 'maskrcnn']) {
    const c = JSON.parse(readFileSync(MG(name, 'case.json'), 'utf8')) as {
      outputs_a: Record<string, { shape: number[]; dtype: string; absmax: number }>;
    };
    const arrays = readNpz(MG(name, 'outputs.npz'));
    assert.deepEqual([...arrays.keys()].sort(), Object.keys(c.outputs_a).sort(), name);
    for (const [key, want] of Object.entries(c.outputs_a)) {
      const a = arrays.get(key)!;
      assert.equal(a.dtype, want.dtype, `${name}/${key}`);
      assert.deepEqual(a.shape, want.shape, `${name}/${key}`);
      let m = 0;
      for (const v of a.data as Float32Array) m = Math.max(m, Math.abs(v));
      assert.equal(Math.fround(m), Math.fround(want.absmax), `${name}/${key} absmax`);
    }
  }
});

test('.npy and .npz round-trip every dtype, scalars and empty arrays', async () => {
  const arrays: [string, NdArray][] = [
    ['f32', { dtype: 'float32', shape: [2, 3], data: Float32Array.of(1, -2.5, 3, 4, 5e-8, -0) }],
    ['f64', { dtype: 'float64', shape: [2], data: Float64Array.of(Math.PI, -1e300) }],
    ['i64', { dtype: 'int64', shape: [3], data: BigInt64Array.of(-1n, 2n ** 40n, 0n) }],
    ['i32', { dtype: 'int32', shape: [], data: Int32Array.of(-7) }],
    ['u8', { dtype: 'uint8', shape: [0, 4], data: new Uint8Array(0) }],
    ['flag', { dtype: 'bool', shape: [2], data: Uint8Array.of(1, 0) }],
    ['cls_outputs/3', { dtype: 'int16', shape: [1, 1], data: Int16Array.of(-300) }],
  ];
  for (const [key, a] of arrays) {
    const bytes = encodeNpy(a, key);
    // numpy's layout: the header pads the data start to a multiple of 64.
    assert.equal((10 + new DataView(bytes.buffer).getUint16(8, true)) % 64, 0, key);
    assert.deepEqual(parseNpy(bytes, key), a, key);
  }
  const dir = mkdtempSync(join(tmpdir(), 'vg-npz-'));
  try {
    const file = join(dir, 'x.npz');
    writeNpz(file, arrays);
    const back = readNpz(file);
    assert.deepEqual(
      [...back.keys()],
      arrays.map(([k]) => k),
    );
    for (const [k, a] of arrays) assert.deepEqual(back.get(k), a, k);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bad .npy / .npz input is one error naming the file and member', () => {
  const good = encodeNpy({ dtype: 'float32', shape: [4], data: new Float32Array(4) });
  assert.throws(
    () => parseNpy(good.subarray(0, good.length - 1), 'x.npy'),
    /x\.npy: data holds 15 bytes.*needs 16/,
  );
  assert.throws(
    () => parseNpy(Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 'y.npy'),
    /y\.npy: not a \.npy file/,
  );
  const big = good.slice();
  big[big.indexOf(0x3c)] = 0x3e; // '<f4' → '>f4'
  assert.throws(() => parseNpy(big, 'be.npy'), /be\.npy: dtype '>f4' is not supported/);

  const zip = encodeNpz([
    ['a', { dtype: 'float32', shape: [64], data: new Float32Array(64).fill(1) }],
  ]);
  assert.throws(() => parseNpz(zip.subarray(0, zip.length - 30), 'cut.npz'), /cut\.npz: /);
  // Flip the stored CRC of the member (central directory copy is what is checked).
  const bad = zip.slice();
  const cd = bad.length - 22 - (46 + 'a.npy'.length);
  bad[cd + 16] ^= 0xff;
  assert.throws(() => parseNpz(bad, 'crc.npz'), /crc\.npz: member 'a\.npy': CRC-32 mismatch/);
});
