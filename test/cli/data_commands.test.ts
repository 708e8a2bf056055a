/**
 * `vision-garden data ...` commands run through a commander program, on small hand-made inputs
 * whose expected records are known: an image folder, IDX files and a tiny COCO JSON.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { decodeExample } from '../../src/core/proto/index.js';
import { ClassificationDecoder } from '../../src/data/decoders/classification.js';
import { TfExampleDecoder } from '../../src/data/decoders/detection.js';
import { encodePng } from '../../src/data/decoders/image.js';
import { readLabelMap } from '../../src/data/label_map.js';
import { readImageFolder } from '../../src/data/readers/image_folder.js';
import { readTFRecords } from '../../src/data/tfrecord/index.js';
import { runData } from './run_data.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vg-data-cli-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A solid h x w RGB image. */
function solid(h: number, w: number, rgb: [number, number, number]): Uint8Array {
  const data = new Uint8Array(h * w * 3);
  for (let i = 0; i < h * w; i++) data.set(rgb, i * 3);
  return data;
}

test('folder-to-tfrecord: sorted class folders -> labels, pixels, label map; readImageFolder agrees', async () => {
  const root = join(dir, 'folder');
  const classes: Record<string, [string, Uint8Array | 'jpeg'][]> = {
    zebra: [['b.png', solid(3, 5, [1, 2, 3])]],
    ant: [
      ['x.png', solid(2, 4, [200, 100, 50])],
      ['y.jpg', 'jpeg'],
    ],
  };
  for (const [cls, files] of Object.entries(classes)) {
    await mkdir(join(root, cls), { recursive: true });
    for (const [name, pixels] of files) {
      const bytes =
        pixels === 'jpeg'
          ? await sharp(Buffer.from(solid(8, 8, [128, 128, 128])), {
              raw: { width: 8, height: 8, channels: 3 },
            })
              .jpeg({ quality: 95 })
              .toBuffer()
          : await encodePng({
              data: pixels,
              height: name === 'b.png' ? 3 : 2,
              width: name === 'b.png' ? 5 : 4,
              channels: 3,
            });
      await writeFile(join(root, cls, name), bytes);
    }
  }
  await writeFile(join(root, 'ant', 'notes.txt'), 'not an image');
  const prefix = join(dir, 'out', 'folder');
  const out = await runData([
    'folder-to-tfrecord',
    '--input',
    root,
    '--output',
    prefix,
    '--num_shards',
    '2',
  ]);
  assert.match(out, /wrote 3 examples to 2 shard\(s\)/);
  assert.match(out, /2 classes: ant, zebra/);

  const labelMap = await readLabelMap(`${prefix}.label_map.pbtxt`);
  assert.deepEqual(
    [...labelMap.values()].map((i) => [i.id, i.name]),
    [
      [0, 'ant'],
      [1, 'zebra'],
    ],
  );
  // round robin: ant/x.png -> shard 0, ant/y.jpg -> shard 1, zebra/b.png -> shard 0
  const decoder = new ClassificationDecoder();
  const seen: [number, string, number, number[]][] = [];
  for (const shard of [0, 1]) {
    for await (const rec of readTFRecords(`${prefix}-0000${shard}-of-00002.tfrecord`)) {
      const ex = await decoder.decode(rec.data, rec);
      const f = decodeExample(rec.data);
      const text = (k: string) => new TextDecoder().decode(f[k].bytesList![0]);
      seen.push([shard, text('image/filename'), ex.label, [ex.image.height, ex.image.width]]);
      assert.equal(text('image/format'), text('image/filename').endsWith('.jpg') ? 'jpeg' : 'png');
      assert.equal(text('image/class/text'), text('image/filename').split('/')[0]);
      if (text('image/filename') === 'zebra/b.png')
        assert.deepEqual(ex.image.data, solid(3, 5, [1, 2, 3]));
      if (text('image/filename') === 'ant/x.png')
        assert.deepEqual(ex.image.data, solid(2, 4, [200, 100, 50]));
    }
  }
  assert.deepEqual(seen, [
    [0, 'ant/x.png', 0, [2, 4]],
    [0, 'zebra/b.png', 1, [3, 5]],
    [1, 'ant/y.jpg', 0, [8, 8]],
  ]);

  const direct: [string, number][] = [];
  for await (const ex of readImageFolder(root)) direct.push([ex.relativePath, ex.label]);
  assert.deepEqual(direct, [
    ['ant/x.png', 0],
    ['ant/y.jpg', 0],
    ['zebra/b.png', 1],
  ]);
});

