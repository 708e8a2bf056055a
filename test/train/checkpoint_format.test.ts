import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import {
  CheckpointError,
  readCheckpointFile,
  readCheckpointHeader,
  writeCheckpointFile,
  type NamedStoredTensor,
} from '../../src/train/checkpoint_format.js';

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'vg-ckpt-format-'));
}

/** Bit-at-a-time CRC-32C (Castagnoli, reflected polynomial 0x82f63b78): an independent reference. */
function referenceCrc32c(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const b of bytes) {
    crc ^= b;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

function sampleTensors(): NamedStoredTensor[] {
  return [
    {
      name: 'dense/kernel',
      dtype: 'float32',
      shape: [2, 3],
      data: Float32Array.of(1, -2.5, 3, 0.125, 1e-8, -0),
    },
    { name: 'step', dtype: 'int32', shape: [], data: Int32Array.of(-7) },
    { name: 'mask', dtype: 'bool', shape: [3], data: Uint8Array.of(1, 0, 1) },
    { name: 'empty', dtype: 'float32', shape: [0, 5], data: new Float32Array(0) },
    {
      name: 'counter',
      dtype: 'int64',
      shape: [2],
      data: BigInt64Array.of(-(2n ** 40n), 9007199254740993n),
    },
    { name: 'scale', dtype: 'float64', shape: [1], data: Float64Array.of(Math.PI) },
  ];
}

const sampleMeta = {
  step: 1200,
  rng: { s: [1, 2, 3, 4294967295], spare: null },
  cursor: { epoch: 2, index: 17, order: [3, 1, 2] },
  config_hash: 'abc123',
  note: 'ünïcode ✓',
};

test('round trip of float32/int32/bool/int64/float64 tensors, scalar and empty shapes, and meta', async () => {
  const dir = tempDir();
  try {
    const path = join(dir, 'a.vgckpt');
    await writeCheckpointFile(path, { tensors: sampleTensors(), meta: sampleMeta });
    const back = await readCheckpointFile(path);
    assert.deepEqual(
      [...back.tensors.keys()],
      sampleTensors().map((t) => t.name),
    );
    for (const t of sampleTensors()) {
      const got = back.tensors.get(t.name)!;
      assert.equal(got.dtype, t.dtype, t.name);
      assert.deepEqual(got.shape, t.shape, t.name);
      assert.equal(got.data.constructor, t.data.constructor, t.name);
      assert.deepEqual([...got.data], [...t.data], t.name);
    }
    assert.ok(Object.is(back.tensors.get('dense/kernel')!.data[5], -0), 'negative zero bits kept');
    assert.deepEqual(back.meta, sampleMeta);

    // A Map input gives the same tensors.
    const path2 = join(dir, 'b.vgckpt');
    await writeCheckpointFile(path2, {
      tensors: new Map(sampleTensors().map((t) => [t.name, t])),
      meta: sampleMeta,
    });
    assert.deepEqual(readFileSync(path2), readFileSync(path));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('file layout matches the documented format, checked byte by byte', async () => {
  const dir = tempDir();
  try {
    const path = join(dir, 'layout.vgckpt');
    await writeCheckpointFile(path, { tensors: sampleTensors(), meta: sampleMeta });
    const buf = readFileSync(path);
    assert.deepEqual([...buf.subarray(0, 8)], [0x89, ...Buffer.from('VGCKPT\n')]);
    assert.equal(buf.readUInt32LE(8), 1, 'version');
    const headerLength = buf.readUInt32LE(12);
    assert.equal(Number(buf.readBigUInt64LE(16)), buf.length, 'declared total length');
    const header = JSON.parse(buf.subarray(24, 24 + headerLength).toString('utf8'));
    assert.deepEqual(header.meta, sampleMeta);
    const dataStart = Math.ceil((24 + headerLength) / 64) * 64;
    assert.ok(
      buf.subarray(24 + headerLength, dataStart).every((b) => b === 0),
      'zero padding',
    );

    const kernel = header.tensors[0];
    assert.deepEqual(
      {
        name: kernel.name,
        dtype: kernel.dtype,
        shape: kernel.shape,
        byteLength: kernel.byteLength,
      },
      { name: 'dense/kernel', dtype: 'float32', shape: [2, 3], byteLength: 24 },
    );
    const expectedKernel = [1, -2.5, 3, 0.125, 1e-8, -0];
    for (let i = 0; i < 6; i++) {
      assert.equal(
        buf.readFloatLE(dataStart + kernel.offset + 4 * i),
        Math.fround(expectedKernel[i]),
      );
    }
    const mask = header.tensors[2];
    assert.deepEqual(
      [...buf.subarray(dataStart + mask.offset, dataStart + mask.offset + 3)],
      [1, 0, 1],
    );
    const counter = header.tensors[4];
    assert.equal(buf.readBigInt64LE(dataStart + counter.offset + 8), 9007199254740993n);
    for (const e of header.tensors) {
      assert.equal(e.offset % 64, 0, `${e.name} offset aligned`);
      assert.equal((dataStart + e.offset) % 64, 0, `${e.name} absolute offset aligned`);
      const bytes = buf.subarray(dataStart + e.offset, dataStart + e.offset + e.byteLength);
      assert.equal(e.crc32c, referenceCrc32c(bytes), `${e.name} crc`);
    }
    // Footer: total length, CRC of preamble+header, CRC of the footer head, end magic.
    const f = buf.length - 24;
    assert.equal(Number(buf.readBigUInt64LE(f)), buf.length);
    assert.equal(buf.readUInt32LE(f + 8), referenceCrc32c(buf.subarray(0, 24 + headerLength)));
    assert.equal(buf.readUInt32LE(f + 12), referenceCrc32c(buf.subarray(f, f + 12)));
    assert.deepEqual([...buf.subarray(f + 16)], [0x89, ...Buffer.from('VGCEND\n')]);
    assert.equal(f % 64, 0, 'data section padded to 64');

    const h = await readCheckpointHeader(path);
    assert.equal(h.dataStart, dataStart);
    assert.equal(h.fileLength, buf.length);
    assert.deepEqual(h.tensors, header.tensors);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('writing leaves no temporary file and replaces an existing checkpoint', async () => {
  const dir = tempDir();
  try {
    const path = join(dir, 'x.vgckpt');
    await writeCheckpointFile(path, { tensors: sampleTensors(), meta: { v: 1 } });
    await writeCheckpointFile(path, { tensors: [], meta: { v: 2 } });
    assert.deepEqual(readdirSync(dir), ['x.vgckpt']);
    const back = await readCheckpointFile(path);
    assert.equal(back.tensors.size, 0);
    assert.deepEqual(back.meta, { v: 2 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('truncation at any position is a CheckpointError naming the file and both sizes', async () => {
  const dir = tempDir();
  try {
    const path = join(dir, 'full.vgckpt');
    await writeCheckpointFile(path, { tensors: sampleTensors(), meta: sampleMeta });
    const buf = readFileSync(path);
    const m = buf.length;
    const headerLength = buf.readUInt32LE(12);
    const dataStart = Math.ceil((24 + headerLength) / 64) * 64;
    const cut = join(dir, 'cut.vgckpt');
    for (const n of [0, 5, 23]) {
      writeFileSync(cut, buf.subarray(0, n));
      await assert.rejects(readCheckpointFile(cut), (err: unknown) => {
        assert.ok(err instanceof CheckpointError);
        assert.equal(err.file, cut);
        assert.match(
          err.message,
          new RegExp(
            `^checkpoint ${cut}: truncated at byte ${n}: shorter than the 24-byte preamble`,
          ),
        );
        return true;
      });
    }
    for (const n of [24, 30, 24 + headerLength, dataStart + 3, m - 24, m - 1]) {
      writeFileSync(cut, buf.subarray(0, n));
      await assert.rejects(readCheckpointFile(cut, { verify: false }), (err: unknown) => {
        assert.ok(err instanceof CheckpointError);
        assert.ok(err.message.includes(cut), err.message);
        assert.equal(err.reason, `truncated at byte ${n} of ${m}`);
        return true;
      });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a flipped byte in the data, header or footer is detected; bad magic and version named', async () => {
  const dir = tempDir();
  try {
    const path = join(dir, 'good.vgckpt');
    await writeCheckpointFile(path, { tensors: sampleTensors(), meta: sampleMeta });
    const buf = readFileSync(path);
    const headerLength = buf.readUInt32LE(12);
    const dataStart = Math.ceil((24 + headerLength) / 64) * 64;
    const header = JSON.parse(buf.subarray(24, 24 + headerLength).toString('utf8'));
    const bad = join(dir, 'bad.vgckpt');
    const withFlip = (at: number, mask = 0x01): void => {
      const copy = Buffer.from(buf);
      copy[at] ^= mask;
      writeFileSync(bad, copy);
    };

    const kernel = header.tensors[0];
    withFlip(dataStart + kernel.offset + 5);
    await assert.rejects(readCheckpointFile(bad), (err: unknown) => {
      assert.ok(err instanceof CheckpointError);
      assert.match(err.message, /CRC mismatch in tensor 'dense\/kernel'/);
      assert.ok(err.message.includes(bad));
      return true;
    });
    // Without verification the damaged value comes back, and other names can be read verified.
    const unverified = await readCheckpointFile(bad, { verify: false });
    assert.notEqual(unverified.tensors.get('dense/kernel')!.data[1], -2.5);
    const others = await readCheckpointFile(bad, { names: ['mask', 'step'] });
    assert.deepEqual([...others.tensors.keys()], ['step', 'mask']);

    withFlip(24 + 10); // inside the JSON header
    await assert.rejects(readCheckpointFile(bad, { verify: false }), /header CRC mismatch/);

    withFlip(buf.length - 20); // footer: total length field
    await assert.rejects(readCheckpointFile(bad), /footer CRC mismatch/);

    withFlip(buf.length - 3); // end magic
    await assert.rejects(readCheckpointFile(bad), /bad end magic/);

    withFlip(1, 0x20); // 'V' -> 'v'
    await assert.rejects(readCheckpointFile(bad), (err: unknown) => {
      assert.ok(err instanceof CheckpointError);
      assert.match(err.reason, /^bad magic: starts with bytes \[89 76 47 43/);
      return true;
    });

    const v2 = Buffer.from(buf);
    v2.writeUInt32LE(2, 8);
    writeFileSync(bad, v2);
    await assert.rejects(
      readCheckpointFile(bad),
      /unsupported format version 2 \(this build reads version 1\)/,
    );

    const long = Buffer.concat([buf, Buffer.from([0, 0, 0])]);
    writeFileSync(bad, long);
    await assert.rejects(
      readCheckpointFile(bad),
      new RegExp(`has ${buf.length + 3} bytes but declares ${buf.length}`),
    );

    writeFileSync(bad, Buffer.from('<!doctype html> this is not a checkpoint at all, sorry'));
    await assert.rejects(readCheckpointFile(bad), /bad magic/);

    await assert.rejects(readCheckpointFile(join(dir, 'absent.vgckpt')), (err: unknown) => {
      assert.ok(err instanceof CheckpointError);
      assert.match(err.message, /absent\.vgckpt: file does not exist/);
      return true;
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('reading a subset by name, and an unknown name lists what the file has', async () => {
  const dir = tempDir();
  try {
    const path = join(dir, 's.vgckpt');
    await writeCheckpointFile(path, { tensors: sampleTensors() });
    const sub = await readCheckpointFile(path, { names: ['counter'] });
    assert.deepEqual([...sub.tensors.keys()], ['counter']);
    assert.deepEqual(sub.meta, {});
    await assert.rejects(
      readCheckpointFile(path, { names: ['counter', 'nope'] }),
      /no tensor named 'nope' \(has 6: 'dense\/kernel', 'step'/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a Node Buffer is accepted for uint8 data and stored without its pool neighbours', async () => {
  const dir = tempDir();
  try {
    const path = join(dir, 'buf.vgckpt');
    const bytes = Buffer.from('hello'); // usually a view into Node's shared 8 KiB pool
    await writeCheckpointFile(path, {
      tensors: [{ name: 'txt', dtype: 'uint8', shape: [5], data: bytes }],
    });
    const back = await readCheckpointFile(path);
    const got = back.tensors.get('txt')!.data;
    assert.equal(got.constructor, Uint8Array);
    assert.equal(Buffer.from(got as Uint8Array).toString(), 'hello');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('invalid content is rejected with the tensor or meta field named', async () => {
  const dir = tempDir();
  const path = join(dir, 'bad.vgckpt');
  const f32 = (name: string, shape: number[], n: number): NamedStoredTensor => ({
    name,
    dtype: 'float32',
    shape,
    data: new Float32Array(n),
  });
  try {
    await assert.rejects(
      writeCheckpointFile(path, { tensors: [f32('w', [2, 2], 3)] }),
      /tensor 'w': shape \[2, 2\] has 4 elements but data has 3/,
    );
    await assert.rejects(
      writeCheckpointFile(path, {
        tensors: [{ name: 'w', dtype: 'int32', shape: [2], data: new Float32Array(2) }],
      }),
      /tensor 'w': dtype int32 needs a Int32Array, got Float32Array/,
    );
    await assert.rejects(
      writeCheckpointFile(path, { tensors: [f32('w', [1], 1), f32('w', [1], 1)] }),
      /'w' is given twice/,
    );
    await assert.rejects(
      writeCheckpointFile(path, {
        tensors: [{ name: 'm', dtype: 'bool', shape: [2], data: Uint8Array.of(1, 2) }],
      }),
      /bool element 1 is 2/,
    );
    await assert.rejects(
      writeCheckpointFile(path, { tensors: [f32('w', [-1], 0)] }),
      /shape must be non-negative/,
    );
    await assert.rejects(
      writeCheckpointFile(path, { tensors: [], meta: { lr: { value: NaN } } }),
      /meta\.lr\.value is NaN/,
    );
    await assert.rejects(
      writeCheckpointFile(path, { tensors: [], meta: { when: new Date(0) } }),
      /meta\.when is a Date/,
    );
    assert.deepEqual(readdirSync(dir), [], 'nothing written for invalid content');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a 20 MB tensor round trips without holding extra copies', async () => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const dir = tempDir();
  try {
    const path = join(dir, 'big.vgckpt');
    const n = 5 * 1024 * 1024; // 20 MiB of float32
    const big = new Float32Array(n);
    for (let i = 0; i < n; i++) big[i] = (i % 1000) * 0.5 - 250;
    await writeCheckpointFile(path, {
      tensors: [
        { name: 'big', dtype: 'float32', shape: [1024, 5120], data: big },
        { name: 'small', dtype: 'int32', shape: [2], data: Int32Array.of(1, 2) },
      ],
    });
    gc();
    const before = process.memoryUsage().arrayBuffers;
    const back = await readCheckpointFile(path);
    gc();
    const grown = process.memoryUsage().arrayBuffers - before;
    const got = back.tensors.get('big')!.data as Float32Array;
    // Each tensor owns exactly its bytes (not a view into a whole-file buffer)...
    assert.equal(got.buffer.byteLength, n * 4);
    // ...and reading held about one copy of the data, not two.
    assert.ok(grown < 1.5 * n * 4, `array buffers grew by ${grown} bytes reading ${n * 4}`);
    for (let i = 0; i < n; i += 4099) assert.equal(got[i], (i % 1000) * 0.5 - 250);
    assert.deepEqual(got.subarray(n - 3), big.subarray(n - 3));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
