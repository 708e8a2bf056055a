/**
 * The decoders against every TFRecord golden written by TensorFlow 2.21 in
 * ../shared/data/tfrecord-golden (expected values were read back by TF, see its README).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ClassificationDecoder } from '../../../src/data/decoders/classification.js';
import { TfExampleDecoder } from '../../../src/data/decoders/detection.js';
import { decodeImage, jpegDecoderInUse } from '../../../src/data/decoders/image.js';
import { SegmentationDecoder } from '../../../src/data/decoders/segmentation.js';
import { VideoDecoder } from '../../../src/data/decoders/video.js';
import { scalarFeature } from '../../../src/data/decoders/feature_spec.js';
import { DataLossError, readTFRecords } from '../../../src/data/tfrecord/index.js';
import { sharedData } from '../../helpers.js';

const GOLDEN = sharedData('tfrecord-golden');
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const readJson = <T>(name: string): T => JSON.parse(readFileSync(join(GOLDEN, name), 'utf8')) as T;
const sum = (a: Uint8Array) => a.reduce((s, v) => s + v, 0);
/** Per-channel means of HWC data. */
function channelMeans(data: Uint8Array, channels: number): number[] {
  const sums = new Array<number>(channels).fill(0);
  for (let i = 0; i < data.length; i++) sums[i % channels] += data[i];
  return sums.map((s) => s / (data.length / channels));
}

interface Stats {
  mean: number;
  channel_means: number[];
  sum: number;
}
interface ClassificationRecord {
  index: number;
  record_offset: number;
  label: number;
  format: string;
  height: number;
  width: number;
  encoded_sha256: string;
  decoded_shape: number[];
  tf_decode: Stats;
  tf_decoded_rgb_sha256: string;
  tf_decode_integer_accurate?: Stats;
  exact: boolean;
}

test('classification golden: labels, bytes and pixels (PNG and JPEG exact with libturbojpeg)', async () => {
  // The JPEG pixels are TF's default decode (fast integer IDCT), which libturbojpeg reproduces;
  // .ci/run installs it (Debian libturbojpeg0).
  assert.equal((await jpegDecoderInUse()).decoder, 'turbojpeg', 'libturbojpeg is not installed');
  const exp = readJson<{ records: ClassificationRecord[] }>('classification.expected.json');
  const decoder = new ClassificationDecoder();
  const file = join(GOLDEN, 'classification.tfrecord');
  let i = 0;
  for await (const rec of readTFRecords(file)) {
    const e = exp.records[i];
    assert.equal(rec.offset, e.record_offset);
    const ex = await decoder.decode(rec.data, rec);
    assert.equal(ex.label, e.label);
    assert.equal(sha256(ex.encoded), e.encoded_sha256);
    assert.deepEqual([ex.image.height, ex.image.width, ex.image.channels], e.decoded_shape);
    assert.deepEqual([ex.image.height, ex.image.width], [e.height, e.width]);
    assert.equal(sha256(ex.image.data), e.tf_decoded_rgb_sha256, `record ${i} pixels`);
    assert.equal(sum(ex.image.data), e.tf_decode.sum);
    if (!e.exact) {
      // dct_method='INTEGER_ACCURATE', from libturbojpeg and from sharp (its only IDCT).
      const acc = e.tf_decode_integer_accurate!;
      for (const jpegDecoder of ['turbojpeg', 'sharp'] as const) {
        const img = await decodeImage(ex.encoded, { dctMethod: 'INTEGER_ACCURATE', jpegDecoder });
        const where = `record ${i} JPEG vs INTEGER_ACCURATE (${jpegDecoder})`;
        assert.equal(sum(img.data), acc.sum, where);
        assert.deepEqual(channelMeans(img.data, 3), acc.channel_means, where);
      }
    }
    i++;
  }
  assert.equal(i, 8);
});

interface DetectionRecord {
  record_offset: number;
  source_id: string;
  height: number;
  width: number;
  image_sha256: string;
  image_decoded_shape: number[];
  num_objects: number;
  boxes_ymin_xmin_ymax_xmax: number[][];
  classes: number[];
  is_crowd: boolean[];
  areas: number[];
  num_masks: number;
  mask_pixel_sums: number[];
  mask_max_values: number[];
  mask_png_sha256: string[];
}

