/**
 * COCO128 -> sharded TFRecords (with masks) -> decoded back: every image, box, class, crowd flag,
 * area and mask equals the source JSON; the 16 images of the TF-written detection golden decode
 * to the same values as the golden (masks pixel for pixel, i.e. identical to pycocotools'
 * rasterisation); the direct reader gives the same examples without the TFRecord step.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeExample } from '../../../src/core/proto/index.js';
import { cocoToTfRecord } from '../../../src/data/converters/coco.js';
import type { ConversionSummary } from '../../../src/data/converters/common.js';
import { TfExampleDecoder, type DetectionExample } from '../../../src/data/decoders/detection.js';
import { readCocoDataset } from '../../../src/data/readers/coco.js';
import { readTFRecords } from '../../../src/data/tfrecord/index.js';
import { sharedData } from '../../helpers.js';

const COCO = sharedData('coco128');
const ANNOTATIONS = join(COCO, 'annotations', 'instances_train2017.json');
const IMAGES = join(COCO, 'train2017');
const NUM_SHARDS = 4;
const f32 = Math.fround;
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

interface Json {
  images: { id: number; file_name: string; height: number; width: number }[];
  annotations: {
    image_id: number;
    category_id: number;
    bbox: number[];
    area: number;
    iscrowd: number;
    segmentation: unknown;
  }[];
  categories: { id: number; name: string }[];
}
const source = JSON.parse(readFileSync(ANNOTATIONS, 'utf8')) as Json;

let dir: string;
let summary: ConversionSummary;
/** Decoded converted examples by source id, with their shard and position in it. */
const converted = new Map<string, { ex: DetectionExample; shard: number; features: string[] }>();

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vg-coco128-'));
  summary = await cocoToTfRecord({
    annotationsPath: ANNOTATIONS,
    imagesDir: IMAGES,
    outputPrefix: join(dir, 'coco128', 'train'),
    numShards: NUM_SHARDS,
    includeMasks: true,
  });
  const decoder = new TfExampleDecoder({ includeMask: true, decodeImage: false });
  for (const [shard, file] of summary.files.entries()) {
    for await (const rec of readTFRecords(file)) {
      const ex = await decoder.decode(rec.data, rec);
      converted.set(ex.sourceId, {
        ex,
        shard,
        features: Object.keys(decodeExample(rec.data)).sort(),
      });
    }
  }
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('one example per image, round-robin over Model Garden-named shards', () => {
  assert.deepEqual(
    summary.files.map((f) => f.slice(dir.length + 1)),
    [0, 1, 2, 3].map((i) => `coco128/train-0000${i}-of-00004.tfrecord`),
  );
  assert.equal(summary.numExamples, 128);
  assert.equal(summary.numAnnotationsSkipped, 0); // README: no invalid boxes in COCO128
  assert.equal(converted.size, 128);
  source.images.forEach((im, i) => {
    const c = converted.get(String(im.id));
    assert.ok(c, `image ${im.id} converted`);
    assert.equal(c.shard, i % NUM_SHARDS, `image ${im.id} shard`);
  });
});

test('every box, class, crowd flag and area equals the JSON (Model Garden normalisation)', async () => {
  const names = new Map(source.categories.map((c) => [c.id, c.name]));
  let objects = 0;
  let crowd = 0;
  for (const im of source.images) {
    const { ex, features } = converted.get(String(im.id))!;
    const anns = source.annotations.filter((a) => a.image_id === im.id);
    assert.equal(ex.height, im.height);
    assert.equal(ex.width, im.width);
    assert.equal(ex.numInstances, anns.length, `image ${im.id}`);
    const boxes = anns.flatMap((a) => {
      const [x, y, w, h] = a.bbox;
      return [y / im.height, x / im.width, (y + h) / im.height, (x + w) / im.width].map(f32);
    });
    assert.deepEqual(Array.from(ex.boxes), boxes, `image ${im.id} boxes`);
    assert.deepEqual(
      Array.from(ex.classes),
      anns.map((a) => a.category_id),
    );
    assert.deepEqual(
      ex.isCrowd,
      anns.map((a) => a.iscrowd === 1),
    );
    assert.deepEqual(
      Array.from(ex.areas),
      anns.map((a) => f32(a.area)),
    );
    assert.ok(names.size > 0);
    if (anns.length === 0) {
      assert.ok(
        !features.some((k) => k.startsWith('image/object/')),
        `image ${im.id}: no object keys`,
      );
    }
    assert.equal(sha256(ex.encoded), sha256(await readFile(join(IMAGES, im.file_name))));
    objects += anns.length;
    crowd += anns.filter((a) => a.iscrowd).length;
  }
  assert.equal(objects, 939);
  assert.equal(crowd, 10);
});

