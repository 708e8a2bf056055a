/**
 * The RetinaNet parser: a hand-labelled synthetic record (keys, shapes, force matching, crowd
 * skipping, eval groundtruths), and the golden COCO detection TFRecords through the worker
 * pipeline, with every anchor's label re-derived here by brute-force IoU from the values
 * TensorFlow read out of the records (detection.expected.json).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Rng } from '../../../src/core/random.js';
import {
  createRetinaNetParser,
  retinaNetParserRef,
  type RetinaNetParserOptions,
} from '../../../src/data/parsers/retinanet_parser.js';
import type { ParsedFeatures } from '../../../src/data/parsers/features.js';
import { ParallelPipeline } from '../../../src/data/pipeline/parallel_pipeline.js';
import { tfrecordSource } from '../../../src/data/pipeline/tfrecord_source.js';
import type { HostBatch } from '../../../src/data/pipeline/types.js';
import { assertClose, sharedData } from '../../helpers.js';
import { ScriptedRng } from '../ops/scripted_rng.js';
import { greyPng, twoBoxRecord } from './two_box_record.js';

// ---------------------------------------------------------------------------------------------
// Hand-labelled case. A 32 x 48 image fitted into 16 x 24 (scale 0.5; already a multiple of 8,
// so no padding with max_level 3). Levels 2 (4 x 6 cells of 8 x 8 anchors centred at 2 + 4k) and
// 3 (2 x 3 cells of 16 x 16 anchors centred at 4 + 8k): 24 + 6 anchors.
//   box 0, class 3: [8, 6, 16, 24] px -> [4, 3, 8, 12]. Best anchor: level-2 cell (1, 1)
//     [2, 2, 10, 10], IoU 28 / 72 < 0.5, so only force matching makes it positive (anchor 7).
//   box 1, class 7, crowd: [0, 24, 32, 48] -> [0, 12, 16, 24]. Best: level-3 cells (0, 2) and
//     (1, 2), both IoU 144 / 304; the first, anchor 24 + 2 = 26, is forced.
const png = await greyPng(90);
const record = twoBoxRecord(png);
const small: RetinaNetParserOptions = {
  output_size: [16, 24],
  min_level: 2,
  max_level: 3,
  num_scales: 1,
  aspect_ratios: [1],
  anchor_size: 2,
  max_num_instances: 3,
};

const flat = (out: ParsedFeatures, name: string, levels: number[]) =>
  levels.flatMap((l) => Array.from(out[`${name}/${l}`].data));

test('eval: per-level keys and shapes, force-matched boxes, groundtruths padded', async () => {
  const parse = createRetinaNetParser(small);
  const out = await parse(record, { rng: new Rng(0), index: 0, where: 'r0', training: false });
  assert.deepEqual(out['cls_targets/2'].shape, [4, 6, 1]);
  assert.deepEqual(out['cls_targets/3'].shape, [2, 3, 1]);
  assert.deepEqual(out['box_targets/2'].shape, [4, 6, 4]);
  assert.deepEqual(out['anchor_boxes/3'].shape, [2, 3, 4]);
  assert.deepEqual(out.cls_weights.shape, [30]);
  assert.deepEqual(out.image.shape, [16, 24, 3]);
  const cls = flat(out, 'cls_targets', [2, 3]);
  const expected = new Array(30).fill(-1);
  expected[7] = 3;
  expected[26] = 7;
  assert.deepEqual(cls, expected);
  assert.deepEqual(
    Array.from(out.box_weights.data),
    expected.map((c) => (c === -1 ? 0 : 1)),
  );
  assert.deepEqual(Array.from(out.cls_weights.data), new Array(30).fill(1));
  assert.deepEqual(Array.from(out.num_positives.data), [2]);
  // anchor 7 [2, 2, 10, 10] (centre 6, 6) and box [4, 3, 8, 12] (centre 6, 7.5; 4 x 9)
  assertClose(out['box_targets/2'].data.subarray(28, 32), [
    0,
    0.1875,
    Math.log(0.5),
    Math.log(9 / 8),
  ]);
  assert.deepEqual(Array.from(out['anchor_boxes/2'].data.subarray(28, 32)), [2, 2, 10, 10]);
  // groundtruths: original pixels, all objects, padded to max_num_instances = 3
  assert.deepEqual(Array.from(out['groundtruths/source_id'].data), [42]);
  assert.deepEqual(Array.from(out['groundtruths/num_detections'].data), [2]);
  assert.deepEqual(Array.from(out['groundtruths/height'].data), [32]);
  assert.deepEqual(Array.from(out['groundtruths/width'].data), [48]);
  assert.deepEqual(
    Array.from(out['groundtruths/boxes'].data),
    [8, 6, 16, 24, 0, 24, 32, 48, -1, -1, -1, -1],
  );
  assert.deepEqual(Array.from(out['groundtruths/classes'].data), [3, 7, -1]);
  // no image/object/area: the decoder's box area in pixels (0.25 * 0.375 and 1 * 0.5 of 32 x 48)
  assert.deepEqual(Array.from(out['groundtruths/areas'].data), [144, 768, -1]);
  assert.deepEqual(Array.from(out['groundtruths/is_crowds'].data), [0, 1, 0]);
  assertClose(out['groundtruths/image_info'].data, [32, 48, 16, 24, 0.5, 0.5, 0, 0]);
});

test('train: the crowd box is skipped, so only anchor 7 is positive; no groundtruths', async () => {
  const parse = createRetinaNetParser(small);
  const out = await parse(record, { rng: new Rng(0), index: 0, where: 'r0', training: true });
  const cls = flat(out, 'cls_targets', [2, 3]);
  assert.deepEqual(
    cls.flatMap((c, i) => (c === -1 ? [] : [[i, c]])),
    [[7, 3]],
  );
  assert.deepEqual(Array.from(out.num_positives.data), [1]);
  assert.equal(Object.keys(out).filter((k) => k.startsWith('groundtruths/')).length, 0);
});

test('eval: a source id that is not an int32 number is an error naming the record', async () => {
  const parse = createRetinaNetParser(small);
  for (const id of ['coco_42', '0x2a', '4294967296']) {
    const bad = twoBoxRecord(png, id, false);
    await assert.rejects(
      parse(bad, { rng: new Rng(0), index: 0, where: 'shard-3 record 9', training: false }),
      (err: Error) => /shard-3 record 9/.test(err.message) && /image\/source_id/.test(err.message),
    );
  }
});

test('options are checked when the reference is made, naming the field', () => {
  assert.throws(
    () => retinaNetParserRef({ ...small, min_level: 4 }),
    /min_level must be an integer in \[0, max_level 3\]/,
  );
  assert.throws(
    () => retinaNetParserRef({ ...small, keep_aspect_ratio: false }),
    /keep_aspect_ratio/,
  );
  assert.throws(
    () => retinaNetParserRef({ ...small, unmatched_threshold: 0.6 }),
    /unmatched_threshold 0.6 is above/,
  );
  assert.throws(
    () => retinaNetParserRef({ ...small, pad: false, output_size: [16, 22] }),
    /width 22/,
  );
  assert.throws(
    () => retinaNetParserRef({ ...small, aug_type: 'autoaug' } as RetinaNetParserOptions),
    /unknown option 'aug_type'/,
  );
});

// ---------------------------------------------------------------------------------------------
// Golden COCO records. The parser's labels are compared with an independent brute force in
// float64: anchors from their definition, ground truth from TensorFlow's decoded boxes moved by
// image_info, IoU of every anchor with every box, argmax (first on ties), thresholds, forced
// matches, and the box code of each target.

interface GoldenRecord {
  source_id: string;
  height: number;
  width: number;
  num_objects: number;
  boxes_ymin_xmin_ymax_xmax: number[][];
  classes: number[];
  is_crowd: boolean[];
  areas: number[];
}
const golden = JSON.parse(
  readFileSync(sharedData('tfrecord-golden', 'detection.expected.json'), 'utf8'),
) as { shards: { records: GoldenRecord[] }[] };
const bySourceId = new Map(golden.shards.flatMap((s) => s.records).map((r) => [r.source_id, r]));

const OUT = 256;
const LEVELS = [3, 4, 5, 6, 7];
const options: RetinaNetParserOptions = { output_size: [OUT, OUT] }; // MG defaults otherwise

/** Model Garden's anchors by their definition, float64, level / y / x / scale / ratio order. */
function referenceAnchors(): number[][] {
  const out: number[][] = [];
  for (const level of LEVELS) {
    const s = 2 ** level;
    for (let y = s / 2; y < OUT; y += s) {
      for (let x = s / 2; x < OUT; x += s) {
        for (const scale of [0, 1, 2]) {
          for (const ratio of [0.5, 1, 2]) {
            const size = 4 * s * 2 ** (scale / 3);
            const hh = size / Math.sqrt(ratio) / 2;
            const hw = (size * Math.sqrt(ratio)) / 2;
            out.push([y - hh, x - hw, y + hh, x + hw]);
          }
        }
      }
    }
  }
  return out;
}
const ANCHORS = referenceAnchors();

