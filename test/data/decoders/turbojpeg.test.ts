/**
 * JPEG decoding through libturbojpeg (src/data/decoders/turbojpeg.ts) and the choice between it
 * and sharp. The goldens of TF's default decode are checked in golden.test.ts; here: grey
 * output, the fallback for CMYK, errors, and the decoder choice.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { decodeImage, jpegDecoderInUse } from '../../../src/data/decoders/image.js';
import { sharedData } from '../../helpers.js';

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const coco = async (file: string) =>
  new Uint8Array(await readFile(sharedData('coco128', 'train2017', file)));

test('libturbojpeg is found (.ci/run installs Debian libturbojpeg0)', async () => {
  const used = await jpegDecoderInUse();
  assert.equal(used.decoder, 'turbojpeg');
  assert.match(used.path ?? '', /turbojpeg/);
  assert.deepEqual(await jpegDecoderInUse('sharp'), { decoder: 'sharp' });
});

test("channels 1 is libjpeg's grey output (the Y component), as TF decode_jpeg(channels=1)", async () => {
  // Digests of Pillow 9.4.0 asking libjpeg itself for grey output (accurate IDCT):
  //   im = Image.open(F); im.draft('L', im.size); hashlib.sha256(im.tobytes()).hexdigest()
  // (Image.convert('L') would instead compute luma from RGB, as sharp does.)
  const cases: [string, number, number, string][] = [
    [
      '000000000036.jpg',
      640,
      481,
      '0fb9fcb0b56910c3b3762672da15a063bd8bc9bb4534ddde934dc0cb770a971d',
    ],
    [
      '000000000086.jpg',
      640,
      512,
      '071e913fce1961d4f9faf9df86254f837e11a65da57cf13e6cb83b60a8c8528d',
    ],
  ];
  for (const [file, height, width, digest] of cases) {
    const img = await decodeImage(await coco(file), {
      channels: 1,
      dctMethod: 'INTEGER_ACCURATE',
      jpegDecoder: 'turbojpeg',
    });
    assert.deepEqual([img.height, img.width, img.channels], [height, width, 1], file);
    assert.equal(sha256(img.data), digest, file);
  }
  // For the greyscale JPEG, RGB output is that plane three times.
  const grey = await decodeImage(await coco('000000000086.jpg'), {
    channels: 1,
    jpegDecoder: 'turbojpeg',
  });
  const rgb = await decodeImage(await coco('000000000086.jpg'), { jpegDecoder: 'turbojpeg' });
  assert.deepEqual(
    rgb.data.filter((_, i) => i % 3 === 1),
    grey.data,
  );
});

test('the fast and accurate IDCTs differ by a few levels', async () => {
  const bytes = await coco('000000000009.jpg');
  const fast = await decodeImage(bytes, { jpegDecoder: 'turbojpeg' });
  const accurate = await decodeImage(bytes, {
    dctMethod: 'INTEGER_ACCURATE',
    jpegDecoder: 'turbojpeg',
  });
  let total = 0;
  for (let i = 0; i < fast.data.length; i++) total += Math.abs(fast.data[i] - accurate.data[i]);
  // Over the 128 COCO128 photos the mean absolute difference is 1.21 levels (printed by
  // bench/data_pipeline_decode.ts); a decoder that ignored dctMethod would give 0.
  const mean = total / fast.data.length;
  assert.ok(mean > 0.3 && mean < 3, `mean absolute difference ${mean}`);
  // sharp has only the accurate IDCT.
  const bySharp = await decodeImage(bytes, { jpegDecoder: 'sharp' });
  assert.equal(sha256(bySharp.data), sha256(accurate.data));
});

test('a CMYK JPEG, which TurboJPEG cannot turn into RGB, is decoded by sharp', async () => {
  const pixels = new Uint8Array(16 * 24 * 3).map((_, i) => (i * 37) % 256);
  const cmyk = new Uint8Array(
    await sharp(pixels, { raw: { width: 24, height: 16, channels: 3 } })
      .toColourspace('cmyk')
      .jpeg({ quality: 95 })
      .toBuffer(),
  );
  assert.equal((await sharp(cmyk).metadata()).space, 'cmyk');
  const auto = await decodeImage(cmyk);
  const bySharp = await decodeImage(cmyk, { jpegDecoder: 'sharp' });
  assert.deepEqual([auto.height, auto.width, auto.channels], [16, 24, 3]);
  assert.equal(sha256(auto.data), sha256(bySharp.data));
});

test('undecodable JPEG bytes name the record and key; bad options are refused', async () => {
  const jpeg = await coco('000000000009.jpg');
  const garbage = Uint8Array.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 4, 5, 6, 7, 8]);
  await assert.rejects(
    decodeImage(garbage, { record: { file: 'x.tfrecord', index: 2 }, key: 'image/encoded' }),
    /record 2 of x\.tfrecord.*'image\/encoded': undecodable jpeg image/,
  );
  await assert.rejects(
    decodeImage(jpeg.subarray(0, jpeg.length >> 1), { jpegDecoder: 'turbojpeg' }),
    /undecodable jpeg image \(.*[Pp]remature end/,
  );
  await assert.rejects(
    decodeImage(jpeg, { dctMethod: 'FLOAT' as never }),
    /dctMethod must be 'INTEGER_FAST' or 'INTEGER_ACCURATE', got 'FLOAT'/,
  );
  await assert.rejects(
    decodeImage(jpeg, { jpegDecoder: 'libjpeg' as never }),
    /JPEG decoder must be 'auto', 'turbojpeg' or 'sharp'.*got 'libjpeg'/,
  );
});

test('without the library: auto falls back to sharp, turbojpeg says what to install', () => {
  const image = fileURLToPath(new URL('../../../src/data/decoders/image.js', import.meta.url));
  const jpeg = sharedData('coco128', 'train2017', '000000000009.jpg');
  const script = `
    import { readFileSync } from 'node:fs';
    import { decodeImage, jpegDecoderInUse } from ${JSON.stringify(image)};
    const bytes = new Uint8Array(readFileSync(${JSON.stringify(jpeg)}));
    const auto = await jpegDecoderInUse();
    const img = await decodeImage(bytes);
    let error = '';
    try { await decodeImage(bytes, { jpegDecoder: 'turbojpeg' }); } catch (e) { error = e.message; }
    console.log(JSON.stringify({ auto: auto.decoder, shape: [img.height, img.width], error }));
  `;
  const out = execFileSync(
    process.execPath,
    [...process.execArgv, '--input-type=module', '-e', script],
    {
      encoding: 'utf8',
      env: { ...process.env, VISION_GARDEN_TURBOJPEG: '/nonexistent/libturbojpeg.so.0' },
    },
  );
  const r = JSON.parse(out.trim().split('\n').pop()!) as {
    auto: string;
    shape: number[];
    error: string;
  };
  assert.equal(r.auto, 'sharp');
  assert.deepEqual(r.shape, [480, 640]);
  assert.match(r.error, /libturbojpeg could not be loaded \(install libturbojpeg0/);
});

test('into: pixels go into the start of a large enough buffer, else into a new one', async () => {
  const bytes = await coco('000000000009.jpg'); // 480x640
  const plain = await decodeImage(bytes, { jpegDecoder: 'turbojpeg' });
  const big = new Uint8Array(480 * 640 * 3 + 10).fill(7);
  const intoBig = await decodeImage(bytes, { jpegDecoder: 'turbojpeg', into: big });
  assert.equal(intoBig.data.buffer, big.buffer);
  assert.equal(intoBig.data.length, 480 * 640 * 3);
  assert.deepEqual(intoBig.data, plain.data);
  assert.deepEqual([...big.subarray(480 * 640 * 3)], Array(10).fill(7), 'nothing past the image');
  const small = new Uint8Array(100);
  const intoSmall = await decodeImage(bytes, { jpegDecoder: 'turbojpeg', into: small });
  assert.notEqual(intoSmall.data.buffer, small.buffer);
  assert.deepEqual(intoSmall.data, plain.data);
});

test('warnings: TF decodes damaged but complete streams and fails truncated ones', async () => {
  const jpeg = await coco('000000000009.jpg');
  const original = await decodeImage(jpeg, { jpegDecoder: 'turbojpeg' });
  // Three stray bytes before the first DQT marker: a header warning that libjpeg skips past.
  const dqt = jpeg.findIndex((b, i) => b === 0xff && jpeg[i + 1] === 0xdb);
  const stray = Uint8Array.from([...jpeg.subarray(0, dqt), 1, 2, 3, ...jpeg.subarray(dqt)]);
  const fromStray = await decodeImage(stray, { jpegDecoder: 'turbojpeg' });
  assert.equal(sha256(fromStray.data), sha256(original.data));
  // The middle of the scan cut out, the EOI kept: "premature end of data segment", decoded
  // (with grey where the data is missing), as sharp does too.
  const quarter = jpeg.length >> 2;
  const holed = Uint8Array.from([...jpeg.subarray(0, quarter), ...jpeg.subarray(3 * quarter)]);
  const fromHoled = await decodeImage(holed, {
    jpegDecoder: 'turbojpeg',
    dctMethod: 'INTEGER_ACCURATE',
  });
  const holedBySharp = await decodeImage(holed, { jpegDecoder: 'sharp' });
  assert.deepEqual([fromHoled.height, fromHoled.width], [480, 640]);
  assert.equal(sha256(fromHoled.data), sha256(holedBySharp.data));
  // Truncated after an earlier, harmless warning (whose text is the one TurboJPEG keeps).
  await assert.rejects(
    decodeImage(stray.subarray(0, stray.length >> 1), { jpegDecoder: 'turbojpeg' }),
    /undecodable jpeg image \(Corrupt JPEG data: 3 extraneous bytes before marker 0xdb\)/,
  );
});
