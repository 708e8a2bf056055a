/**
 * decodeImage ignores embedded ICC profiles, as TF's decode_jpeg / decode_image do. The expected
 * digests are of Pillow 9.4.0's decode (libjpeg-turbo 2.1.5, accurate integer IDCT, i.e. TF's
 * dct_method='INTEGER_ACCURATE'; tfrecord-golden/README.md shows the two bit-identical), made with
 *   /usr/bin/python3 -c "import hashlib; from PIL import Image; \
 *     print(hashlib.sha256(Image.open(F).convert('RGB').tobytes()).hexdigest())"
 * Applying the profiles instead (sharp's default) changes these pixels by up to 138 levels.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { decodeImage } from '../../../src/data/decoders/image.js';
import { sharedData } from '../../helpers.js';

const PIL_RGB_SHA256: [string, number, number, boolean, string][] = [
  // file, height, width, has an ICC profile, sha256 of Pillow's RGB bytes
  [
    '000000000036.jpg',
    640,
    481,
    true,
    'a67c6b1a6b8885dcfdcabfb640d8096d058de434c21e0cedc84e8cc8ce23e811',
  ],
  [
    '000000000061.jpg',
    488,
    640,
    true,
    'f500c93494f98b6141b3f91f05d29206364daae83e99dc33d24ad2ca0cd17d78',
  ],
  // greyscale JPEG expanded to RGB
  [
    '000000000086.jpg',
    640,
    512,
    false,
    'e14d758f196ea77e70c951b7d349608e89354bf37cc5680bc0f76b837a9e04ed',
  ],
];

test('COCO JPEGs with ICC profiles decode to the pixels of TF / Pillow (profile not applied)', async () => {
  for (const [file, height, width, hasProfile, sha] of PIL_RGB_SHA256) {
    const bytes = new Uint8Array(await readFile(sharedData('coco128', 'train2017', file)));
    assert.equal(Boolean((await sharp(bytes).metadata()).hasProfile), hasProfile, file);
    // Both decoders, with the accurate IDCT of these digests.
    for (const jpegDecoder of ['turbojpeg', 'sharp'] as const) {
      const img = await decodeImage(bytes, {
        channels: 3,
        dctMethod: 'INTEGER_ACCURATE',
        jpegDecoder,
      });
      const where = `${file} (${jpegDecoder})`;
      assert.deepEqual([img.height, img.width, img.channels], [height, width, 3], where);
      assert.equal(createHash('sha256').update(img.data).digest('hex'), sha, where);
    }
  }
});