function iou(a: number[], b: number[]): number {
  const ih = Math.min(a[2], b[2]) - Math.max(a[0], b[0]);
  const iw = Math.min(a[3], b[3]) - Math.max(a[1], b[1]);
  if (ih <= 0 || iw <= 0) return 0;
  const inter = ih * iw;
  return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter);
}

/** TF's normalised boxes of `r` moved into the output image by `info` (and flipped). */
function groundTruthInOutput(
  r: GoldenRecord,
  info: ArrayLike<number>,
  flip: boolean,
  skipCrowd: boolean,
) {
  const [, , dh, dw, sy, sx, oy, ox] = Array.from(info);
  const boxes: number[][] = [];
  const classes: number[] = [];
  r.boxes_ymin_xmin_ymax_xmax.forEach((b, i) => {
    if (skipCrowd && r.is_crowd[i]) return;
    const [x0, x1] = flip ? [1 - b[3], 1 - b[1]] : [b[1], b[3]];
    const clip = (v: number, hi: number) => Math.max(0, Math.min(v, hi));
    const box = [
      clip(b[0] * r.height * sy - oy, dh),
      clip(x0 * r.width * sx - ox, dw),
      clip(b[2] * r.height * sy - oy, dh),
      clip(x1 * r.width * sx - ox, dw),
    ];
    if (box[2] > box[0] && box[3] > box[1]) {
      boxes.push(box);
      classes.push(r.classes[i]);
    }
  });
  return { boxes, classes };
}

