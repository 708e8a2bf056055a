/**
 * Every format the help texts name decodes (predict: "JPEG, PNG, GIF, WebP, BMP"; the image
 * folder reader: .jpg .jpeg .png .gif .bmp .webp). BMP follows TensorFlow's decode_bmp rules
 * (src/data/decoders/bmp.ts): the files are built byte by byte here, so the expected pixels are
 * known by construction: 24-bit bottom-up rows with padding, 32-bit top-down BGRA, 8-bit indices
 * read as grey (TF ignores the palette), and TF's refusals (size mismatch, 16 bits, channels 1).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { decodeImage, imageSize } from '../../../src/data/decoders/image.js';

/** A BMP: 14-byte file header, 40-byte info header, `extra` bytes (a palette), padded rows. */
function bmp(
  width: number,
  height: number,
  bpp: number,
  rows: number[][],
  extra = new Uint8Array(0),
): Uint8Array {
  const rowSize = Math.floor(((bpp / 8) * width + 3) / 4) * 4;
  const offset = 54 + extra.length;
  const out = new Uint8Array(offset + rowSize * Math.abs(height));
  const v = new DataView(out.buffer);
  out[0] = 0x42; // 'B'
  out[1] = 0x4d; // 'M'
  v.setUint32(2, out.length, true);
  v.setUint32(10, offset, true);
  v.setUint32(14, 40, true);
  v.setInt32(18, width, true);
  v.setInt32(22, height, true);
  v.setUint16(26, 1, true);
  v.setUint16(28, bpp, true);
  out.set(extra, 54);
  rows.forEach((r, i) => out.set(r, offset + i * rowSize));
  return out;
}

test('BMP 24-bit bottom-up: BGR to RGB, rows flipped, row padding skipped', async () => {
  // Stored rows (bottom first): 3 pixels of 3 bytes = 9 bytes, padded to 12.
  const stored = [
    [1, 2, 3, 4, 5, 6, 7, 8, 9],
    [10, 11, 12, 13, 14, 15, 16, 17, 18],
  ];
  const img = await decodeImage(bmp(3, 2, 24, stored));
  assert.deepEqual([img.height, img.width, img.channels], [2, 3, 3]);
  assert.deepEqual(
    Array.from(img.data),
    [12, 11, 10, 15, 14, 13, 18, 17, 16, 3, 2, 1, 6, 5, 4, 9, 8, 7],
  );
  assert.deepEqual(await imageSize(bmp(3, 2, 24, stored)), { height: 2, width: 3, format: 'bmp' });
});

test('BMP 32-bit top-down (negative height): BGRA to RGB, alpha dropped', async () => {
  const stored = [
    [1, 2, 3, 255, 4, 5, 6, 0],
    [7, 8, 9, 128, 10, 11, 12, 64],
  ];
  const img = await decodeImage(bmp(2, -2, 32, stored));
  assert.deepEqual([img.height, img.width], [2, 2]);
  assert.deepEqual(Array.from(img.data), [3, 2, 1, 6, 5, 4, 9, 8, 7, 12, 11, 10]);
});

test('BMP 8-bit: the indices are grey levels, the palette is not read (as TF)', async () => {
  const palette = new Uint8Array(1024).fill(77);
  const img = await decodeImage(bmp(2, 1, 8, [[5, 200]], palette));
  assert.deepEqual(Array.from(img.data), [5, 5, 5, 200, 200, 200]);
});

test('BMP refusals as TF: size mismatch, 16 bits per pixel, channels 1', async () => {
  const good = bmp(3, 2, 24, [[], []]);
  const padded = new Uint8Array(good.length + 2);
  padded.set(good);
  await assert.rejects(decodeImage(padded), /undecodable bmp image .*differs by 2/);
  await assert.rejects(decodeImage(bmp(2, 2, 16, [[], []])), /16 bits per pixel/);
  await assert.rejects(
    decodeImage(good, { channels: 1, key: 'image/encoded' }),
    /feature 'image\/encoded': undecodable bmp image: channels must be 3/,
  );
  await assert.rejects(decodeImage(good.subarray(0, 20)), /incomplete BMP/);
});

test('GIF and WebP decode to the pixels they hold (PNG and JPEG: tested elsewhere)', async () => {
  const w = 4;
  const h = 3;
  const px = new Uint8Array(w * h * 3);
  for (let i = 0; i < w * h; i++) px.set([(i * 40) % 256, 255 - i * 20, i % 2 ? 200 : 30], i * 3);
  const raw = sharp(px, { raw: { width: w, height: h, channels: 3 } });
  for (const [name, bytes] of [
    ['gif', await raw.clone().gif({ colours: 256, dither: 0 }).toBuffer()],
    ['webp', await raw.clone().webp({ lossless: true }).toBuffer()],
  ] as const) {
    const img = await decodeImage(new Uint8Array(bytes));
    assert.deepEqual([img.height, img.width, img.channels], [h, w, 3], name);
    assert.deepEqual(Array.from(img.data), Array.from(px), name);
  }
});
