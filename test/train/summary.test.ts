import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import sharp from 'sharp';
import { tensorProtoValues } from '../../src/core/proto/tensor.js';
import { readTFRecords } from '../../src/data/tfrecord/index.js';
import { readJsonlLog } from '../../src/train/jsonl_log.js';
import { readEventFile, SummaryWriter } from '../../src/train/summary.js';
import { sharedData } from '../helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'vg-summary-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));
const text = (b: Uint8Array) => new TextDecoder().decode(b);

async function rgbPixels(
  png: Uint8Array,
): Promise<{ data: Buffer; width: number; height: number; channels: number }> {
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels };
}

test('reads the golden TF 2.21 event file: every event, tag, step and value', async () => {
  const want = JSON.parse(
    readFileSync(sharedData('tfrecord-golden', 'events.expected.json'), 'utf8'),
  );
  const events = await readEventFile(sharedData('tfrecord-golden', 'events.out.tfevents.golden'));
  assert.equal(events.length, want.events_in_file_order.length);
  assert.equal(events[0].fileVersion, 'brain.Event:2');
  assert.equal(events[0].sourceMetadata?.writer, 'tensorflow.core.util.events_writer');
  for (const [i, ev] of events.entries()) {
    const w = want.events_in_file_order[i];
    assert.equal(ev.wallTime, w.wall_time);
    assert.equal(ev.step, w.step);
    if (!w.values) continue;
    assert.equal(ev.summary?.value.length, w.values.length);
    for (const [j, v] of ev.summary!.value.entries()) {
      const wv = w.values[j];
      assert.equal(v.tag, wv.tag);
      assert.equal(v.metadata?.pluginData?.pluginName, wv.plugin_name);
      const t = tensorProtoValues(v.tensor!);
      assert.deepEqual(t.shape, wv.tensor_shape);
      if (wv.tensor_dtype === 'float32') {
        assert.equal(t.dtype, 'float32');
        assert.deepEqual(Array.from(t.values as Float32Array), [wv.value]);
      } else {
        assert.equal(t.dtype, 'string');
        const [width, height, png] = t.values as Uint8Array[];
        assert.equal(text(width), wv.width);
        assert.equal(text(height), wv.height);
        assert.equal(createHash('sha256').update(png).digest('hex'), wv.png_sha256);
        const px = await rgbPixels(png);
        assert.deepEqual([px.height, px.width, px.channels], wv.decoded_shape);
        assert.deepEqual(Array.from(px.data), wv.decoded_pixels.flat(2));
      }
    }
  }
  // Scalar series by tag, as the JSON lists them.
  for (const tag of ['loss', 'learning_rate']) {
    const series = events
      .filter((e) => e.summary?.value[0].tag === tag)
      .map((e) => ({
        step: e.step,
        value: (tensorProtoValues(e.summary!.value[0].tensor!).values as Float32Array)[0],
      }));
    assert.deepEqual(
      series,
      want.scalars[tag].map((s: { step: number; value: number }) => ({
        step: s.step,
        value: s.value,
      })),
    );
  }
});

