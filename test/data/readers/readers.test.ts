/** Direct readers on bad input: errors name the file (and the COCO entry). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodePng } from '../../../src/data/decoders/image.js';
import { readCocoDataset } from '../../../src/data/readers/coco.js';
import { readImageFolder } from '../../../src/data/readers/image_folder.js';

async function drain<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

test('readImageFolder: an undecodable file and an empty root are named', async () => {
  const root = await mkdtemp(join(tmpdir(), 'vg-folder-'));
  try {
    await assert.rejects(drain(readImageFolder(root)), /no class sub-folders/);
    await mkdir(join(root, 'cat'));
    const png = await encodePng({ data: new Uint8Array(12), height: 2, width: 2, channels: 3 });
    await writeFile(join(root, 'cat', 'a.png'), png);
    await writeFile(join(root, 'cat', 'b.jpg'), 'garbage');
    await assert.rejects(drain(readImageFolder(root)), (err: Error) => {
      assert.ok(err.message.includes(join(root, 'cat', 'b.jpg')), err.message);
      assert.match(err.message, /undecodable image/);
      return true;
    });
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('readCocoDataset: size mismatch, unknown category and malformed JSON are named', async () => {
  const root = await mkdtemp(join(tmpdir(), 'vg-coco-'));
  try {
    await writeFile(
      join(root, 'a.png'),
      await encodePng({ data: new Uint8Array(2 * 3 * 3), height: 2, width: 3, channels: 3 }),
    );
    const write = (json: unknown) => writeFile(join(root, 'ann.json'), JSON.stringify(json));
    const ann = join(root, 'ann.json');
    await write({ images: [{ id: 1, file_name: 'a.png', height: 5, width: 3 }], annotations: [] });
    await assert.rejects(
      drain(readCocoDataset(ann, root)),
      /image 1 .*a\.png\) is 2x3 but .*ann\.json says 5x3/,
    );
    await write({
      images: [{ id: 1, file_name: 'a.png', height: 2, width: 3 }],
      categories: [{ id: 1, name: 'x' }],
      annotations: [
        { id: 9, image_id: 1, category_id: 4, bbox: [0, 0, 1, 1], area: 1, iscrowd: 0 },
      ],
    });
    await assert.rejects(
      drain(readCocoDataset(ann, root)),
      /annotation 9 of image 1 has category_id 4/,
    );
    await write({
      images: [{ id: 1, file_name: 'a.png', height: 2, width: 3 }],
      annotations: [{ id: 3, image_id: 1 }],
    });
    await assert.rejects(
      drain(readCocoDataset(ann, root)),
      /ann\.json: annotations\[0\] \(id 3\): missing numeric category_id/,
    );
    await write({
      images: [{ id: 1, file_name: 'a.png', height: 2, width: 3 }],
      categories: [{ id: 1, name: 'x' }],
      annotations: [
        {
          id: 5,
          image_id: 1,
          category_id: 1,
          bbox: [0, 0, 1, 1],
          area: 1,
          iscrowd: 1,
          segmentation: { counts: [2, 9], size: [2, 3] },
        },
      ],
    });
    await assert.rejects(drain(readCocoDataset(ann, root)), /annotation 5 of image 1: .*6/);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
