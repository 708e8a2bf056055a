import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import {
  FASHION_MNIST_CLASS_NAMES,
  IdxFormatError,
  findFashionMnist,
  loadFashionMnist,
  loadMnistLike,
  parseIdx,
  readIdxFile,
  requireFashionMnist,
} from '../../src/data/idx.js';

const tmp = mkdtempSync(join(tmpdir(), 'vg-idx-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));

function writeBytes(name: string, bytes: number[] | Uint8Array, gzip = false): string {
  const path = join(tmp, name);
  const buf = Uint8Array.from(bytes);
  writeFileSync(path, gzip ? gzipSync(buf) : buf);
  return path;
}

/** Hand-built IDX files: header bytes, big-endian dims, big-endian data, and the decoded values. */
const CASES = [
  {
    dtype: 'uint8',
    bytes: [0, 0, 0x08, 1, 0, 0, 0, 3, 1, 2, 0xff],
    shape: [3],
    values: [1, 2, 255],
  },
  { dtype: 'int8', bytes: [0, 0, 0x09, 1, 0, 0, 0, 2, 0xff, 0x80], shape: [2], values: [-1, -128] },
  {
    dtype: 'int16',
    bytes: [0, 0, 0x0b, 2, 0, 0, 0, 2, 0, 0, 0, 2, 0x00, 0x01, 0xff, 0xfe, 0x01, 0x2c, 0x80, 0x00],
    shape: [2, 2],
    values: [1, -2, 300, -32768],
  },
  {
    dtype: 'int32',
    bytes: [0, 0, 0x0c, 1, 0, 0, 0, 2, 0x00, 0x01, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff],
    shape: [2],
    values: [65536, -1],
  },
  {
    // 0x3f800000 = 1, 0xc0000000 = -2, 0x3e200000 = 1.25 * 2^-3 = 0.15625
    dtype: 'float32',
    bytes: [0, 0, 0x0d, 1, 0, 0, 0, 3, 0x3f, 0x80, 0, 0, 0xc0, 0, 0, 0, 0x3e, 0x20, 0, 0],
    shape: [3],
    values: [1, -2, 0.15625],
  },
  {
    // 0x400921fb54442d18 is the double nearest to pi
    dtype: 'float64',
    bytes: [0, 0, 0x0e, 1, 0, 0, 0, 1, 0x40, 0x09, 0x21, 0xfb, 0x54, 0x44, 0x2d, 0x18],
    shape: [1],
    values: [Math.PI],
  },
  {
    dtype: 'uint8',
    bytes: [0, 0, 0x08, 3, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 3, 10, 11, 12, 20, 21, 22],
    shape: [2, 1, 3],
    values: [10, 11, 12, 20, 21, 22],
  },
] as const;

test('readIdxFile decodes every element type, plain and gzip-compressed', async () => {
  for (const [i, c] of CASES.entries()) {
    for (const gzip of [false, true]) {
      const path = writeBytes(`case${i}${gzip ? '.gz' : ''}`, [...c.bytes], gzip);
      const arr = await readIdxFile(path);
      assert.equal(arr.dtype, c.dtype, path);
      assert.deepEqual(arr.shape, [...c.shape], path);
      assert.deepEqual([...arr.data], [...c.values], path);
    }
  }
});

test('readIdxFile returns typed arrays matching the dtype', async () => {
  const expected = [Uint8Array, Int8Array, Int16Array, Int32Array, Float32Array, Float64Array];
  for (let i = 0; i < 6; i++) {
    const arr = await readIdxFile(writeBytes(`typed${i}`, [...CASES[i].bytes]));
    assert.ok(arr.data instanceof expected[i], `${CASES[i].dtype}: ${arr.data.constructor.name}`);
  }
});

test('gzip is detected from the content, not the file name', async () => {
  const path = writeBytes('plain-name-but-gzipped', [...CASES[2].bytes], true);
  assert.deepEqual([...(await readIdxFile(path)).data], [1, -2, 300, -32768]);
});

test('truncated data names the file and the expected and actual byte counts', async () => {
  // int16 [2, 2]: 4 + 2*4 header bytes + 8 data bytes = 20; drop one
  const path = writeBytes('truncated', CASES[2].bytes.slice(0, 19));
  await assert.rejects(readIdxFile(path), (err: Error) => {
    assert.ok(err instanceof IdxFormatError);
    assert.match(err.message, /truncated/);
    assert.match(err.message, /expected 20 bytes, got 19/);
    assert.ok(err.message.includes(path), err.message);
    return true;
  });
  const gzPath = writeBytes('truncated.gz', CASES[2].bytes.slice(0, 19), true);
  await assert.rejects(readIdxFile(gzPath), /expected 20 bytes, got 19/);
});

test('truncated header and trailing bytes are errors', () => {
  assert.throws(() => parseIdx(Uint8Array.from([0, 0, 8]), 'f'), /f: truncated IDX header/);
  // 3 dims need 16 header bytes
  assert.throws(
    () => parseIdx(Uint8Array.from([0, 0, 8, 3, 0, 0, 0, 1]), 'f'),
    /expected 16 bytes for 3 dimensions, got 8/,
  );
  assert.throws(
    () => parseIdx(Uint8Array.from([...CASES[0].bytes, 7]), 'f'),
    /1 unexpected trailing bytes.*expected 11 bytes, got 12/,
  );
});

test('bad magic and unknown type codes are errors naming the file', async () => {
  const bad = writeBytes('bad-magic', [0x12, 0x34, 0x08, 1, 0, 0, 0, 1, 5]);
  await assert.rejects(readIdxFile(bad), (err: Error) => {
    assert.match(err.message, /bad IDX magic/);
    assert.match(err.message, /0x12 0x34/);
    assert.ok(err.message.startsWith(bad));
    return true;
  });
  const unknown = writeBytes('bad-type', [0, 0, 0x0a, 1, 0, 0, 0, 1, 5]);
  await assert.rejects(readIdxFile(unknown), /unknown IDX element type code 0x0a/);
});

test('a corrupt gzip stream is reported with the file name', async () => {
  const gz = gzipSync(Uint8Array.from(CASES[0].bytes));
  const path = writeBytes('corrupt.gz', gz.subarray(0, gz.length - 6));
  await assert.rejects(readIdxFile(path), (err: Error) => {
    assert.match(err.message, /corrupt gzip stream/);
    assert.ok(err.message.includes(path));
    return true;
  });
});

/** IDX bytes of uint8 data with the given dims. */
function idxUint8(dims: number[], data: number[]): number[] {
  const header = [0, 0, 0x08, dims.length];
  for (const d of dims) header.push((d >>> 24) & 255, (d >>> 16) & 255, (d >>> 8) & 255, d & 255);
  return [...header, ...data];
}

test('loadMnistLike reads both splits, gzip or plain, and checks the files agree', async () => {
  const dir = join(tmp, 'mnist-like');
  mkdirSync(dir);
  // train: 3 images of 2x2, gzipped; test (t10k): 1 image, plain files
  writeBytes(
    'mnist-like/train-images-idx3-ubyte.gz',
    idxUint8([3, 2, 2], [...Array(12).keys()]),
    true,
  );
  writeBytes('mnist-like/train-labels-idx1-ubyte.gz', idxUint8([3], [7, 0, 9]), true);
  writeBytes('mnist-like/t10k-images-idx3-ubyte', idxUint8([1, 2, 2], [255, 254, 253, 252]));
  writeBytes('mnist-like/t10k-labels-idx1-ubyte', idxUint8([1], [4]));
  const train = await loadMnistLike(dir, 'train');
  assert.deepEqual(train.shape, [3, 2, 2]);
  assert.deepEqual([...train.images], [...Array(12).keys()]);
  assert.deepEqual([...train.labels], [7, 0, 9]);
  assert.ok(train.files.images.endsWith('train-images-idx3-ubyte.gz'));
  const t = await loadMnistLike(dir, 'test');
  assert.deepEqual(t.shape, [1, 2, 2]);
  assert.deepEqual([...t.images], [255, 254, 253, 252]);
  assert.deepEqual([...t.labels], [4]);

  // label count differs from image count
  writeBytes('mnist-like/t10k-labels-idx1-ubyte', idxUint8([2], [4, 5]));
  await assert.rejects(
    loadMnistLike(dir, 'test'),
    /t10k-labels-idx1-ubyte: label count 2 does not match image count 1/,
  );
  // wrong rank for images
  writeBytes('mnist-like/t10k-images-idx3-ubyte', idxUint8([2, 2], [1, 2, 3, 4]));
  await assert.rejects(
    loadMnistLike(dir, 'test'),
    /expected uint8 images of shape \[N, H, W\], got uint8 \[2, 2\]/,
  );
  // missing files
  const empty = join(tmp, 'empty');
  mkdirSync(empty);
  await assert.rejects(
    loadMnistLike(empty, 'train'),
    /missing train-images-idx3-ubyte\[\.gz\] and train-labels-idx1-ubyte\[\.gz\]/,
  );
});

test('findFashionMnist returns null and requireFashionMnist says how to install', async () => {
  const empty = join(tmp, 'no-fashion');
  mkdirSync(empty);
  assert.equal(findFashionMnist([empty, join(tmp, 'does-not-exist')]), null);
  assert.throws(() => requireFashionMnist([empty]), /apt-get install dataset-fashion-mnist/);
  await assert.rejects(loadFashionMnist('train', [empty]), /apt-get install dataset-fashion-mnist/);
  assert.equal(findFashionMnist([join(tmp, 'mnist-like')]), join(tmp, 'mnist-like'));
});

const fashionDir = findFashionMnist();

test(
  'Fashion-MNIST (Debian dataset-fashion-mnist) has the published sizes and class balance',
  { skip: fashionDir === null ? 'dataset-fashion-mnist not installed' : false },
  async () => {
    assert.equal(FASHION_MNIST_CLASS_NAMES.length, 10);
    // Published: 60,000 training and 10,000 test 28x28 grayscale images, 10 balanced classes.
    for (const [split, n] of [
      ['train', 60000],
      ['test', 10000],
    ] as const) {
      const data = await loadFashionMnist(split);
      assert.deepEqual(data.shape, [n, 28, 28]);
      assert.equal(data.images.length, n * 28 * 28);
      assert.equal(data.labels.length, n);
      const counts = new Array<number>(10).fill(0);
      for (const l of data.labels) {
        assert.ok(l <= 9, `label ${l}`);
        counts[l]++;
      }
      assert.deepEqual(counts, new Array(10).fill(n / 10), `${split} class counts`);
      // First example of each split is an ankle boot (class 9), as in TF's basic classification tutorial.
      assert.equal(data.labels[0], 9);
      let max = 0;
      let min = 255;
      for (const v of data.images) {
        if (v > max) max = v;
        if (v < min) min = v;
      }
      assert.equal(min, 0);
      assert.equal(max, 255);
    }
  },
);