/** Faster R-CNN code of box `t` against anchor `a` (1e-8 added to the sizes, as the labeller). */
function code(a: number[], t: number[]): number[] {
  const [ha, wa] = [a[2] - a[0], a[3] - a[1]];
  return [
    ((t[0] + t[2]) / 2 - (a[0] + a[2]) / 2) / ha,
    ((t[1] + t[3]) / 2 - (a[1] + a[3]) / 2) / wa,
    Math.log((t[2] - t[0] + 1e-8) / ha),
    Math.log((t[3] - t[1] + 1e-8) / wa),
  ];
}
const sameCode = (got: ArrayLike<number>, want: number[]) =>
  want.every((v, c) => Math.abs(got[c] - v) <= 1e-4 * (1 + Math.abs(v)));
const ZERO = [0, 0, 0, 0];

/**
 * Checks one parsed example against the brute force. Where the brute force's decision was
 * within 1e-5 of a tie or of the threshold (float64 here, float32 in the parser; e.g. a small
 * box inside several equal anchors, which all have the same IoU), the parser may choose
 * differently: such an anchor must still be labelled validly (positive only with a box it is
 * within 1e-5 of the best or above-threshold anchor for, negative only below threshold + 1e-5).
 * Returns those anchors' count and the positives.
 */
function checkExample(
  out: ParsedFeatures,
  gt: { boxes: number[][]; classes: number[] },
  what: string,
) {
  const n = ANCHORS.length;
  const anchorsOut = flat(out, 'anchor_boxes', LEVELS);
  assertClose(anchorsOut, ANCHORS.flat(), { atol: 1e-4, msg: `${what} anchors` });
  const cls = flat(out, 'cls_targets', LEVELS);
  const box = flat(out, 'box_targets', LEVELS);
  assert.equal(cls.length, n);
  const m = gt.boxes.length;
  const ious = ANCHORS.map((a) => gt.boxes.map((b) => iou(a, b)));
  const atLeast = (v: number, ref: number) => v >= ref - 1e-5 * ref;
  const rowMax = ious.map((row) => Math.max(0, ...row));
  const colMax = gt.boxes.map((_, j) => Math.max(...ious.map((row) => row[j])));
  // Each anchor's best box (first on ties) and whether a near-tie or the threshold made it close.
  const best = ious.map((row) => row.reduce((k, v, j) => (v > row[k] ? j : k), 0));
  const near = ious.map(
    (row, i) =>
      Math.abs(rowMax[i] - 0.5) < 1e-5 ||
      row.some((v, j) => j !== best[i] && v > 0 && atLeast(v, rowMax[i])),
  );
  const positive = rowMax.map((v) => m > 0 && v >= 0.5);
  // Force matching: each box's best anchor (first on ties; the lowest box wins an anchor).
  for (let j = m - 1; j >= 0; j--) {
    const k = ious.findIndex((row) => row[j] === colMax[j]);
    positive[k] = true;
    best[k] = j;
    for (let i = 0; i < n; i++) if (atLeast(ious[i][j], colMax[j])) near[i] = true;
  }
  let ambiguous = 0;
  let positives = 0;
  for (let i = 0; i < n; i++) {
    const got = box.slice(4 * i, 4 * i + 4);
    const t = positive[i] ? gt.boxes[best[i]] : ZERO;
    const wantCls = positive[i] ? gt.classes[best[i]] : -1;
    const parserPositive = cls[i] !== -1;
    assert.equal(out.box_weights.data[i], parserPositive ? 1 : 0, `${what}: box weight ${i}`);
    assert.equal(out.cls_weights.data[i], 1, `${what}: class weight ${i}`);
    if (parserPositive) positives++;
    if (cls[i] === wantCls && sameCode(got, code(ANCHORS[i], t))) continue;
    const msg = `${what}: anchor ${i} class ${cls[i]}, brute force ${wantCls}`;
    assert.ok(near[i], msg);
    ambiguous++;
    if (parserPositive) {
      const j = gt.boxes.findIndex(
        (b, j) => gt.classes[j] === cls[i] && sameCode(got, code(ANCHORS[i], b)),
      );
      assert.ok(j >= 0, `${msg}: its target is none of the boxes`);
      const v = ious[i][j];
      assert.ok(atLeast(v, colMax[j]) || (v >= 0.5 - 1e-5 && atLeast(v, rowMax[i])), msg);
    } else {
      assert.ok(sameCode(got, code(ANCHORS[i], ZERO)) && rowMax[i] < 0.5 + 1e-5, msg);
    }
  }
  assert.equal(out.num_positives.data[0], positives, `${what} positives`);
  // A tie moves a forced match to another equally good anchor: at most two anchors per box.
  assert.ok(ambiguous <= 2 * m, `${what}: ${ambiguous} anchors decided by float32 ties`);
  return { ambiguous, positives };
}

