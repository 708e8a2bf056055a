import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DataLossError,
  readTFRecords,
  TFRecordWriter,
  type TFRecord,
} from '../../../src/data/tfrecord/index.js';
import { sharedData } from '../../helpers.js';

const golden = (name: string) => sharedData('tfrecord-golden', name);
const expected = (name: string) => JSON.parse(readFileSync(golden(name), 'utf8'));

async function collect(it: AsyncIterable<TFRecord>): Promise<TFRecord[]> {
  const out: TFRecord[] = [];
  for await (const r of it) out.push(r);
  return out;
}

interface OffsetRecord {
  record_offset: number;
  payload_length: number;
}

function assertLayout(records: TFRecord[], want: OffsetRecord[], file: string) {
  assert.equal(records.length, want.length, `${file}: record count`);
  records.forEach((r, i) => {
    assert.equal(r.index, i);
    assert.equal(r.file, file);
    assert.equal(r.offset, want[i].record_offset, `${file} record ${i} offset`);
    assert.equal(r.data.length, want[i].payload_length, `${file} record ${i} length`);
  });
}

test('reads the golden classification, segmentation and video files with offsets TF reported', async () => {
  for (const [file, json] of [
    ['classification.tfrecord', 'classification.expected.json'],
    ['segmentation.tfrecord', 'segmentation.expected.json'],
    ['video.tfrecord', 'video.expected.json'],
  ]) {
    const want = expected(json);
    const records = await collect(readTFRecords(golden(file)));
    assert.equal(records.length, want.num_records);
    assertLayout(records, want.records, golden(file));
  }
});

test('reads both detection shards directly, through a glob, a comma list and an array', async () => {
  const want = expected('detection.expected.json');
  const shardFiles = [0, 1].map((s) => golden(`detection-0000${s}-of-00002.tfrecord`));
  // Each shard holds 8 records (README: 16 images, round-robin over 2 shards).
  for (const [s, shard] of want.shards.entries()) {
    assert.equal(shard.num_records, 8);
    const records = await collect(readTFRecords(shardFiles[s]));
    assertLayout(records, shard.records, shardFiles[s]);
  }
  const viaGlob = await collect(readTFRecords(golden('detection-0000?-of-*.tfrecord')));
  const viaList = await collect(readTFRecords(shardFiles.join(',')));
  const viaArray = await collect(readTFRecords([shardFiles[0], golden('detection-00001-*')]));
  for (const got of [viaGlob, viaList, viaArray]) {
    assert.deepEqual(
      got.map((r) => [r.file, r.offset]),
      want.shards.flatMap((sh: { records: OffsetRecord[] }, s: number) =>
        sh.records.map((r) => [shardFiles[s], r.record_offset]),
      ),
    );
  }
});

test('corrupt payload: DataLossError with kind, index and header offset from corrupt.expected.json', async () => {
  const want = expected('corrupt.expected.json')['corrupt.tfrecord'];
  const file = golden('corrupt.tfrecord');
  const seen: TFRecord[] = [];
  await assert.rejects(
    async () => {
      for await (const r of readTFRecords(file)) seen.push(r);
    },
    (err: unknown) => {
      assert.ok(err instanceof DataLossError);
      assert.equal(err.kind, 'corrupt-data');
      assert.equal(err.recordIndex, want.bad_record_index);
      assert.equal(err.offset, want.bad_record_offset);
      assert.equal(err.file, file);
      assert.match(
        err.message,
        new RegExp(
          `corrupt record 3 in .*corrupt\\.tfrecord at byte offset 12042: payload CRC mismatch`,
        ),
      );
      return true;
    },
  );
  assert.equal(seen.length, want.records_read_before_error_by_tf_data);
});

test('corrupt payload in skip mode yields exactly the good records and counts the skip', async () => {
  const want = expected('corrupt.expected.json')['corrupt.tfrecord'];
  const original = await collect(readTFRecords(golden('classification.tfrecord')));
  const skipped: DataLossError[] = [];
  const stream = readTFRecords(golden('corrupt.tfrecord'), {
    onCorrupt: 'skip',
    onSkip: (e) => skipped.push(e),
  });
  const got = await collect(stream);
  const good = original.filter((r) => r.index !== want.bad_record_index);
  assert.deepEqual(
    got.map((r) => [r.index, r.offset]),
    good.map((r) => [r.index, r.offset]),
  );
  got.forEach((r, i) => assert.deepEqual(r.data, good[i].data));
  assert.equal(skipped.length, 1);
  assert.equal(skipped[0].offset, want.bad_record_offset);
  assert.deepEqual(stream.stats, {
    filesOpened: 1,
    recordsRead: 7,
    recordsSkipped: 1,
    filesStoppedEarly: 0,
  });
});

test('corrupt payload passes when checksums are not verified', async () => {
  const got = await collect(readTFRecords(golden('corrupt.tfrecord'), { verifyChecksums: false }));
  assert.equal(got.length, 8);
  const want = expected('corrupt.expected.json')['corrupt.tfrecord'];
  // The flipped byte is visible in the payload of record 3.
  const rec = got[want.bad_record_index];
  assert.equal(rec.data[want.flipped_byte_offset - want.bad_record_payload_offset], want.new_byte);
});

test('truncated tail: DataLossError truncated at the header offset; skip mode stops that file', async () => {
  const want = expected('corrupt.expected.json')['truncated.tfrecord'];
  const file = golden('truncated.tfrecord');
  let count = 0;
  await assert.rejects(
    async () => {
      for await (const _r of readTFRecords(file)) count++;
    },
    (err: unknown) => {
      assert.ok(err instanceof DataLossError);
      assert.equal(err.kind, 'truncated');
      assert.equal(err.recordIndex, want.truncated_record_index);
      assert.equal(err.offset, want.truncated_record_offset);
      assert.match(err.message, /^truncated record 7 in .* at byte offset 34283: /);
      return true;
    },
  );
  assert.equal(count, want.records_read_before_error_by_tf_data);

  // Skip mode: the truncated file ends early, and the next file in the list is still read.
  const stream = readTFRecords([file, golden('video.tfrecord')], { onCorrupt: 'skip' });
  const got = await collect(stream);
  assert.equal(got.length, 7 + 2);
  assert.deepEqual(stream.stats, {
    filesOpened: 2,
    recordsRead: 9,
    recordsSkipped: 1,
    filesStoppedEarly: 1,
  });
});

test('missing files and empty patterns give errors naming them', async () => {
  await assert.rejects(
    collect(readTFRecords(golden('nope.tfrecord'))),
    /TFRecord file not found: .*nope\.tfrecord/,
  );
  await assert.rejects(
    collect(readTFRecords(golden('train-*-of-00016'))),
    /file pattern '.*train-\*-of-00016' matched no files/,
  );
  await assert.rejects(
    collect(readTFRecords(golden('detection@3'))),
    /shard file not found: .*detection-00000-of-00003/,
  );
});

test("prefix@N also finds Model Garden's `prefix-0000i-of-0000N.tfrecord` shard names", async () => {
  const dir = await mkdtemp(join(tmpdir(), 'vg-shards-'));
  for (let i = 0; i < 2; i++) {
    const w = new TFRecordWriter(join(dir, `train-0000${i}-of-00002.tfrecord`));
    await w.write(new Uint8Array([i + 1]));
    await w.close();
  }
  const recs = await collect(readTFRecords(join(dir, 'train@2')));
  assert.deepEqual(
    recs.map((r) => [r.file.endsWith(`.tfrecord`), r.data[0]]),
    [
      [true, 1],
      [true, 2],
    ],
  );
});
