/** Cutout and RandomErasing geometry on scripted draws (hand-derived rectangles). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../../src/core/random.js';
import { cutout, randomErasing, type Image } from '../../../src/data/ops/index.js';
import { ScriptedRng } from './scripted_rng.js';

function changed(a: Image, b: Image): Set<string> {
  const s = new Set<string>();
  for (let i = 0; i < a.data.length; i++) {
    if (a.data[i] !== b.data[i])
      s.add(`${Math.floor(i / a.channels / a.width)},${Math.floor(i / a.channels) % a.width}`);
  }
  return s;
}

function rect(y0: number, y1: number, x0: number, x1: number): Set<string> {
  const s = new Set<string>();
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) s.add(`${y},${x}`);
  return s;
}

const img8: Image<Uint8Array> = {
  data: new Uint8Array(8 * 8 * 3).fill(7),
  height: 8,
  width: 8,
  channels: 3,
};

test('cutout pad 2 at centre (4, 2): rows [2, 6), cols [0, 4) become 128', () => {
  const out = cutout(img8, 2, new ScriptedRng([0.5, 0.25]));
  assert.deepEqual(changed(img8, out), rect(2, 6, 0, 4));
  assert.ok(Array.from(out.data).every((v) => v === 7 || v === 128));
});

test('random erasing, scripted: area 17.67, aspect 1 -> half sizes 2, centre (3, 3) -> [1, 5)^2', () => {
  const img: Image<Float32Array> = {
    data: new Float32Array(10 * 10 * 3),
    height: 10,
    width: 10,
    channels: 3,
  };
  // coin 0 < 0.25; area = 2 + 0.5 * (100/3 - 2); log-aspect 0 -> aspect 1;
  // half = round(sqrt(17.67) / 2 = 2.10) = 2; centre = trunc(0.5 * (10 - 4)) = 3 each.
  const rng = new ScriptedRng([0, 0.5, 0.5, 0.5, 0.5], 7.5);
  const out = randomErasing(img, rng);
  assert.equal(rng.left, 0);
  assert.deepEqual(changed(img, out), rect(1, 5, 1, 5));
  assert.ok(Array.from(out.data).every((v) => v === 0 || v === 7.5));
});

test('random erasing: coin >= probability leaves the image; seeded runs repeat', () => {
  const img: Image<Float32Array> = {
    data: new Float32Array(12 * 12 * 3),
    height: 12,
    width: 12,
    channels: 3,
  };
  assert.equal(randomErasing(img, new ScriptedRng([0.25])), img);
  const a = randomErasing(img, new Rng(3), { probability: 1 });
  const b = randomErasing(img, new Rng(3), { probability: 1 });
  assert.deepEqual(Array.from(a.data), Array.from(b.data));
  assert.ok(changed(img, a).size > 0);
  assert.throws(() => randomErasing(img8, new Rng(0), { probability: 1 }), /float32/);
});
