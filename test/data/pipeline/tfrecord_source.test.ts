import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ParallelPipeline,
  tfrecordSource,
  type SourceRecord,
} from '../../../src/data/pipeline/index.js';
import { TFRecordWriter } from '../../../src/data/tfrecord/writer.js';
import { sharedData } from '../../helpers.js';
import { encodeExample } from './fixtures/map_fns.js';
import { drain, FIXTURE_MODULE, ids, probe } from './helpers.js';

async function collect(it: AsyncIterable<SourceRecord>): Promise<SourceRecord[]> {
  const out: SourceRecord[] = [];
  for await (const r of it) out.push(r);
  return out;
}

/** Writes ids [first, first + n) to `path`; returns each record's header offset (12 + len + 4 per record). */
async function writeShard(path: string, first: number, n: number): Promise<number[]> {
  const w = new TFRecordWriter(path);
  const offsets: number[] = [];
  let offset = 0;
  for (let id = first; id < first + n; id++) {
    const bytes = encodeExample(id);
    offsets.push(offset);
    offset += 12 + bytes.length + 4;
    await w.write(bytes);
  }
  await w.close();
  return offsets;
}

test('tfrecordSource: shards from a glob, streamed records with file/record/offset locators', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'vg-pipeline-'));
  try {
    const sizes = [5, 9, 4];
    const offsets: number[][] = [];
    let first = 0;
    for (let s = 0; s < sizes.length; s++) {
      offsets.push(await writeShard(join(dir, `part-${s}-of-3.tfrecord`), first, sizes[s]));
      first += sizes[s];
    }
    const source = tfrecordSource(join(dir, 'part-*-of-3.tfrecord'));
    const shards = await source.shards();
    assert.deepEqual(
      shards,
      [0, 1, 2].map((s) => join(dir, `part-${s}-of-3.tfrecord`)),
    );
    assert.equal(source.transferableBytes, true);
    const second = await collect(source.readShard(shards[1]));
    assert.deepEqual(
      second.map((r) => r.where),
      offsets[1].map((o, i) => `${shards[1]} record ${i} (offset ${o})`),
    );
    assert.deepEqual(
      second.map((r) => [...r.bytes]),
      Array.from({ length: 9 }, (_, i) => [...encodeExample(5 + i)]),
    );

    // Through worker threads (records are transferred, not copied): every id once, in order.
    const p = new ParallelPipeline({
      source,
      map: probe(),
      training: false,
      batchSize: 4,
      seed: 1,
      workers: 2,
    });
    const batches = await drain(p);
    assert.deepEqual(
      ids(batches),
      Array.from({ length: 18 }, (_, i) => i),
    );
    assert.deepEqual(
      batches.map((b) => b.id.shape[0]),
      [4, 4, 4, 4, 2],
    );
    await p.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

const golden = (name: string) => sharedData('tfrecord-golden', name);
const lengthMap = { module: FIXTURE_MODULE, factory: 'makeLengthMap', options: {} };

type GoldenRecords = {
  records: { index: number; record_offset: number; payload_length: number }[];
};
const goldenRecords = async (): Promise<GoldenRecords['records']> =>
  (JSON.parse(await readFile(golden('classification.expected.json'), 'utf8')) as GoldenRecords)
    .records;

test('golden corrupt.tfrecord: batches before the bad record, then the DataLossError', async () => {
  const lengths = (await goldenRecords()).map((r) => r.payload_length);
  const p = new ParallelPipeline({
    source: tfrecordSource(golden('corrupt.tfrecord')),
    map: lengthMap,
    training: false,
    batchSize: 2,
    seed: 0,
    workers: 0,
  });
  const first = await p.next();
  assert.deepEqual([...(first?.length.data ?? [])], lengths.slice(0, 2));
  await assert.rejects(
    p.next(),
    /corrupt record 3 in .*corrupt\.tfrecord at byte offset 12042: payload CRC mismatch/,
  );
  await p.close();
});

test('golden corrupt.tfrecord with skipCorrupt: the other 7 records, counted skip', async () => {
  const kept = (await goldenRecords()).filter((r) => r.index !== 3);
  const source = tfrecordSource(golden('corrupt.tfrecord'), { skipCorrupt: true });
  const records = await collect(source.readShard((await source.shards())[0]));
  assert.deepEqual(
    records.map((r) => r.where),
    kept.map((r) => `${golden('corrupt.tfrecord')} record ${r.index} (offset ${r.record_offset})`),
  );
  assert.equal(source.recordsSkipped, 1);
  const p = new ParallelPipeline({
    source,
    map: lengthMap,
    training: false,
    batchSize: 4,
    seed: 0,
    workers: 0,
  });
  const lengths = (await drain(p)).flatMap((b) => [...b.length.data]);
  assert.deepEqual(
    lengths,
    kept.map((r) => r.payload_length),
  );
  await p.close();
});

test('golden truncated.tfrecord fails at record 7 after the first 7 records', async () => {
  const p = new ParallelPipeline({
    source: tfrecordSource(golden('truncated.tfrecord')),
    map: lengthMap,
    training: false,
    batchSize: 7,
    seed: 0,
    workers: 0,
  });
  const lengths = (await goldenRecords()).map((r) => r.payload_length);
  assert.deepEqual([...((await p.next())?.length.data ?? [])], lengths.slice(0, 7));
  await assert.rejects(
    p.next(),
    /truncated record 7 in .*truncated\.tfrecord at byte offset 34283/,
  );
  await p.close();
});