/** IDX bytes: big-endian header (type code, dims) then the data. */
function idx(typeCode: number, shape: number[], data: Uint8Array): Uint8Array {
  const header = new DataView(new ArrayBuffer(4 + 4 * shape.length));
  header.setUint8(2, typeCode);
  header.setUint8(3, shape.length);
  shape.forEach((d, i) => header.setUint32(4 + 4 * i, d, false));
  return new Uint8Array([...new Uint8Array(header.buffer), ...data]);
}

test('idx-to-tfrecord: PNG-encoded images decode back to the IDX pixels, labels and names kept', async () => {
  const n = 5;
  const [h, w] = [3, 4];
  const pixels = Uint8Array.from({ length: n * h * w }, (_, i) => (i * 37) % 256);
  const labels = Uint8Array.of(2, 0, 1, 1, 2);
  const imagesPath = join(dir, 'images-idx3-ubyte');
  const labelsPath = join(dir, 'labels-idx1-ubyte');
  await writeFile(imagesPath, idx(0x08, [n, h, w], pixels));
  await writeFile(labelsPath, idx(0x08, [n], labels));
  const prefix = join(dir, 'out', 'mnist');
  const out = await runData([
    'idx-to-tfrecord',
    '--images',
    imagesPath,
    '--labels',
    labelsPath,
    '--output',
    prefix,
    '--num_shards',
    '2',
    '--class_names',
    'zero,one,two',
  ]);
  assert.match(out, /wrote 5 examples to 2 shard\(s\)/);
  const decoder = new ClassificationDecoder();
  const order = [0, 2, 4, 1, 3]; // shard 0 holds examples 0, 2, 4; shard 1 holds 1, 3
  let k = 0;
  for (const shard of [0, 1]) {
    for await (const rec of readTFRecords(`${prefix}-0000${shard}-of-00002.tfrecord`)) {
      const i = order[k++];
      const ex = await decoder.decode(rec.data, rec);
      assert.equal(ex.label, labels[i]);
      const grey = pixels.subarray(i * h * w, (i + 1) * h * w);
      assert.deepEqual(Array.from(ex.image.data.filter((_, j) => j % 3 === 0)), Array.from(grey));
      const f = decodeExample(rec.data);
      assert.equal(
        new TextDecoder().decode(f['image/class/text'].bytesList![0]),
        ['zero', 'one', 'two'][labels[i]],
      );
    }
  }
  assert.equal(k, 5);
  const map = await readLabelMap(`${prefix}.label_map.pbtxt`);
  assert.equal(map.get(2)?.name, 'two');

  await writeFile(labelsPath, idx(0x08, [4], labels.subarray(0, 4)));
  await assert.rejects(
    runData([
      'idx-to-tfrecord',
      '--images',
      imagesPath,
      '--labels',
      labelsPath,
      '--output',
      prefix,
    ]),
    /has 4 labels but .* has 5 images/,
  );
});

