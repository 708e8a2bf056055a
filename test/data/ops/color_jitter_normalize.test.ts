/** Colour jitter on a hand-traced pixel, and normalisation with MEAN_RGB / STDDEV_RGB. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MEAN_RGB, STDDEV_RGB } from '../../../src/data/in_memory.js';
import { colorJitter, normalizeImage, type Image } from '../../../src/data/ops/index.js';
import { assertClose } from '../../helpers.js';
import { ScriptedRng } from './scripted_rng.js';

test('color jitter: brightness 0.5, contrast 1, saturation 0.5 on (200, 100, 0)', () => {
  const img: Image = {
    data: Uint8Array.from(Array(16).fill([200, 100, 0]).flat()),
    height: 4,
    width: 4,
    channels: 3,
  };
  // factors U(0.5, 1.5) at u = 0, 0.5, 0: 0.5, 1.0, 0.5.
  // brightness -> (100, 50, 0); contrast 1 -> same; grey trunc((100*.2989 + 50*.587)/255*255.5) = 59;
  // saturation: 59 + 0.5 * (v - 59) -> 79, 54, 29.
  const out = colorJitter(img, new ScriptedRng([0, 0.5, 0]), {
    brightness: 0.5,
    contrast: 0.5,
    saturation: 0.5,
  });
  assert.deepEqual(Array.from(out.data.subarray(0, 3)), [79, 54, 29]);
  const same = colorJitter(img, new ScriptedRng([0.3, 0.3, 0.3]));
  assert.deepEqual(Array.from(same.data), Array.from(img.data));
});

test('normalise: (v - MEAN_RGB) / STDDEV_RGB on the 0..255 scale', () => {
  const img: Image = {
    data: Uint8Array.of(0, 128, 255, 124, 116, 104),
    height: 1,
    width: 2,
    channels: 3,
  };
  const out = normalizeImage(img);
  const want = Array.from(
    img.data,
    (v, i) => (v - 255 * [0.485, 0.456, 0.406][i % 3]) / (255 * [0.229, 0.224, 0.225][i % 3]),
  );
  assertClose(out.data, want, { rtol: 1e-5 });
  assert.equal(MEAN_RGB.length, 3);
  assert.equal(STDDEV_RGB.length, 3);
  assert.throws(
    () => normalizeImage({ ...img, channels: 1, width: 6 }),
    /mean has 3 values, the image has 1 channels/,
  );
});
