/**
 * pasteInstanceMask (Model Garden's mask_ops.paste_instance_masks, v1): a 28x28 mask pasted into
 * a box by hand derivation, and random 28x28 probability masks in float boxes (some crossing the
 * image border, one whose expanded box truncates differently in float32 and float64) against the
 * pixels of MG's algorithm run with OpenCV
 * (test/fixtures/maskrcnn_eval/make_golden.py).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { REPO_ROOT } from '../../helpers.js';
import { pasteInstanceMask } from '../../../src/ops/masks/paste.js';

interface PasteCase {
  box: [number, number, number, number];
  height: number;
  width: number;
  mask: number[][];
  runs: [number, number, number][];
  area: number;
}

/** Foreground pixels as [row, first column, length] runs. */
function runsOf(m: Uint8Array, h: number, w: number): [number, number, number][] {
  const out: [number, number, number][] = [];
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w;) {
      if (!m[y * w + x]) {
        x++;
        continue;
      }
      const s = x;
      while (x < w && m[y * w + x]) x++;
      out.push([y, s, x - s]);
    }
  }
  return out;
}

test('a 28x28 mask (columns 0..9 on) pasted into box [x 10, y 20, w 56, h 28] of a 100x80 image', () => {
  // Hand derivation. scale = 30/28; the box's centre (38, 34) and half sizes 28*30/28 = 30 and
  // 14*30/28 = 15 give the expanded box x 8..68, y 19..49 (int32 truncation), i.e. 61 x 31 pixels
  // (inclusive). The zero-padded 30x30 mask has ones in padded columns 1..10 and rows 1..28.
  // OpenCV's linear resize samples padded column s = (x + 0.5) * 30/61 - 0.5 for output x:
  // the value is s on [0, 1] (0 -> 1) and 11 - s on [10, 11] (1 -> 0), so it is > 0.5 for
  // 0.5 < s < 10.5, i.e. x + 0.5 in (61/30, 11 * 61/30) = (2.033, 22.367): x = 2..21, image
  // columns 8 + 2 .. 8 + 21 = 10..29.
  // Rows: s = (y + 0.5) * 30/31 - 0.5 in (0.5, 28.5): y + 0.5 in (1.033, 29.967): y = 1..29,
  // image rows 19 + 1 .. 19 + 29 = 20..48.
  const mask = new Float32Array(28 * 28);
  for (let y = 0; y < 28; y++) for (let x = 0; x < 10; x++) mask[y * 28 + x] = 1;
  const pasted = pasteInstanceMask(mask, 28, 28, [10, 20, 56, 28], 80, 100);
  const expected: [number, number, number][] = [];
  for (let y = 20; y <= 48; y++) expected.push([y, 10, 20]);
  assert.deepEqual(runsOf(pasted, 80, 100), expected);
});

test("random 28x28 masks pasted into float boxes equal Model Garden's paste (OpenCV resize)", () => {
  const golden = JSON.parse(
    readFileSync(`${REPO_ROOT}/test/fixtures/maskrcnn_eval/golden.json`, 'utf8'),
  ) as { paste: PasteCase[] };
  assert.equal(golden.paste.length, 5);
  for (const c of golden.paste) {
    const pasted = pasteInstanceMask(c.mask.flat(), 28, 28, c.box, c.height, c.width);
    assert.deepEqual(runsOf(pasted, c.height, c.width), c.runs, `box ${c.box.join(', ')}`);
    assert.equal(
      pasted.reduce((a, v) => a + v, 0),
      c.area,
    );
  }
});