test('detection golden (2 shards, masks): every box, class, crowd flag, area and mask', async () => {
  const exp = readJson<{ shards: { file: string; records: DetectionRecord[] }[] }>(
    'detection.expected.json',
  );
  const decoder = new TfExampleDecoder({ includeMask: true });
  let total = 0;
  let objects = 0;
  for (const shard of exp.shards) {
    let r = 0;
    for await (const rec of readTFRecords(join(GOLDEN, shard.file))) {
      const e = shard.records[r];
      const where = `${shard.file} record ${r}`;
      assert.equal(rec.offset, e.record_offset, where);
      const ex = await decoder.decode(rec.data, rec);
      assert.equal(ex.sourceId, e.source_id, where);
      assert.equal(ex.height, e.height);
      assert.equal(ex.width, e.width);
      assert.equal(sha256(ex.encoded), e.image_sha256);
      assert.deepEqual(
        [ex.image!.height, ex.image!.width, ex.image!.channels],
        e.image_decoded_shape,
      );
      assert.equal(ex.numInstances, e.num_objects, where);
      assert.deepEqual(
        Array.from({ length: ex.numInstances }, (_, j) =>
          Array.from(ex.boxes.subarray(j * 4, j * 4 + 4)),
        ),
        e.boxes_ymin_xmin_ymax_xmax,
        where,
      );
      assert.deepEqual(Array.from(ex.classes), e.classes, where);
      assert.deepEqual(ex.isCrowd, e.is_crowd, where);
      assert.deepEqual(Array.from(ex.areas), e.areas, where);
      assert.equal(ex.masksPng!.length, e.num_masks);
      assert.deepEqual(ex.masksPng!.map(sha256), e.mask_png_sha256, where);
      const plane = ex.height * ex.width;
      assert.equal(ex.masks!.length, e.num_masks * plane);
      for (let j = 0; j < e.num_masks; j++) {
        const m = ex.masks!.subarray(j * plane, (j + 1) * plane);
        assert.equal(sum(m), e.mask_pixel_sums[j], `${where} mask ${j} pixel sum`);
        assert.equal(
          m.reduce((a, v) => Math.max(a, v), 0),
          e.mask_max_values[j],
        );
      }
      objects += ex.numInstances;
      r++;
      total++;
    }
    assert.equal(r, shard.records.length);
  }
  assert.equal(total, 16);
  assert.equal(objects, 172); // README: 172 objects in total
});

interface SegmentationRecord {
  record_offset: number;
  height: number;
  width: number;
  image_format: string;
  image_sha256: string;
  image_tf_decode_mean: number;
  label_png_sha256: string;
  label_decoded_sha256: string;
  label_histogram: Record<string, number>;
}

test('segmentation golden: label maps exact, images by format', async () => {
  const exp = readJson<{ records: SegmentationRecord[] }>('segmentation.expected.json');
  const decoder = new SegmentationDecoder();
  let i = 0;
  for await (const rec of readTFRecords(join(GOLDEN, 'segmentation.tfrecord'))) {
    const e = exp.records[i];
    assert.equal(rec.offset, e.record_offset);
    const ex = await decoder.decode(rec.data, rec);
    assert.deepEqual([ex.height, ex.width], [e.height, e.width]);
    assert.equal(sha256(ex.encodedImage), e.image_sha256);
    assert.equal(sha256(ex.encodedLabel), e.label_png_sha256);
    assert.equal(sha256(ex.label), e.label_decoded_sha256, `record ${i} label pixels`);
    const hist: Record<string, number> = {};
    for (const v of ex.label) hist[v] = (hist[v] ?? 0) + 1;
    assert.deepEqual(hist, e.label_histogram);
    const mean = sum(ex.image.data) / ex.image.data.length;
    assert.equal(mean, e.image_tf_decode_mean, `record ${i} ${e.image_format} mean`);
    i++;
  }
  assert.equal(i, 4);
});

interface VideoRecord {
  record_offset: number;
  'clip/label/index': number[];
  'clip/media_id': string;
  num_frames: number;
  frames: {
    sha256: string;
    length: number;
    decoded_shape: number[];
    tf_decode_mean: number;
    tf_decode_channel_means: number[];
  }[];
}

