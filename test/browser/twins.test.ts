/**
 * The browser twins' own behaviour, where Node can run it: the browser host (no files, POSIX
 * joins, gunzip through DecompressionStream), RGBA → RGB/grey, the browser image decoder's BMP
 * path and its refusals, and the Node-only stand-ins' messages. (Decoding through
 * createImageBitmap runs in Chromium: test/browser/page.test.ts.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import * as host from '../../src/core/host.browser.js';
import { rgbaToChannels } from '../../src/core/browser_canvas.js';
import * as browserImage from '../../src/data/decoders/image.browser.js';
import * as nodeImage from '../../src/data/decoders/image.js';
import { loadCheckpoint } from '../../src/api/weights.browser.js';
import { writeFileAtomicSync } from '../../src/core/atomic_write.browser.js';
import { defaultWorkerCount } from '../../src/data/pipeline/spawn_worker.browser.js';
import { tfrecordSource } from '../../src/data/pipeline/tfrecord_source.browser.js';

test('browser host: no file exists, reading one names it, paths join as POSIX', async () => {
  assert.equal(host.fileExists('/etc/hostname'), false);
  assert.equal(host.isFile('/etc/hostname'), false);
  assert.throws(
    () => host.readTextFileSync('cfg/a.yaml'),
    /^Error: reading file 'cfg\/a\.yaml' needs Node: not available in the browser/,
  );
  await assert.rejects(host.readFileBytes('m/model.json'), /reading file 'm\/model\.json'/);
  assert.equal(host.joinPath('runs/a/', '/params.yaml'), 'runs/a/params.yaml');
  assert.equal(host.joinPath('', 'x'), 'x');
  assert.equal(host.extName('maps/coco.pbtxt'), '.pbtxt');
  assert.equal(host.extName('dir.d/name'), '');
  assert.equal(host.extName('.hidden'), '');
  assert.ok(host.cpuCount() >= 1);
});

test('browser host: gunzip through DecompressionStream gives the original bytes', async () => {
  const data = Uint8Array.from({ length: 5000 }, (_, i) => (i * 31) % 251);
  const out = await host.gunzipBytes(new Uint8Array(gzipSync(data)));
  assert.deepEqual(out, data);
});

test('RGBA pixels to RGB (alpha dropped) and grey (TF rgb_to_grayscale weights)', () => {
  const rgba = Uint8Array.of(255, 0, 0, 10, 0, 255, 0, 255, 10, 20, 30, 0);
  assert.deepEqual(
    rgbaToChannels(rgba, 3, 1, 3).data,
    Uint8Array.of(255, 0, 0, 0, 255, 0, 10, 20, 30),
  );
  // By hand: round(0.2989*255) = 76, round(0.587*255) = 150,
  // round(0.2989*10 + 0.587*20 + 0.114*30) = round(18.149) = 18.
  assert.deepEqual(rgbaToChannels(rgba, 3, 1, 1).data, Uint8Array.of(76, 150, 18));
});

/** A 2x2 24-bit bottom-up BMP. */
function bmp(): Uint8Array {
  const rowBytes = 8; // 2 pixels * 3 bytes, padded to 4
  const size = 54 + rowBytes * 2;
  const b = new Uint8Array(size);
  const v = new DataView(b.buffer);
  b.set([0x42, 0x4d]);
  v.setUint32(2, size, true);
  v.setUint32(10, 54, true);
  v.setUint32(14, 40, true);
  v.setInt32(18, 2, true);
  v.setInt32(22, 2, true);
  v.setUint16(26, 1, true);
  v.setUint16(28, 24, true);
  // bottom row first, BGR
  b.set([255, 0, 0, 0, 255, 0], 54);
  b.set([0, 0, 255, 255, 255, 255], 54 + rowBytes);
  return b;
}

test('the browser image decoder: BMP as the Node decoder; unknown bytes refused alike', async () => {
  const want = await nodeImage.decodeImage(bmp());
  const got = await browserImage.decodeImage(bmp());
  assert.deepEqual(got, want);
  await assert.rejects(
    browserImage.decodeImage(Uint8Array.of(1, 2, 3)),
    /not JPEG, PNG, GIF, BMP or WebP/,
  );
  // Node has no createImageBitmap: a PNG fails with the decoder's message, not a TypeError.
  const png = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);
  await assert.rejects(
    browserImage.decodeImage(png),
    /undecodable png image \(no createImageBitmap/,
  );
  assert.deepEqual(await browserImage.imageSize(bmp()), { height: 2, width: 2, format: 'bmp' });
});

test('Node-only stand-ins say what needs Node', async () => {
  await assert.rejects(
    loadCheckpoint(null as never, 'runs/a'),
    /loading checkpoint 'runs\/a' needs Node: not available in the browser \(export it with/,
  );
  assert.throws(() => writeFileAtomicSync('x.yaml', () => {}), /writing file 'x\.yaml' needs Node/);
  assert.equal(await defaultWorkerCount(), 0);
  assert.throws(() => tfrecordSource('d/*.tfrecord'), /reading TFRecord files 'd\/\*\.tfrecord'/);
});

test("tfjs's webgl backend is a dependency; in Node it says it needs a browser", async () => {
  const { initBackend, BackendError } = await import('../../src/core/backend/index.js');
  await assert.rejects(initBackend('webgl'), (err: Error) => {
    assert.ok(err instanceof BackendError);
    assert.equal(err.message, "backend 'webgl' needs a WebGL-capable browser");
    return true;
  });
});
