/**
 * Generated moving-shapes videos (src/data/synthetic/shapes.ts generateMovingShapes): classes are
 * direction x shape, the shape keeps its colours and moves `speed` px per frame along its
 * direction, fully inside the frame; checked from the pixels by hand (the centroid of the
 * foreground colour).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateMovingShapes } from '../../../src/data/synthetic/shapes.js';

test('moving shapes: balanced direction x shape classes; the shape moves speed px per frame', () => {
  const T = 6;
  const S = 32;
  const d = generateMovingShapes({
    numExamples: 16,
    numFrames: T,
    imageSize: S,
    speed: 2,
    noiseAmplitude: 0,
    seed: 5,
  });
  assert.deepEqual(d.shape, [16, T, S, S, 3]);
  assert.deepEqual(d.classNames, [
    'down_circle',
    'down_square',
    'down_triangle',
    'down_cross',
    'up_circle',
    'up_square',
    'up_triangle',
    'up_cross',
  ]);
  const counts = new Array(8).fill(0);
  for (const l of d.labels) counts[l]++;
  assert.deepEqual(counts, new Array(8).fill(2));
  const frame = S * S * 3;
  for (let i = 0; i < 16; i++) {
    const dir = d.classNames[d.labels[i]].startsWith('down') ? 1 : -1;
    // Background: the colour of the corner pixel of frame 0 (the path keeps clear of corners).
    const at = i * T * frame;
    const bg = [0, 1, 2].map((c) => d.videos[at + c]);
    const centroids: [number, number][] = [];
    for (let t = 0; t < T; t++) {
      let sy = 0;
      let sx = 0;
      let n = 0;
      for (let p = 0; p < S * S; p++) {
        const o = at + t * frame + 3 * p;
        if ([0, 1, 2].some((c) => d.videos[o + c] !== bg[c])) {
          sy += Math.floor(p / S);
          sx += p % S;
          n++;
        }
      }
      assert.ok(n > 0, `video ${i} frame ${t} has a shape`);
      centroids.push([sy / n, sx / n]);
    }
    for (let t = 1; t < T; t++) {
      // Rasterisation moves the centroid by about 2 px; x stays (vertical motion only).
      const dy = centroids[t][0] - centroids[t - 1][0];
      assert.ok(Math.abs(dy - 2 * dir) < 0.75, `video ${i} frame ${t}: dy ${dy}`);
      assert.ok(Math.abs(centroids[t][1] - centroids[0][1]) < 0.5, `video ${i} frame ${t}: x`);
    }
  }
});

test('moving shapes: a path that does not fit the frame is an error', () => {
  assert.throws(
    () => generateMovingShapes({ numExamples: 1, numFrames: 16, imageSize: 16, speed: 2 }),
    /does not fit a 16px frame/,
  );
});
