import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  SHAPE_CLASS_NAMES,
  SHAPE_LABEL_MAP,
  generateShapes,
  renderShape,
  type Rgb,
  type ShapeParams,
} from '../../../src/data/synthetic/shapes.js';

const S = 32;

/** Foreground mask recovered from an image: each pixel goes to the nearer of fg/bg in RGB. */
function recoverMask(image: Uint8Array, offset: number, p: ShapeParams, size = S): Uint8Array {
  const mask = new Uint8Array(size * size);
  const d2 = (i: number, c: Rgb) =>
    (image[i] - c[0]) ** 2 + (image[i + 1] - c[1]) ** 2 + (image[i + 2] - c[2]) ** 2;
  for (let q = 0; q < size * size; q++) {
    const i = offset + 3 * q;
    mask[q] = d2(i, p.foreground) < d2(i, p.background) ? 1 : 0;
  }
  return mask;
}

function luma(c: Rgb): number {
  return 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2];
}

/** Pixel centres relative to the shape centre, with the mask value. */
function* pixels(mask: Uint8Array, p: ShapeParams, size = S) {
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      yield {
        dy: y + 0.5 - p.centerY,
        dx: x + 0.5 - p.centerX,
        y,
        x,
        on: mask[y * size + x] === 1,
      };
    }
  }
}

const data = generateShapes({ numExamples: 400, imageSize: S, seed: 7 });
const area = (m: Uint8Array) => m.reduce((a, b) => a + b, 0);

test('label map lists 8 classes in label order', () => {
  assert.equal(SHAPE_CLASS_NAMES.length, 8);
  assert.equal(SHAPE_LABEL_MAP[0], 'circle');
  assert.equal(SHAPE_LABEL_MAP[7], 'diamond');
  assert.deepEqual(data.classNames, SHAPE_CLASS_NAMES);
  assert.deepEqual(data.shape, [400, S, S, 3]);
  assert.equal(data.images.length, 400 * S * S * 3);
});

test('deterministic for a seed, different for another seed', () => {
  const again = generateShapes({ numExamples: 400, imageSize: S, seed: 7 });
  assert.deepEqual(again.images, data.images);
  assert.deepEqual(again.labels, data.labels);
  const other = generateShapes({ numExamples: 400, imageSize: S, seed: 8 });
  let same = 0;
  for (let i = 0; i < other.images.length; i++) if (other.images[i] === data.images[i]) same++;
  assert.ok(same < other.images.length * 0.1, `${same} equal bytes`);
});

test('classes are balanced and shuffled', () => {
  const counts = new Array<number>(8).fill(0);
  for (const l of data.labels) counts[l]++;
  assert.deepEqual(counts, new Array(8).fill(50));
  const odd = generateShapes({ numExamples: 83, seed: 1 });
  const c2 = new Array<number>(8).fill(0);
  for (const l of odd.labels) c2[l]++;
  assert.ok(Math.max(...c2) - Math.min(...c2) <= 1, `counts ${c2}`);
  // not in the periodic 0,1,...,7 order
  assert.ok([...data.labels].some((l, i) => l !== i % 8));
  for (let i = 0; i < 400; i++)
    assert.equal(data.params[i].className, SHAPE_LABEL_MAP[data.labels[i]]);
});

test('every pixel is the shape or background colour plus at most the noise amplitude', () => {
  const noise = 8;
  for (let n = 0; n < 400; n++) {
    const p = data.params[n];
    assert.ok(Math.abs(luma(p.foreground) - luma(p.background)) >= 80, 'contrast');
    for (let q = 0; q < S * S; q++) {
      const i = n * S * S * 3 + 3 * q;
      const near = (c: Rgb) => [0, 1, 2].every((k) => Math.abs(data.images[i + k] - c[k]) <= noise);
      assert.ok(near(p.foreground) || near(p.background), `example ${n} pixel ${q}`);
    }
  }
  // with noise the image is not two flat colours
  const colours = new Set<number>();
  for (let q = 0; q < S * S; q++) colours.add(data.images[3 * q]);
  assert.ok(colours.size > 2);
});

test('shapes lie inside the image with a size of 20..42% of the edge', () => {
  for (const p of data.params) {
    assert.ok(p.size >= 0.2 * S && p.size <= 0.42 * S, `size ${p.size}`);
    assert.ok(p.centerY - p.size >= 0 && p.centerY + p.size <= S);
    assert.ok(p.centerX - p.size >= 0 && p.centerX + p.size <= S);
  }
});

test('geometry: circle, square and diamond pixels are exactly those inside the figure', () => {
  const inside = {
    circle: (dy: number, dx: number, r: number) => dy * dy + dx * dx <= r * r,
    square: (dy: number, dx: number, r: number) => Math.abs(dy) <= r && Math.abs(dx) <= r,
    diamond: (dy: number, dx: number, r: number) => Math.abs(dy) + Math.abs(dx) <= r,
  };
  let checked = 0;
  for (let n = 0; n < 400; n++) {
    const p = data.params[n];
    if (!(p.className in inside)) continue;
    const f = inside[p.className as keyof typeof inside];
    const mask = recoverMask(data.images, n * S * S * 3, p);
    for (const px of pixels(mask, p)) {
      assert.equal(px.on, f(px.dy, px.dx, p.size), `${p.className} #${n} at (${px.y},${px.x})`);
    }
    checked++;
  }
  assert.equal(checked, 150);
});