test('SummaryWriter writes a TF-named event file: version event, scalars, image, text; CRCs verified on read', async () => {
  const logdir = join(dir, 'run1');
  let clock = 1_700_000_000.25;
  const jsonlPath = join(dir, 'run1.jsonl');
  const w = new SummaryWriter(logdir, {
    filenameSuffix: '.v2',
    now: () => clock,
    jsonl: jsonlPath,
    maxQueue: 3,
  });
  assert.equal(
    basename(w.path),
    `events.out.tfevents.1700000000.${hostname()}.${process.pid}.0.v2`,
  );
  const losses = [2.5, 2.0, 1.6, 1.28];
  losses.forEach((v, step) => {
    clock += 1;
    w.scalar('loss', v, step);
  });
  // 4x6 RGB test pattern: R = 50*col, G = 80*row, B = 255 in rows 1-2 / cols 2-3.
  const pixels = new Uint8Array(4 * 6 * 3);
  for (let r = 0; r < 4; r++) {
    for (let c = 0; c < 6; c++) {
      pixels.set([50 * c, 80 * r, r >= 1 && r <= 2 && c >= 2 && c <= 3 ? 255 : 0], (r * 6 + c) * 3);
    }
  }
  await w.image('sample', { data: pixels, height: 4, width: 6, channels: 3 }, 4);
  w.text('note', 'héllo', 5);
  w.scalar('big_step', 0, 2n ** 60n);
  await w.close();

  assert.deepEqual(readdirSync(logdir), [basename(w.path)]);
  let count = 0;
  for await (const _r of readTFRecords(w.path, { verifyChecksums: true })) count++;
  const events = await readEventFile(w.path);
  assert.equal(count, events.length);
  assert.equal(events.length, 1 + 4 + 1 + 1 + 1);
  assert.deepEqual(events[0], {
    wallTime: 1_700_000_000,
    step: 0,
    fileVersion: 'brain.Event:2',
    sourceMetadata: { writer: 'vision-garden' },
  });
  events.slice(1, 5).forEach((e, step) => {
    assert.equal(e.step, step);
    assert.equal(e.wallTime, 1_700_000_000.25 + step + 1);
    assert.equal(e.summary?.value[0].tag, 'loss');
    assert.equal(e.summary?.value[0].simpleValue, Math.fround(losses[step]));
  });
  // A value of 0 is still on the wire (simple_value is a oneof member); a bigint step survives.
  assert.equal(events[7].step, 2n ** 60n);
  assert.equal(events[7].summary?.value[0].simpleValue, 0);

  const img = events[5].summary!.value[0];
  assert.equal(events[5].step, 4);
  assert.equal(img.tag, 'sample');
  assert.deepEqual([img.image!.height, img.image!.width, img.image!.colorspace], [4, 6, 3]);
  const png = img.image!.encodedImageString;
  assert.deepEqual(
    Array.from(png.subarray(0, 8)),
    [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a],
  );
  const px = await rgbPixels(png);
  assert.deepEqual([px.height, px.width, px.channels], [4, 6, 3]);
  assert.deepEqual(new Uint8Array(px.data), pixels);

  const note = events[6].summary!.value[0];
  assert.equal(note.metadata?.pluginData?.pluginName, 'text');
  const t = tensorProtoValues(note.tensor!);
  assert.deepEqual(t.shape, []);
  assert.equal(text((t.values as Uint8Array[])[0]), 'héllo');

  // The JSON-lines mirror holds the scalars (float32-rounded) with their steps and wall times.
  const log = readJsonlLog(jsonlPath);
  assert.deepEqual(
    log.slice(0, 4).map((e) => [e.tag, e.step, e.value, e.wall_time]),
    losses.map((v, s) => ['loss', s, Math.fround(v), 1_700_000_000.25 + s + 1]),
  );
  assert.match(
    readFileSync(jsonlPath, 'utf8'),
    /\{"step":1152921504606846976,"tag":"big_step","value":0,/,
  );
});

test('SummaryWriter rejects bad input with clear messages', async () => {
  const w = new SummaryWriter(join(dir, 'run2'), { flushMillis: 0 });
  assert.throws(() => w.scalar('', 1, 0), /tag must be a non-empty string/);
  assert.throws(() => w.scalar('x', 1, 1.5), /step for 'x' must be an integer/);
  await assert.rejects(
    w.image('img', { data: new Uint8Array(5), height: 2, width: 2, channels: 3 }, 0),
    /data has 5 bytes, 2x2x3 needs 12/,
  );
  await w.close();
  assert.throws(() => w.scalar('x', 1, 0), /written after close\(\)/);
  // The file holds exactly the version event.
  assert.equal((await readEventFile(w.path)).length, 1);
});
