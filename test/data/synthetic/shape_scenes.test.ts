/**
 * Detection scenes of the shapes generator: every box is the exact bounding box of its shape's
 * rasterised mask (recomputed here from shapeMask, which paints the whole image independently),
 * shapes never touch, noise stays within its amplitude of the clean colours, and scenes are a
 * pure function of (seed, split, index).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  SHAPE_CLASS_NAMES,
  resolveSceneOptions,
  shapeMask,
  shapeSceneAt,
} from '../../../src/data/synthetic/shapes.js';

const S = 96;

test('scene boxes and areas are the bounds and pixel counts of each shape mask', () => {
  let objects = 0;
  for (let i = 0; i < 20; i++) {
    const scene = shapeSceneAt(3, 'train', i, { imageSize: S, maxShapes: 5, noiseAmplitude: 0 });
    assert.ok(scene.objects.length >= 1 && scene.objects.length <= 5);
    const owner = new Int8Array(S * S).fill(-1);
    scene.objects.forEach((o, k) => {
      assert.equal(o.params.className, SHAPE_CLASS_NAMES[o.label]);
      const mask = shapeMask(o.params, S);
      let [ymin, xmin, ymax, xmax, area] = [S, S, 0, 0, 0];
      for (let y = 0; y < S; y++) {
        for (let x = 0; x < S; x++) {
          if (!mask[y * S + x]) continue;
          assert.equal(
            owner[y * S + x],
            -1,
            `scene ${i}: shapes ${owner[y * S + x]} and ${k} overlap`,
          );
          owner[y * S + x] = k;
          area++;
          ymin = Math.min(ymin, y);
          xmin = Math.min(xmin, x);
          ymax = Math.max(ymax, y + 1);
          xmax = Math.max(xmax, x + 1);
        }
      }
      assert.deepEqual(o.box, [ymin, xmin, ymax, xmax], `scene ${i} object ${k}`);
      assert.equal(o.area, area);
      objects++;
    });
    // Noise-free: every pixel has its owner's colour or the background.
    for (let p = 0; p < S * S; p++) {
      const c = owner[p] < 0 ? scene.background : scene.objects[owner[p]].params.foreground;
      assert.deepEqual([...scene.image.subarray(3 * p, 3 * p + 3)], c, `scene ${i} pixel ${p}`);
    }
  }
  assert.ok(objects > 20, `only ${objects} objects in 20 scenes`);
});

test('scenes are deterministic per (seed, split, index) and splits differ', () => {
  const a = shapeSceneAt(5, 'train', 7, { imageSize: 64 });
  const b = shapeSceneAt(5, 'train', 7, { imageSize: 64 });
  assert.deepEqual(a.image, b.image);
  assert.deepEqual(a.objects, b.objects);
  assert.notDeepEqual(shapeSceneAt(5, 'val', 7, { imageSize: 64 }).image, a.image);
  assert.notDeepEqual(shapeSceneAt(6, 'train', 7, { imageSize: 64 }).image, a.image);
  // Noise moves each channel by at most its amplitude from the clean scene.
  const clean = shapeSceneAt(5, 'train', 7, { imageSize: 64, noiseAmplitude: 0 });
  const noisy = shapeSceneAt(5, 'train', 7, { imageSize: 64, noiseAmplitude: 4 });
  assert.deepEqual(noisy.objects, clean.objects);
  let changed = 0;
  for (let i = 0; i < clean.image.length; i++) {
    const d = Math.abs(noisy.image[i] - clean.image[i]);
    assert.ok(d <= 4, `channel ${i} moved by ${d}`);
    if (d > 0) changed++;
  }
  assert.ok(changed > clean.image.length / 2);
});

test('bad scene options are rejected naming the field', () => {
  assert.throws(() => resolveSceneOptions({ maxShapes: 0 }), /maxShapes/);
  assert.throws(() => resolveSceneOptions({ minShapes: 0 }), /minShapes/);
  assert.throws(() => resolveSceneOptions({ sizeFraction: [0.3, 0.2] }), /sizeFraction/);
  assert.throws(() => resolveSceneOptions({ imageSize: 8 }), /imageSize/);
  assert.throws(
    () => resolveSceneOptions({ classNames: ['circle', 'blob' as never] }),
    /unknown shape class 'blob'/,
  );
});
