/**
 * `data coco-to-tfrecord` on hostile inputs (real files): duplicate image ids and annotations of
 * unknown images are errors naming the entry (as `evaluate-coco` rejects them); a `file_name`
 * leading outside `--images` is refused unless `--allow_outside_images`, before any shard is
 * written; `--num_shards` larger than the number of images writes one shard per image.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodePng } from '../../src/data/decoders/image.js';
import { readTFRecords } from '../../src/data/tfrecord/index.js';
import { runData } from './run_data.js';

let dir: string;
let images: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vg-coco-checks-'));
  images = join(dir, 'images');
  await mkdir(images);
  const png = await encodePng({
    data: new Uint8Array(4 * 6 * 3),
    height: 4,
    width: 6,
    channels: 3,
  });
  for (const name of ['a.png', 'b.png', 'c.png']) await writeFile(join(images, name), png);
  // A file beside the images folder, reachable only through '..'.
  await writeFile(join(dir, 'secret.png'), png);
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const image = (id: number, file_name: string) => ({ id, file_name, height: 4, width: 6 });
const ann = (id: number, image_id: number) => ({
  id,
  image_id,
  category_id: 1,
  bbox: [1, 1, 2, 2],
  area: 4,
  iscrowd: 0,
});

async function convert(name: string, json: object, extra: string[] = []) {
  const annotations = join(dir, `${name}.json`);
  await writeFile(annotations, JSON.stringify({ categories: [{ id: 1, name: 'x' }], ...json }));
  const out = join(dir, `out-${name}`);
  const prefix = join(out, 'coco');
  const printed = await runData([
    'coco-to-tfrecord',
    '--annotations',
    annotations,
    '--images',
    images,
    '--output',
    prefix,
    ...extra,
  ]);
  return { printed, out, prefix, annotations };
}

test('duplicate image ids are rejected naming both entries', async () => {
  await assert.rejects(
    convert('dup', { images: [image(7, 'a.png'), image(8, 'b.png'), image(7, 'c.png')] }),
    /dup\.json: images\[2\] repeats image id 7 of images\[0\]/,
  );
});

test('an annotation of an unknown image is rejected naming the annotation', async () => {
  await assert.rejects(
    convert('orphan', { images: [image(7, 'a.png')], annotations: [ann(1, 7), ann(2, 99)] }),
    /orphan\.json: annotations\[1\] \(id 2\): image_id 99 is not in 'images'/,
  );
});

test('file_names leading outside --images are refused unless --allow_outside_images', async () => {
  for (const [i, name] of ['../secret.png', join(dir, 'secret.png')].entries()) {
    const json = { images: [image(1, 'a.png'), image(2, name)], annotations: [ann(1, 2)] };
    const r = convert(`escape${i}`, json);
    await assert.rejects(r, (err: Error) => {
      assert.match(err.message, /image 2 file_name '.*secret\.png' leads outside --images/);
      assert.match(err.message, /--allow_outside_images/);
      return true;
    });
    assert.ok(!existsSync(join(dir, `out-escape${i}`)), 'nothing written');
    const ok = await convert(`escape${i}ok`, json, ['--allow_outside_images', '--num_shards', '1']);
    assert.match(ok.printed, /wrote 2 examples to 1 shard/);
  }
  // A name that only looks like it climbs ('..a.png' inside the folder) is fine.
  await writeFile(
    join(images, '..a.png'),
    await encodePng({ data: new Uint8Array(72), height: 4, width: 6, channels: 3 }),
  );
  const inside = await convert('dots', {
    images: [image(1, '..a.png'), image(2, './sub/../b.png')],
  });
  assert.match(inside.printed, /wrote 2 examples/);
});

test('--num_shards is capped at the number of images', async () => {
  const r = await convert(
    'shards',
    { images: [image(1, 'a.png'), image(2, 'b.png'), image(3, 'c.png')], annotations: [] },
    ['--num_shards', '32'],
  );
  assert.match(r.printed, /wrote 3 examples to 3 shard\(s\)/);
  const files = (await readdir(r.out)).sort();
  assert.deepEqual(
    files,
    [0, 1, 2].map((i) => `coco-0000${i}-of-00003.tfrecord`),
  );
  for (const f of files) {
    let n = 0;
    for await (const rec of readTFRecords(join(r.out, f))) n += rec.data.length > 0 ? 1 : 0;
    assert.equal(n, 1, `${f} holds one example`);
  }
});
