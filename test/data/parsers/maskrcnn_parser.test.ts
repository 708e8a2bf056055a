/**
 * The Mask R-CNN parser on the hand-labelled two-box record with instance masks: RPN targets
 * (force matching, ignored band, sampling of every candidate when they are fewer than
 * rpn_batch_size_per_im), box targets, GT padding, and the GT mask crops with and without the
 * left-right flip, each value derived by hand below.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../../src/core/random.js';
import { bytesFeature, encodeExample } from '../../../src/core/proto/index.js';
import { decodeExample } from '../../../src/core/proto/index.js';
import { encodePng } from '../../../src/data/decoders/image.js';
import {
  createMaskRCNNParser,
  type MaskRCNNParserOptions,
} from '../../../src/data/parsers/maskrcnn_parser.js';
import type { ParsedFeatures } from '../../../src/data/parsers/features.js';
import { assertClose } from '../../helpers.js';
import { greyPng, twoBoxRecord } from './two_box_record.js';

const H = 32;
const W = 48;

/** Mask 0: 1 in columns x < 16 (every row); mask 1 (the crowd box): all 1. */
async function maskPngs(): Promise<Uint8Array[]> {
  const m0 = new Uint8Array(H * W).map((_, i) => (i % W < 16 ? 1 : 0));
  const m1 = new Uint8Array(H * W).fill(1);
  return Promise.all([m0, m1].map((data) => encodePng({ data, height: H, width: W, channels: 1 })));
}

/** The two-box record with `image/object/mask` added. */
async function recordWithMasks(): Promise<Uint8Array> {
  const base = twoBoxRecord(await greyPng(90));
  const features = decodeExample(base);
  return encodeExample({ ...features, 'image/object/mask': bytesFeature(...(await maskPngs())) });
}

/** An Rng whose first uniform draw is `first` (the flip coin), then a seeded stream. */
class FirstDraw extends Rng {
  private pending: number | null;
  constructor(first: number) {
    super(5);
    this.pending = first;
  }
  override uniform(): number {
    if (this.pending === null) return super.uniform();
    const v = this.pending;
    this.pending = null;
    return v;
  }
}

// The RetinaNet parser test's geometry: 32 x 48 fitted into 16 x 24 (scale 0.5), levels 2
// (4 x 6 cells of 8 x 8 anchors centred at 2 + 4k) and 3 (2 x 3 cells of 16 x 16 at 4 + 8k).
// Box 0 (class 3) becomes [4, 3, 8, 12]; box 1 is a crowd, skipped in training.
const OPTIONS: MaskRCNNParserOptions = {
  output_size: [16, 24],
  min_level: 2,
  max_level: 3,
  num_scales: 1,
  aspect_ratios: [1],
  anchor_size: 2,
  max_num_instances: 3,
  mask_crop_size: 4,
  aug_rand_hflip: true,
};

const flat = (out: ParsedFeatures, name: string) =>
  [2, 3].flatMap((l) => Array.from(out[`${name}/${l}`].data));

for (const flip of [false, true]) {
  test(`train${flip ? ' (flipped)' : ''}: RPN targets, padded GT and the GT mask cropped to its box`, async () => {
    const parse = createMaskRCNNParser(OPTIONS);
    const rng = new FirstDraw(flip ? 0.25 : 0.75);
    const out = await parse(await recordWithMasks(), {
      rng,
      index: 0,
      where: 'r0',
      training: true,
    });
    assert.deepEqual(out['rpn_score_targets/2'].shape, [4, 6, 1]);
    assert.deepEqual(out['rpn_box_targets/3'].shape, [2, 3, 4]);
    assert.deepEqual(out.gt_masks.shape, [3, 4, 4]);
    // Box 0 in output pixels (flipped: x → 24 − x).
    const box = flip ? [4, 12, 8, 21] : [4, 3, 8, 12];
    assertClose(Array.from(out.gt_boxes.data), [...box, ...new Array(8).fill(-1)]);
    assert.deepEqual(Array.from(out.gt_classes.data), [3, -1, -1]);
    // Unflipped: anchor (1, 1) of level 2, [2, 2, 10, 10], has IoU 28/72 = 0.39 < 0.7 and is
    // force-matched (index 7); (1, 2), [2, 6, 10, 14], has 24/76 = 0.316 in [0.3, 0.7): ignored
    // (index 8); every other anchor is below 0.3, a negative. Fewer than 256 candidates: all are
    // sampled. Flipped, the box [4, 12, 8, 21] best matches (1, 4) [2, 14, 10, 22]: 28/72
    // (index 10), and (1, 3) [2, 10, 10, 18] has 24/76 (index 9).
    const [pos, ignored] = flip ? [10, 9] : [7, 8];
    const scores = new Array(30).fill(0);
    scores[pos] = 1;
    scores[ignored] = -1;
    assert.deepEqual(flat(out, 'rpn_score_targets'), scores);
    // Anchor centre (6, 6 or 18), size 8; box centre (6, 7.5 or 16.5), 4 x 9:
    // [0, ±1.5/8, log(4/8), log(9/8)].
    const boxTargets = new Array(120).fill(0);
    boxTargets.splice(4 * pos, 4, 0, flip ? -0.1875 : 0.1875, Math.log(0.5), Math.log(9 / 8));
    assertClose(flat(out, 'rpn_box_targets'), boxTargets, { atol: 1e-6 });
    // The mask crop: box 0 back in the original image is [0.25, 0.125, 0.5, 0.5] (flipped
    // [0.25, 0.5, 0.5, 0.875]); columns sampled at x = 5.875 + 5.875 j (flipped 23.5 + 5.875 j),
    // on a mask that is 1 left of x = 16 (flipped: right of x = 31.5): rows [1, 1, 0, 0]
    // (flipped [0, 0, 1, 1]); padding rows −1.
    const row = flip ? [0, 0, 1, 1] : [1, 1, 0, 0];
    assertClose(Array.from(out.gt_masks.data), [
      ...row,
      ...row,
      ...row,
      ...row,
      ...new Array(32).fill(-1),
    ]);
  });
}

test('eval: groundtruths with every object, masks cropped to their original boxes', async () => {
  const parse = createMaskRCNNParser(OPTIONS);
  const out = await parse(await recordWithMasks(), {
    rng: new Rng(0),
    index: 0,
    where: 'r0',
    training: false,
  });
  assert.equal(out.gt_boxes, undefined);
  assert.deepEqual(Array.from(out['groundtruths/classes'].data), [3, 7, -1]);
  // Mask 1 is all ones, its box [0, 0.5, 1, 1] lies inside the image: all ones.
  const m = Array.from(out['groundtruths/masks'].data);
  assert.deepEqual(m.slice(0, 16), [1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0]);
  assert.deepEqual(m.slice(16, 32), new Array(16).fill(1));
  assert.deepEqual(m.slice(32), new Array(16).fill(-1));
});

test('bad options are named', () => {
  assert.throws(
    () => createMaskRCNNParser({ ...OPTIONS, mask_crop_size: 0 }),
    /maskrcnn parser options\.mask_crop_size/,
  );
  assert.throws(() => createMaskRCNNParser({ ...OPTIONS, nope: 1 }), /nope/);
});
