import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { gunzipSync } from 'node:zlib';
import { maskedCrc32c } from '../../../src/core/crc32c.js';
import {
  DataLossError,
  readTFRecords,
  shardedFileNames,
  TFRecordWriter,
  type TFRecord,
} from '../../../src/data/tfrecord/index.js';
import { sharedData } from '../../helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'vg-tfrecord-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

async function collect(it: AsyncIterable<TFRecord>): Promise<TFRecord[]> {
  const out: TFRecord[] = [];
  for await (const r of it) out.push(r);
  return out;
}

/** Independent framing reference: builds the TFRecord bytes for `payloads` by hand. */
function frame(payloads: Uint8Array[]): Buffer {
  const parts: Buffer[] = [];
  for (const p of payloads) {
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(p.length));
    const lenCrc = Buffer.alloc(4);
    lenCrc.writeUInt32LE(maskedCrc32c(len));
    const dataCrc = Buffer.alloc(4);
    dataCrc.writeUInt32LE(maskedCrc32c(p));
    parts.push(len, lenCrc, Buffer.from(p), dataCrc);
  }
  return Buffer.concat(parts);
}

function payloads(n: number, size: (i: number) => number): Uint8Array[] {
  return Array.from({ length: n }, (_, i) =>
    Uint8Array.from({ length: size(i) }, (_, j) => (i * 31 + j * 7) & 0xff),
  );
}

test('writer output equals hand-made framing, and reads back with offsets (incl. empty records)', async () => {
  const data = payloads(20, (i) => (i % 5 === 0 ? 0 : i * 37));
  const path = join(dir, 'plain.tfrecord');
  const w = new TFRecordWriter(path, { bufferBytes: 256 });
  for (const d of data) void w.write(d); // queued writes, no await each
  await w.close();
  assert.deepEqual(readFileSync(path), frame(data));
  assert.equal(existsSync(`${path}.tmp`), false);
  const got = await collect(readTFRecords(path));
  assert.deepEqual(
    got.map((r) => r.data),
    data,
  );
  let offset = 0;
  got.forEach((r, i) => {
    assert.equal(r.offset, offset);
    offset += 16 + data[i].length;
  });
});

test('writer reproduces the golden classification file byte for byte', async () => {
  const golden = sharedData('tfrecord-golden', 'classification.tfrecord');
  const records = await collect(readTFRecords(golden));
  const path = join(dir, 'copy.tfrecord');
  const w = new TFRecordWriter(path);
  for (const r of records) await w.write(r.data);
  await w.close();
  assert.deepEqual(readFileSync(path), readFileSync(golden));
});

test('gzip round trip: zlib decompresses to the plain framing; reader detects gzip by magic and extension', async () => {
  const data = payloads(50, (i) => 100 + i * 50);
  const gzPath = join(dir, 'data.tfrecord.gz');
  const w = new TFRecordWriter(gzPath); // compression inferred from .gz
  for (const d of data) await w.write(d);
  await w.flush();
  await w.close();
  const raw = readFileSync(gzPath);
  assert.deepEqual([raw[0], raw[1]], [0x1f, 0x8b]);
  assert.deepEqual(gunzipSync(raw), frame(data));
  assert.deepEqual(
    (await collect(readTFRecords(gzPath))).map((r) => r.data),
    data,
  );

  // Same content under a name without .gz: 'auto' sniffs the magic bytes; 'none' fails the CRC.
  const noExt = join(dir, 'data-gz.tfrecord');
  writeFileSync(noExt, raw);
  assert.deepEqual(
    (await collect(readTFRecords(noExt))).map((r) => r.data),
    data,
  );
  await assert.rejects(collect(readTFRecords(noExt, { compression: 'none' })), DataLossError);
});