test('the 16 golden images decode exactly as the TF-written golden (masks pixel for pixel)', async () => {
  const golden = sharedData('tfrecord-golden');
  const decoder = new TfExampleDecoder({ includeMask: true, decodeImage: false });
  let checked = 0;
  for await (const rec of readTFRecords(join(golden, 'detection-*-of-00002.tfrecord'))) {
    const g = await decoder.decode(rec.data, rec);
    const { ex } = converted.get(g.sourceId)!;
    assert.deepEqual(Array.from(ex.boxes), Array.from(g.boxes));
    assert.deepEqual(Array.from(ex.classes), Array.from(g.classes));
    assert.deepEqual(ex.isCrowd, g.isCrowd);
    assert.deepEqual(Array.from(ex.areas), Array.from(g.areas));
    assert.equal(ex.masks!.length, g.masks!.length);
    assert.ok(Buffer.from(ex.masks!).equals(Buffer.from(g.masks!)), `image ${g.sourceId} masks`);
    checked++;
  }
  assert.equal(checked, 16);
});

test('the direct reader yields the converted examples, without a TFRecord step', async () => {
  let n = 0;
  for await (const ex of readCocoDataset(ANNOTATIONS, IMAGES, { decodeImage: n < 2 })) {
    const { ex: c } = converted.get(ex.sourceId)!;
    assert.equal(ex.sourceId, source.images[n].id.toString());
    assert.deepEqual([ex.height, ex.width, ex.numInstances], [c.height, c.width, c.numInstances]);
    assert.deepEqual(Array.from(ex.boxes), Array.from(c.boxes));
    assert.deepEqual(Array.from(ex.classes), Array.from(c.classes));
    assert.deepEqual(ex.isCrowd, c.isCrowd);
    assert.deepEqual(Array.from(ex.areas), Array.from(c.areas));
    assert.ok(Buffer.from(ex.masks!).equals(Buffer.from(c.masks!)), `image ${ex.sourceId} masks`);
    if (ex.image)
      assert.deepEqual(
        [ex.image.height, ex.image.width, ex.image.channels],
        [ex.height, ex.width, 3],
      );
    n++;
  }
  assert.equal(n, 128);
});

test('all 939 masks: non-empty, inside their COCO box, pixel counts match the RLE / polygon area', () => {
  for (const im of source.images) {
    const { ex } = converted.get(String(im.id))!;
    const anns = source.annotations.filter((a) => a.image_id === im.id);
    const plane = im.height * im.width;
    anns.forEach((a, j) => {
      const m = ex.masks!.subarray(j * plane, (j + 1) * plane);
      let [x0, y0, x1, y1, count] = [Infinity, Infinity, -1, -1, 0];
      for (let y = 0; y < im.height; y++) {
        const row = m.subarray(y * im.width, (y + 1) * im.width);
        const first = row.indexOf(1);
        if (first < 0) continue;
        const last = row.lastIndexOf(1);
        for (let x = first; x <= last; x++) count += row[x];
        x0 = Math.min(x0, first);
        x1 = Math.max(x1, last);
        y0 = Math.min(y0, y);
        y1 = Math.max(y1, y);
      }
      const [bx, by, bw, bh] = a.bbox;
      const where = `image ${im.id} object ${j}`;
      assert.ok(count > 0, `${where}: empty mask`);
      assert.ok(
        x0 >= Math.floor(bx) - 1 && x1 <= Math.ceil(bx + bw),
        `${where}: x range ${x0}..${x1}`,
      );
      assert.ok(
        y0 >= Math.floor(by) - 1 && y1 <= Math.ceil(by + bh),
        `${where}: y range ${y0}..${y1}`,
      );
      if (a.iscrowd) {
        // crowd: an uncompressed RLE; its foreground is the sum of the odd runs
        const runs = (a.segmentation as { counts: number[] }).counts;
        assert.equal(
          count,
          runs.filter((_, i) => i % 2 === 1).reduce((s, v) => s + v, 0),
          where,
        );
      } else {
        // COCO's area is the polygon area: the raster differs by about half the outline.
        const slack = bw + bh + 4;
        assert.ok(Math.abs(count - a.area) <= slack, `${where}: ${count} pixels vs area ${a.area}`);
      }
    });
  }
});