/** Frame t of golden clip `clip` as the README describes it (32x32 RGB, before JPEG). */
function sourceFrame(clip: number, t: number): Uint8Array {
  const out = new Uint8Array(32 * 32 * 3);
  for (let y = 0; y < 32; y++) {
    for (let x = 0; x < 32; x++) {
      let px = [8 * x, 8 * y, clip === 0 ? 40 + 20 * t : 200 - 20 * t];
      const top = clip === 0 ? 4 + 2 * t : 20 - 2 * t;
      if (y >= top && y < top + 8 && x >= 2 + 3 * t && x < 2 + 3 * t + 8) {
        px = clip === 0 ? [255, 255, 255] : [0, 0, 0];
      }
      out.set(px, (y * 32 + x) * 3);
    }
  }
  return out;
}

test('video golden: SequenceExample labels, media ids and frames', async () => {
  const exp = readJson<{ records: VideoRecord[] }>('video.expected.json');
  const decoder = new VideoDecoder().addContext('clip/media_id', scalarFeature('string'));
  let i = 0;
  for await (const rec of readTFRecords(join(GOLDEN, 'video.tfrecord'))) {
    const e = exp.records[i];
    assert.equal(rec.offset, e.record_offset);
    const ex = decoder.decode(rec.data, rec);
    assert.deepEqual(ex.labels, e['clip/label/index']);
    assert.equal(
      new TextDecoder().decode(ex.context['clip/media_id'] as Uint8Array),
      e['clip/media_id'],
    );
    assert.equal(ex.frames.length, e.num_frames);
    assert.deepEqual(
      ex.frames.map(sha256),
      e.frames.map((f) => f.sha256),
    );
    assert.deepEqual(
      ex.frames.map((f) => f.length),
      e.frames.map((f) => f.length),
    );
    const decoded = await decoder.decodeFrames(ex, rec);
    decoded.forEach((img, t) => {
      const f = e.frames[t];
      assert.deepEqual([img.height, img.width, img.channels], f.decoded_shape);
      // TF's default decode (fast IDCT), as libturbojpeg gives it.
      assert.equal(sum(img.data) / img.data.length, f.tf_decode_mean, `clip ${i} frame ${t}`);
      assert.deepEqual(channelMeans(img.data, 3), f.tf_decode_channel_means);
    });
    // The fast IDCT reads about 1.5 levels low on these frames; the accurate one (sharp's) is
    // within 1 level of the pixels the frames were made from (README formula).
    for (let t = 0; t < ex.frames.length; t++) {
      const img = await decodeImage(ex.frames[t], { jpegDecoder: 'sharp' });
      const source = channelMeans(sourceFrame(i, t), 3);
      channelMeans(img.data, 3).forEach((m, c) =>
        assert.ok(
          Math.abs(m - source[c]) < 1.0,
          `clip ${i} frame ${t} channel ${c}: ${m} vs ${source[c]}`,
        ),
      );
    }
    i++;
  }
  assert.equal(i, 2);
});

/** Decodes every record of `file` with the classification decoder, counting successes. */
async function decodeAll(file: string): Promise<{ decoded: number; error: unknown }> {
  const decoder = new ClassificationDecoder();
  let decoded = 0;
  try {
    for await (const rec of readTFRecords(file)) {
      await decoder.decode(rec.data, rec);
      decoded++;
    }
  } catch (err) {
    return { decoded, error: err };
  }
  return { decoded, error: undefined };
}

test('corrupt golden: 3 records decode, then a data-loss error naming file, record 3 and offset', async () => {
  const file = join(GOLDEN, 'corrupt.tfrecord');
  const { decoded, error } = await decodeAll(file);
  assert.equal(decoded, 3); // records_read_before_error_by_tf_data
  assert.ok(error instanceof DataLossError);
  assert.equal(error.kind, 'corrupt-data');
  assert.equal(error.recordIndex, 3);
  assert.equal(error.offset, 12042);
  assert.match(error.message, /record 3 in .*corrupt\.tfrecord at byte offset 12042/);
});

test('truncated golden: 7 records decode, then a truncation error naming record 7 at 34283', async () => {
  const file = join(GOLDEN, 'truncated.tfrecord');
  const { decoded, error } = await decodeAll(file);
  assert.equal(decoded, 7);
  assert.ok(error instanceof DataLossError);
  assert.equal(error.kind, 'truncated');
  assert.equal(error.recordIndex, 7);
  assert.equal(error.offset, 34283);
  assert.match(error.message, /truncated record 7 in .*truncated\.tfrecord at byte offset 34283/);
});
