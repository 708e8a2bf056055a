/**
 * The segmentation converter on hand-made VOC, Cityscapes and COCO layouts: the label maps read
 * back through Model Garden's segmentation decoder equal the ids written (VOC palette indices
 * from a palette PNG encoded here byte by byte; Cityscapes train ids; COCO categories by the
 * documented overlap and crowd rule).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { decodeExample } from '../../../src/core/proto/index.js';
import { encodeGrayPng, encodePng } from '../../../src/data/decoders/image.js';
import { SegmentationDecoder } from '../../../src/data/decoders/segmentation.js';
import { readLabelMap } from '../../../src/data/label_map.js';
import { segmentationToTfRecord } from '../../../src/data/converters/segmentation.js';
import { readTFRecords } from '../../../src/data/tfrecord/index.js';
import {
  generateShapes,
  SHAPE_CLASS_NAMES,
  shapeMask,
} from '../../../src/data/synthetic/shapes.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vg-seg-conv-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function crc32(bytes: Uint8Array): number {
  let c = ~0;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return ~c >>> 0;
}

function chunk(type: string, data: Uint8Array): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

/** An 8-bit palette PNG (colour type 3) of `indices` [h, w] with `palette` RGB triples. */
function palettePng(indices: number[][], palette: number[][]): Uint8Array {
  const h = indices.length;
  const w = indices[0].length;
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr.set([8, 3, 0, 0, 0], 8);
  const raw = Buffer.concat(indices.map((row) => Buffer.from([0, ...row])));
  return Buffer.concat([
    Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]),
    chunk('IHDR', ihdr),
    chunk('PLTE', Buffer.from(palette.flat())),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** The VOC colour map's first entries (bit-interleaved), enough for indices 0..2 and 255. */
function vocPalette(): number[][] {
  const pal: number[][] = [];
  for (let i = 0; i < 256; i++) {
    let [r, g, b, c] = [0, 0, 0, i];
    for (let j = 7; j >= 0; j--) {
      r |= (c & 1) << j;
      g |= ((c >> 1) & 1) << j;
      b |= ((c >> 2) & 1) << j;
      c >>= 3;
    }
    pal.push([r, g, b]);
  }
  return pal;
}

async function decodedLabels(prefix: string, shards = 1): Promise<number[][]> {
  const decoder = new SegmentationDecoder();
  const out: number[][] = [];
  for (let s = 0; s < shards; s++) {
    const file = `${prefix}-${String(s).padStart(5, '0')}-of-${String(shards).padStart(5, '0')}.tfrecord`;
    for await (const rec of readTFRecords(file)) {
      const ex = await decoder.decode(rec.data, rec);
      out.push(Array.from(ex.label));
    }
  }
  return out;
}

const rgb = (h: number, w: number) =>
  encodePng({ data: new Uint8Array(h * w * 3).fill(90), height: h, width: w, channels: 3 });

test('voc: palette indices (255 boundary) stored as greyscale ids, in ImageSets order', async () => {
  const root = join(dir, 'voc');
  await mkdir(join(root, 'ImageSets', 'Segmentation'), { recursive: true });
  await mkdir(join(root, 'JPEGImages'), { recursive: true });
  await mkdir(join(root, 'SegmentationClass'), { recursive: true });
  const maps: Record<string, number[][]> = {
    b: [
      [0, 1, 1],
      [255, 2, 0],
    ],
    a: [
      [2, 2, 2],
      [0, 0, 255],
    ],
  };
  for (const [id, m] of Object.entries(maps)) {
    // JPEG content is irrelevant here: the converter stores the file's bytes.
    await writeFile(join(root, 'JPEGImages', `${id}.jpg`), await rgb(2, 3));
    await writeFile(join(root, 'SegmentationClass', `${id}.png`), palettePng(m, vocPalette()));
  }
  await writeFile(join(root, 'ImageSets', 'Segmentation', 'val.txt'), 'b\na\n');
  const prefix = join(dir, 'out', 'voc');
  const summary = await segmentationToTfRecord({
    layout: 'voc',
    root,
    split: 'val',
    outputPrefix: prefix,
  });
  assert.equal(summary.numExamples, 2);
  assert.deepEqual(await decodedLabels(prefix), [maps.b.flat(), maps.a.flat()]);
  // MG's decoder keys and DeepLab's extra keys are present.
  for await (const rec of readTFRecords(summary.files[0])) {
    const f = decodeExample(rec.data);
    assert.deepEqual(
      ['image/filename', 'image/format', 'image/segmentation/class/format'].map((k) =>
        Buffer.from((f[k].bytesList as Uint8Array[])[0]).toString(),
      ),
      ['b.jpg', 'png', 'png'],
    );
    break;
  }
});

test('cityscapes: labelTrainIds PNGs paired by name across cities, sorted', async () => {
  const root = join(dir, 'cs');
  const ids: Record<string, number[]> = {
    'aachen/aachen_000000_000019': [0, 18, 255, 7],
    'bonn/bonn_000001_000019': [3, 3, 1, 255],
  };
  for (const [name, label] of Object.entries(ids)) {
    const [city] = name.split('/');
    await mkdir(join(root, 'leftImg8bit', 'val', city), { recursive: true });
    await mkdir(join(root, 'gtFine', 'val', city), { recursive: true });
    await writeFile(join(root, 'leftImg8bit', 'val', `${name}_leftImg8bit.png`), await rgb(2, 2));
    await writeFile(
      join(root, 'gtFine', 'val', `${name}_gtFine_labelTrainIds.png`),
      await encodeGrayPng(Uint8Array.from(label), 2, 2),
    );
  }
  const prefix = join(dir, 'out', 'cs');
  await segmentationToTfRecord({
    layout: 'cityscapes',
    root,
    split: 'val',
    outputPrefix: prefix,
    numShards: 2,
  });
  // Example i in shard i % 2: aachen in shard 0, bonn in shard 1.
  assert.deepEqual(await decodedLabels(prefix, 2), Object.values(ids));
});

test('coco: contiguous classes, smaller instances on top of larger ones, crowds ignored', async () => {
  const root = join(dir, 'coco');
  await mkdir(root, { recursive: true });
  await writeFile(join(root, 'im.png'), await rgb(4, 6));
  const poly = (x0: number, y0: number, x1: number, y1: number) => [
    [x0, y0, x1, y0, x1, y1, x0, y1],
  ];
  const json = {
    images: [{ id: 1, file_name: 'im.png', height: 4, width: 6 }],
    categories: [
      { id: 90, name: 'toothbrush' },
      { id: 1, name: 'person' },
      { id: 18, name: 'dog' },
    ],
    annotations: [
      // small dog (class 2) listed first, a large person (class 1) over it: the dog stays on top.
      {
        id: 1,
        image_id: 1,
        category_id: 18,
        bbox: [1, 1, 2, 2],
        area: 4,
        segmentation: poly(1, 1, 3, 3),
      },
      {
        id: 2,
        image_id: 1,
        category_id: 1,
        bbox: [0, 0, 4, 4],
        area: 16,
        segmentation: poly(0, 0, 4, 4),
      },
      // a crowd toothbrush region in the last column.
      {
        id: 3,
        image_id: 1,
        category_id: 90,
        bbox: [5, 0, 1, 4],
        area: 4,
        iscrowd: 1,
        segmentation: { size: [4, 6], counts: [20, 4] },
      },
    ],
  };
  await writeFile(join(root, 'instances.json'), JSON.stringify(json));
  const prefix = join(dir, 'out', 'coco');
  const summary = await segmentationToTfRecord({
    layout: 'coco',
    annotationsPath: join(root, 'instances.json'),
    imagesDir: root,
    outputPrefix: prefix,
  });
  // Sorted category ids 1, 18, 90 -> classes 1, 2, 3 (0 background).
  assert.deepEqual(await decodedLabels(prefix), [
    [1, 1, 1, 1, 0, 255, 1, 2, 2, 1, 0, 255, 1, 2, 2, 1, 0, 255, 1, 1, 1, 1, 0, 255],
  ]);
  const map = await readLabelMap(summary.labelMapPath as string);
  assert.deepEqual(
    [...map.values()].map((v) => v.name),
    ['background', 'person', 'dog', 'toothbrush'],
  );
});

test('bad inputs: an RGB label map, a size mismatch, a missing list name the file', async () => {
  const root = join(dir, 'bad');
  await mkdir(join(root, 'ImageSets', 'Segmentation'), { recursive: true });
  await mkdir(join(root, 'JPEGImages'), { recursive: true });
  await mkdir(join(root, 'SegmentationClass'), { recursive: true });
  await writeFile(join(root, 'ImageSets', 'Segmentation', 'train.txt'), 'x\n');
  await writeFile(join(root, 'JPEGImages', 'x.jpg'), await rgb(2, 3));
  await writeFile(join(root, 'SegmentationClass', 'x.png'), await rgb(2, 3));
  const prefix = join(dir, 'out', 'bad');
  await assert.rejects(
    segmentationToTfRecord({ layout: 'voc', root, outputPrefix: prefix }),
    /x\.png: a label map must be a greyscale or palette PNG \(PNG colour type 2\)/,
  );
  await writeFile(
    join(root, 'SegmentationClass', 'x.png'),
    await encodeGrayPng(new Uint8Array(4), 2, 2),
  );
  await assert.rejects(
    segmentationToTfRecord({ layout: 'voc', root, outputPrefix: prefix }),
    /x\.jpg .*the image is 2x3 but its label map is 2x2/,
  );
  await assert.rejects(
    segmentationToTfRecord({ layout: 'voc', root, split: 'nope', outputPrefix: prefix }),
    /cannot read the VOC split list .*nope\.txt/,
  );
});

test('shapes: generated images with label maps 1 + class inside the shape mask', async () => {
  const prefix = join(dir, 'out', 'shapes');
  const summary = await segmentationToTfRecord({
    layout: 'shapes',
    numExamples: 3,
    imageSize: 16,
    seed: 5,
    outputPrefix: prefix,
  });
  const ds = generateShapes({ numExamples: 3, imageSize: 16, seed: 5 });
  const want = ds.params.map((p, i) =>
    Array.from(shapeMask(p, 16), (inside) => (inside ? ds.labels[i] + 1 : 0)),
  );
  assert.deepEqual(await decodedLabels(prefix), want);
  const map = await readLabelMap(summary.labelMapPath as string);
  assert.equal(map.get(0)?.name, 'background');
  assert.equal(map.get(1)?.name, SHAPE_CLASS_NAMES[0]);
});