test('coco-to-tfrecord: invalid boxes skipped as Model Garden does, polygon and crowd RLE masks', async () => {
  const images = join(dir, 'coco-images');
  await mkdir(images, { recursive: true });
  for (const name of ['a.png', 'b.png']) {
    await writeFile(
      join(images, name),
      await encodePng({ data: solid(4, 6, [9, 9, 9]), height: 4, width: 6, channels: 3 }),
    );
  }
  // Crowd RLE (column-major runs): skip 5 pixels, then 3 ones = column 1 rows 1..3.
  const json = {
    images: [
      { id: 7, file_name: 'a.png', height: 4, width: 6 },
      { id: 8, file_name: 'b.png', height: 4, width: 6 },
    ],
    categories: [
      { id: 1, name: 'cat' },
      { id: 5, name: 'dog' },
    ],
    annotations: [
      {
        id: 1,
        image_id: 7,
        category_id: 5,
        bbox: [1, 1, 3, 2],
        area: 6,
        iscrowd: 0,
        segmentation: [[1, 1, 4, 1, 4, 3, 1, 3]],
      },
      {
        id: 2,
        image_id: 7,
        category_id: 1,
        bbox: [2, 0, 0, 2],
        area: 0,
        iscrowd: 0,
        segmentation: [[2, 0, 2, 2, 2, 0]],
      },
      {
        id: 3,
        image_id: 7,
        category_id: 1,
        bbox: [4, 1, 3, 1],
        area: 3,
        iscrowd: 0,
        segmentation: [[4, 1, 7, 1, 7, 2]],
      },
      {
        id: 4,
        image_id: 7,
        category_id: 1,
        bbox: [1, 1, 1, 3],
        area: 3,
        iscrowd: 1,
        segmentation: { counts: [5, 3, 16], size: [4, 6] },
      },
    ],
  };
  const annotations = join(dir, 'instances.json');
  await writeFile(annotations, JSON.stringify(json));
  const prefix = join(dir, 'out', 'coco');
  const out = await runData([
    'coco-to-tfrecord',
    '--annotations',
    annotations,
    '--images',
    images,
    '--output',
    prefix,
    '--num_shards',
    '1',
    '--include_masks',
  ]);
  assert.match(out, /wrote 2 examples to 1 shard\(s\)/);
  assert.match(out, /skipped 2 invalid annotation\(s\)/); // w = 0, and x + w = 7 > 6
  const decoder = new TfExampleDecoder({ includeMask: true });
  const got: { id: string; n: number; f: string[] }[] = [];
  for await (const rec of readTFRecords(`${prefix}-00000-of-00001.tfrecord`)) {
    const ex = await decoder.decode(rec.data, rec);
    got.push({ id: ex.sourceId, n: ex.numInstances, f: Object.keys(decodeExample(rec.data)) });
    if (ex.sourceId !== '7') continue;
    const f32 = Math.fround;
    assert.deepEqual(
      Array.from(ex.boxes),
      [0.25, 1 / 6, 0.75, 4 / 6, 0.25, 1 / 6, 1, 2 / 6].map(f32),
    );
    assert.deepEqual(Array.from(ex.classes), [5, 1]);
    assert.deepEqual(ex.isCrowd, [false, true]);
    assert.deepEqual(Array.from(ex.areas), [6, 3]);
    const mask = (j: number) => Array.from(ex.masks!.subarray(j * 24, (j + 1) * 24));
    // the integer rectangle (1,1)-(4,3) covers pixel columns 1..3 and rows 1..2
    const rect = new Array<number>(24).fill(0);
    for (const y of [1, 2]) for (const x of [1, 2, 3]) rect[y * 6 + x] = 1;
    assert.deepEqual(mask(0), rect);
    const crowd = new Array<number>(24).fill(0);
    for (const y of [1, 2, 3]) crowd[y * 6 + 1] = 1;
    assert.deepEqual(mask(1), crowd);
  }
  assert.deepEqual(
    got.map((g) => [g.id, g.n]),
    [
      ['7', 2],
      ['8', 0],
    ],
  );
  assert.ok(!got[1].f.some((k) => k.startsWith('image/object/')));
  assert.ok((await readFile(`${prefix}-00000-of-00001.tfrecord`)).length > 0);

  await assert.rejects(
    runData([
      'coco-to-tfrecord',
      '--annotations',
      annotations,
      '--images',
      images,
      '--output',
      prefix,
      '--num_shards',
      '0',
    ]),
    /expected a positive integer, got '0'/,
  );
});

test('segmentation-to-tfrecord: coco layout through the CLI prints shards and the label map; a bad layout is refused', async () => {
  const root = join(dir, 'segcoco');
  await mkdir(root, { recursive: true });
  await writeFile(
    join(root, 'im.png'),
    await encodePng({ data: solid(2, 2, [5, 6, 7]), height: 2, width: 2, channels: 3 }),
  );
  const json = {
    images: [{ id: 3, file_name: 'im.png', height: 2, width: 2 }],
    categories: [{ id: 7, name: 'cat' }],
    annotations: [],
  };
  await writeFile(join(root, 'instances.json'), JSON.stringify(json));
  const prefix = join(dir, 'segcoco-out', 'train');
  const printed = await runData([
    'segmentation-to-tfrecord',
    '--layout',
    'coco',
    '--annotations',
    join(root, 'instances.json'),
    '--images',
    root,
    '--output',
    prefix,
  ]);
  assert.match(printed, /wrote 1 examples to 1 shard\(s\)/);
  assert.match(printed, /label map: .*train\.label_map\.pbtxt/);
  await assert.rejects(
    runData(['segmentation-to-tfrecord', '--layout', 'ade20k', '--output', prefix]),
    /expected voc, cityscapes, coco or shapes, got 'ade20k'/,
  );
});