test('truncated gzip stream is reported as truncated', async () => {
  const path = join(dir, 'cut.tfrecord.gz');
  const w = new TFRecordWriter(path, { gzipLevel: 0 });
  for (const d of payloads(10, () => 1000)) await w.write(d);
  await w.close();
  const raw = readFileSync(path);
  const cut = join(dir, 'cut2.tfrecord.gz');
  writeFileSync(cut, raw.subarray(0, Math.floor(raw.length / 2)));
  await assert.rejects(
    collect(readTFRecords(cut)),
    (e: unknown) => e instanceof DataLossError && e.kind === 'truncated',
  );
});

test('sharded spec prefix@N reads prefix-0000i-of-0000N in order', async () => {
  const names = shardedFileNames(join(dir, 'train'), 3);
  assert.deepEqual(
    names.map((n) => n.slice(dir.length + 1)),
    ['train-00000-of-00003', 'train-00001-of-00003', 'train-00002-of-00003'],
  );
  for (const [s, name] of names.entries()) {
    const w = new TFRecordWriter(name);
    await w.write(Uint8Array.of(s, s));
    await w.close();
  }
  const got = await collect(readTFRecords(join(dir, 'train@3')));
  assert.deepEqual(
    got.map((r) => [r.file, r.data[0]]),
    names.map((n, s) => [n, s]),
  );
});

test('abort leaves no file under the final name and no temporary file', async () => {
  const path = join(dir, 'aborted.tfrecord');
  const w = new TFRecordWriter(path);
  await w.write(Uint8Array.of(1, 2, 3));
  await w.flush();
  assert.equal(existsSync(`${path}.tmp`), true);
  assert.equal(existsSync(path), false);
  await w.abort();
  assert.equal(existsSync(`${path}.tmp`), false);
  assert.equal(existsSync(path), false);
  await assert.rejects(w.write(Uint8Array.of(1)), /write\(\) after abort\(\)/);
});

test('a corrupt length header stops the file in skip mode; a bad length is never trusted', async () => {
  const data = payloads(4, () => 64);
  const bytes = frame(data);
  bytes[80 + 3] ^= 0x40; // record 1's length (header at 64 + 16 = 80)
  const path = join(dir, 'badlen.tfrecord');
  writeFileSync(path, bytes);
  await assert.rejects(collect(readTFRecords(path)), (e: unknown) => {
    return (
      e instanceof DataLossError &&
      e.kind === 'corrupt-length' &&
      e.recordIndex === 1 &&
      e.offset === 80
    );
  });
  const stream = readTFRecords(path, { onCorrupt: 'skip' });
  assert.equal((await collect(stream)).length, 1);
  assert.equal(stream.stats.filesStoppedEarly, 1);
  // Without checksum verification the huge length is caught as a truncation, not allocated.
  await assert.rejects(
    collect(readTFRecords(path, { verifyChecksums: false })),
    /truncated record 1/,
  );
});

test('reading 2000 records keeps only the current one alive', async () => {
  const path = join(dir, 'many.tfrecord');
  const w = new TFRecordWriter(path);
  const size = 20_000;
  for (let i = 0; i < 2000; i++) await w.write(new Uint8Array(size).fill(i & 0xff));
  await w.close();
  assert.equal(statSync(path).size, 2000 * (size + 16));

  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  // Weak references to every 100th record: once iteration has moved on and a GC has run, the
  // reader must not be holding any of them.
  const refs: WeakRef<Uint8Array>[] = [];
  let n = 0;
  for await (const r of readTFRecords(path, { chunkBytes: 1 << 16 })) {
    assert.equal(r.data[size - 1], n & 0xff);
    if (n % 100 === 0) refs.push(new WeakRef(r.data));
    n++;
  }
  assert.equal(n, 2000);
  await new Promise((resolve) => setImmediate(resolve)); // WeakRef targets are kept until the job ends
  gc();
  const alive = refs.filter((ref) => ref.deref() !== undefined).length;
  assert.equal(alive, 0, `${alive} of ${refs.length} sampled records still alive`);
});