function examples(batch: HostBatch): ParsedFeatures[] {
  const b = batch.image.shape[0];
  return Array.from({ length: b }, (_, e) => {
    const ex: ParsedFeatures = {};
    for (const [name, f] of Object.entries(batch)) {
      const size = f.data.length / b;
      ex[name] = { data: f.data.subarray(e * size, (e + 1) * size), shape: f.shape.slice(1) };
    }
    return ex;
  });
}

test('golden COCO records, eval, on 2 worker threads: every anchor labelled as brute force', async () => {
  const pipeline = new ParallelPipeline({
    source: tfrecordSource(sharedData('tfrecord-golden', 'detection-0000*-of-00002.tfrecord')),
    map: retinaNetParserRef(options),
    training: false,
    batchSize: 4,
    seed: 0,
    workers: 2,
  });
  const seen: string[] = [];
  let positives = 0;
  try {
    for (let batch = await pipeline.next(); batch; batch = await pipeline.next()) {
      for (const out of examples(batch)) {
        const id = String(out['groundtruths/source_id'].data[0]);
        const r = bySourceId.get(id);
        assert.ok(r, `source id ${id}`);
        seen.push(id);
        const info = out.image_info.data;
        // fitted into 256 x 256: scale = min(256 / h, 256 / w), sizes rounded
        const scale = Math.min(OUT / r.height, OUT / r.width);
        assertClose(
          info,
          [
            r.height,
            r.width,
            OUT,
            OUT,
            Math.round(r.height * scale) / r.height,
            Math.round(r.width * scale) / r.width,
            0,
            0,
          ],
          { rtol: 1e-6 },
        );
        const n = r.num_objects;
        assert.deepEqual(Array.from(out['groundtruths/num_detections'].data), [n]);
        assert.deepEqual(Array.from(out['groundtruths/classes'].data.subarray(0, n)), r.classes);
        assert.deepEqual(
          Array.from(out['groundtruths/is_crowds'].data.subarray(0, n)),
          r.is_crowd.map(Number),
        );
        assert.deepEqual(Array.from(out['groundtruths/areas'].data.subarray(0, n)), r.areas);
        assert.ok(out['groundtruths/classes'].data.subarray(n).every((c) => c === -1));
        const px = r.boxes_ymin_xmin_ymax_xmax.flatMap((b) => [
          b[0] * r.height,
          b[1] * r.width,
          b[2] * r.height,
          b[3] * r.width,
        ]);
        assertClose(out['groundtruths/boxes'].data.subarray(0, 4 * n), px, { rtol: 1e-6 });
        // eval keeps crowd boxes for labelling, as Model Garden's _parse_eval_data
        const res = checkExample(out, groundTruthInOutput(r, info, false, false), `eval ${id}`);
        positives += res.positives;
      }
    }
  } finally {
    await pipeline.close();
  }
  assert.deepEqual([...seen].sort(), [...bySourceId.keys()].sort());
  assert.ok(positives > 172, `${positives} positive anchors for 172 objects`);
});

