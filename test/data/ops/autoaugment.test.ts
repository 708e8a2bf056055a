/**
 * AutoAugment v0 / RandAugment: Model Garden's magnitude -> argument table, sub-policy and layer
 * sampling on scripted draws (results equal the single op applied directly), float in / float
 * out, and determinism for a seed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../../src/core/random.js';
import {
  AUGMENT_OPS,
  AUTOAUGMENT_POLICY_V0,
  autoAugment,
  invert,
  levelToArg,
  randAugment,
  solarize,
  posterize,
  type Image,
} from '../../../src/data/ops/index.js';
import { ScriptedRng } from './scripted_rng.js';

function randomRgb(seed: number, h = 6, w = 7): Image<Uint8Array> {
  const rng = new Rng(seed);
  return {
    data: Uint8Array.from({ length: h * w * 3 }, () => rng.int(256)),
    height: h,
    width: w,
    channels: 3,
  };
}

const K = { cutoutConst: 40, translateConst: 100 };

test('level -> argument (augment.level_to_arg), sign coin u >= 0.5 keeps the sign', () => {
  const keep = () => new ScriptedRng([0.7]);
  const flip = () => new ScriptedRng([0.2]);
  assert.equal(levelToArg('Rotate', 5, keep(), K), 15);
  assert.equal(levelToArg('Rotate', 5, flip(), K), -15);
  assert.ok(Math.abs(levelToArg('ShearX', 10, keep(), K)! - 0.3) < 1e-12);
  assert.equal(levelToArg('TranslateY', 3, flip(), K), -30);
  assert.ok(Math.abs(levelToArg('Color', 5, keep(), K)! - 1.0) < 1e-12);
  assert.ok(Math.abs(levelToArg('Sharpness', 10, keep(), K)! - 1.9) < 1e-12);
  assert.equal(levelToArg('Posterize', 6, keep(), K), 2); // int(2.4)
  assert.equal(levelToArg('Posterize', 2, keep(), K), 0); // int(0.8)
  assert.equal(levelToArg('Solarize', 3, keep(), K), 76); // int(76.8)
  assert.equal(levelToArg('SolarizeAdd', 7, keep(), K), 77);
  assert.equal(levelToArg('Cutout', 5, keep(), K), 20);
  assert.equal(levelToArg('Equalize', 5, keep(), K), null);
});

test('policy v0: 25 two-step sub-policies over the 16 operations', () => {
  assert.equal(AUTOAUGMENT_POLICY_V0.length, 25);
  assert.ok(AUTOAUGMENT_POLICY_V0.every((s) => s.length === 2));
  assert.equal(AUGMENT_OPS.length, 16);
  assert.deepEqual(AUTOAUGMENT_POLICY_V0[22], [
    ['Posterize', 0.8, 2],
    ['Solarize', 0.6, 10],
  ]);
});

test('autoAugment applies the chosen sub-policy step by step with its probabilities', () => {
  const img = randomRgb(1);
  // v0[22]: pick index trunc(0.9 * 25) = 22; Posterize 0.8: u 0.3 + 0.8 >= 1 applies (bits 0);
  // Solarize 0.6: u 0.3 + 0.6 < 1 skips.
  const out = autoAugment(img, new ScriptedRng([0.9, 0.3, 0.3]));
  assert.deepEqual(Array.from(out.data), Array.from(posterize(img, 0).data));
  // Both apply (u 0.5): Solarize at threshold int(10 / 10 * 256) = 256 keeps every value (< 256).
  const both = autoAugment(img, new ScriptedRng([0.9, 0.5, 0.5]));
  assert.deepEqual(Array.from(both.data), Array.from(solarize(posterize(img, 0), 256).data));
});

test('custom policy; float input is clipped, truncated and returned as float32', () => {
  const img = randomRgb(2);
  const f: Image<Float32Array> = { ...img, data: Float32Array.from(img.data, (v) => v + 0.7) };
  f.data[0] = 300;
  f.data[1] = -4;
  const out = autoAugment(f, new Rng(0), { policy: [[['Invert', 1.0, 0]]] });
  assert.ok(out.data instanceof Float32Array);
  const want = invert(img).data;
  want[0] = 0; // 300 -> 255 -> inverted 0
  want[1] = 255; // -4 -> 0 -> 255
  assert.deepEqual(Array.from(out.data), Array.from(want));
  assert.throws(
    () => autoAugment(img, new Rng(0), { policy: [[['Invert', 1.5, 0]]] }),
    /probability 1.5/,
  );
});

test('randAugment: op index over ops + 1 (the last is no-op), magnitude -> argument', () => {
  const img = randomRgb(3);
  const onlySolarize = AUGMENT_OPS.filter((o) => o !== 'Solarize');
  // Candidates [Solarize]: u < 0.5 picks it, u >= 0.5 picks "none". Magnitude 5 -> threshold 128.
  const out = randAugment(img, new ScriptedRng([0.2, 0.7]), {
    magnitude: 5,
    excludeOps: onlySolarize,
  });
  assert.deepEqual(Array.from(out.data), Array.from(solarize(img, 128).data));
  const none = randAugment(img, new ScriptedRng([0.7, 0.9]), { excludeOps: onlySolarize });
  assert.deepEqual(Array.from(none.data), Array.from(img.data));
});

test('randAugment and autoAugment repeat for a seed and run every operation', () => {
  const img = randomRgb(4, 16, 16);
  for (let seed = 0; seed < 30; seed++) {
    const a = randAugment(img, new Rng(seed), { numLayers: 3, magnitude: 9, magnitudeStd: 0.5 });
    const b = randAugment(img, new Rng(seed), { numLayers: 3, magnitude: 9, magnitudeStd: 0.5 });
    assert.deepEqual(Array.from(a.data), Array.from(b.data));
    const c = autoAugment(img, new Rng(seed));
    assert.deepEqual(Array.from(c.data), Array.from(autoAugment(img, new Rng(seed)).data));
  }
  for (const op of AUGMENT_OPS) {
    const others = AUGMENT_OPS.filter((o) => o !== op);
    const out = randAugment(img, new ScriptedRng([0.1, 0.9, 0.5, 0.5, 0.5]), {
      numLayers: 1,
      excludeOps: others,
    });
    assert.equal(out.data.length, img.data.length, op);
  }
});