test('geometry: areas and orientation of the other shapes', () => {
  for (let n = 0; n < 400; n++) {
    const p = data.params[n];
    const r = p.size;
    const mask = recoverMask(data.images, n * S * S * 3, p);
    const a = area(mask);
    let minY = S,
      maxY = -1,
      minX = S,
      maxX = -1;
    for (const px of pixels(mask, p)) {
      if (!px.on) continue;
      // every shape fits in its [-r, r] box
      assert.ok(Math.abs(px.dy) <= r && Math.abs(px.dx) <= r, `${p.className} #${n}`);
      minY = Math.min(minY, px.y);
      maxY = Math.max(maxY, px.y);
      minX = Math.min(minX, px.x);
      maxX = Math.max(maxX, px.x);
    }
    const h = maxY - minY + 1;
    const w = maxX - minX + 1;
    const cy = Math.floor(p.centerY);
    const cx = Math.floor(p.centerX);
    const centreOn = mask[cy * S + cx] === 1;
    switch (p.className) {
      case 'circle':
        assert.ok(Math.abs(a - Math.PI * r * r) < 2 * Math.PI * r + 4, `circle area ${a}`);
        break;
      case 'triangle': {
        // area of base 2r, height 2r: 2r^2; rows widen downwards
        assert.ok(Math.abs(a - 2 * r * r) < 4 * r + 4, `triangle area ${a} vs ${2 * r * r}`);
        const rowWidth = (y: number) => [...Array(S).keys()].filter((x) => mask[y * S + x]).length;
        assert.ok(rowWidth(minY) < rowWidth(maxY), 'apex at the top');
        break;
      }
      case 'ring':
        assert.ok(!centreOn, 'ring has a hole');
        assert.ok(Math.abs(a - Math.PI * r * r * (1 - 0.55 ** 2)) < 4 * Math.PI * r, `ring ${a}`);
        break;
      case 'horizontal_bar':
        assert.ok(w > 2 * h, `horizontal bar ${w}x${h}`);
        break;
      case 'vertical_bar':
        assert.ok(h > 2 * w, `vertical bar ${w}x${h}`);
        break;
      case 'cross':
        assert.ok(centreOn);
        // the corners of the bounding box are background
        for (const [y, x] of [
          [minY, minX],
          [minY, maxX],
          [maxY, minX],
          [maxY, maxX],
        ]) {
          assert.equal(mask[y * S + x], 0, `cross corner (${y},${x})`);
        }
        assert.ok(h > 0.6 * 2 * r && w > 0.6 * 2 * r);
        break;
      default:
        assert.ok(centreOn, `${p.className} covers its centre`);
    }
  }
});

test('renderShape: each class gives a distinct image for the same parameters', () => {
  const common = {
    centerY: 16,
    centerX: 16,
    size: 10,
    foreground: [250, 250, 250] as Rgb,
    background: [10, 20, 30] as Rgb,
    noiseAmplitude: 0,
  };
  const masks = SHAPE_CLASS_NAMES.map((name) => {
    const { image, params } = renderShape(name, common);
    assert.equal(image.length, S * S * 3);
    assert.equal(params.className, name);
    // noise-free: exactly two colours
    const mask = new Uint8Array(S * S);
    for (let q = 0; q < S * S; q++) {
      const px = [image[3 * q], image[3 * q + 1], image[3 * q + 2]];
      if (px.join() === '250,250,250') mask[q] = 1;
      else assert.equal(px.join(), '10,20,30');
    }
    return mask;
  });
  for (let a = 0; a < masks.length; a++) {
    assert.ok(area(masks[a]) > 20, SHAPE_CLASS_NAMES[a]);
    for (let b = a + 1; b < masks.length; b++) {
      let diff = 0;
      for (let q = 0; q < S * S; q++) if (masks[a][q] !== masks[b][q]) diff++;
      assert.ok(diff >= 15, `${SHAPE_CLASS_NAMES[a]} vs ${SHAPE_CLASS_NAMES[b]}: ${diff} pixels`);
    }
  }
});

test('renderShape is seeded and validates its input', () => {
  const a = renderShape('ring', { seed: 3 });
  assert.deepEqual(renderShape('ring', { seed: 3 }), a);
  assert.notDeepEqual(renderShape('ring', { seed: 4 }).image, a.image);
  const big = renderShape('square', { imageSize: 64, seed: 1 });
  assert.equal(big.image.length, 64 * 64 * 3);
  assert.throws(() => renderShape('hexagon' as 'circle'), /unknown shape class 'hexagon'/);
  assert.throws(
    () => renderShape('circle', { imageSize: 8 }),
    /imageSize must be an integer >= 16/,
  );
  assert.throws(
    () => renderShape('circle', { foreground: [0, 0, 300] }),
    /foreground must be three/,
  );
  assert.throws(() => generateShapes({ numExamples: -1 }), /numExamples/);
});