test('golden COCO records, training: flip, scale jitter and crowd skipping, labelled as brute force', async () => {
  const parse = createRetinaNetParser({
    ...options,
    aug_rand_hflip: true,
    aug_scale_min: 0.5,
    aug_scale_max: 2,
  });
  const bytes = await (async () => {
    const src = tfrecordSource(sharedData('tfrecord-golden', 'detection-00001-of-00002.tfrecord'));
    const all: Uint8Array[] = [];
    for (const shard of await src.shards())
      for await (const rec of src.readShard(shard)) all.push(rec.bytes);
    return all;
  })();
  // shard 1: 25, 36, 77, 81, 143, 250, 315 (two crowd objects), 438 (one crowd object)
  const ids = ['25', '36', '77', '81', '143', '250', '315', '438'];
  for (let k = 0; k < bytes.length; k++) {
    // draws: flip coin (< 0.5 flips), scale factor, crop offset y, x
    const flip = k % 2 === 0;
    const rng = new ScriptedRng([flip ? 0.25 : 0.75, (k + 0.5) / bytes.length, 0.3, 0.8]);
    const out = await parse(bytes[k], { rng, index: k, where: `r${k}`, training: true });
    assert.equal(rng.left, 0);
    const r = bySourceId.get(ids[k])!;
    const info = Array.from(out.image_info.data);
    // jitter: scale factor 0.5 + 1.5 u on 256, the image fitted into it, offsets trunc(u * slack)
    const target = Math.round(Math.fround(0.5 + 1.5 * ((k + 0.5) / bytes.length)) * OUT);
    const s = Math.min(target / r.height, target / r.width);
    const [sh, sw] = [Math.round(r.height * s), Math.round(r.width * s)];
    assertClose(
      info,
      [
        r.height,
        r.width,
        OUT,
        OUT,
        sh / r.height,
        sw / r.width,
        Math.trunc(Math.max(sh - OUT, 0) * 0.3),
        Math.trunc(Math.max(sw - OUT, 0) * 0.8),
      ],
      { rtol: 1e-6 },
    );
    const gt = groundTruthInOutput(r, info, flip, true);
    checkExample(out, gt, `train ${ids[k]}`);
  }
});
