/**
 * COCO evaluation speed: vision-garden's CocoEval vs pycocotools on one synthetic case of
 * 5,000 images x 100 detections (bbox), in one run. Both read the same JSON files; the stats
 * must agree.
 *
 * The peer is pycocotools 2.0.11 built from github ppwwyyxx/cocoapi outside the project (never
 * committed), e.g. in /tmp/pycoco/PythonAPI: cythonize pycocotools/_mask.pyx and compile it
 * with common/maskApi.c against numpy's headers. Point PYCOCOTOOLS_PATH at that PythonAPI
 * directory (default /tmp/pycoco/PythonAPI); without it the bench reports our time only.
 *
 * Run: npx tsx bench/coco_eval.ts [--images 5000] [--dets 100]
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng } from '../src/core/random.js';
import {
  CocoGroundTruth,
  type CocoDataset,
  type CocoResult,
} from '../src/evaluation/coco/dataset.js';
import { CocoEval } from '../src/evaluation/coco/cocoeval.js';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}

/** Synthetic GT (about 7 objects per 640x480 image, 80 categories) and jittered detections. */
function makeCase(
  numImages: number,
  detsPerImage: number,
): { gt: CocoDataset; results: CocoResult[] } {
  const rng = new Rng(2024);
  const W = 640;
  const H = 480;
  const cats = Array.from({ length: 80 }, (_, i) => ({ id: i + 1, name: `class_${i + 1}` }));
  const images = Array.from({ length: numImages }, (_, i) => ({
    id: i + 1,
    width: W,
    height: H,
    file_name: `${i + 1}.jpg`,
  }));
  const annotations: CocoDataset['annotations'] = [];
  const results: CocoResult[] = [];
  const round = (v: number) => Math.round(v * 100) / 100;
  for (const im of images) {
    const objs: { c: number; b: number[] }[] = [];
    const n = 2 + rng.int(10);
    for (let j = 0; j < n; j++) {
      const w = 4 + rng.uniform() * 300;
      const h = 4 + rng.uniform() * 250;
      const b = [
        round(rng.uniform() * (W - w)),
        round(rng.uniform() * (H - h)),
        round(w),
        round(h),
      ];
      const c = 1 + rng.int(20);
      const crowd = rng.uniform() < 0.02 ? 1 : 0;
      annotations.push({
        id: annotations.length + 1,
        image_id: im.id,
        category_id: c,
        bbox: b,
        area: b[2] * b[3],
        iscrowd: crowd,
      });
      objs.push({ c, b });
    }
    for (let d = 0; d < detsPerImage; d++) {
      let b: number[];
      let c: number;
      if (d < objs.length * 3) {
        const o = objs[d % objs.length];
        const jx = (rng.uniform() - 0.5) * 0.3;
        const jy = (rng.uniform() - 0.5) * 0.3;
        const s = Math.exp((rng.uniform() - 0.5) * 0.4);
        b = [
          round(o.b[0] + jx * o.b[2]),
          round(o.b[1] + jy * o.b[3]),
          round(o.b[2] * s),
          round(o.b[3] * s),
        ];
        c = rng.uniform() < 0.9 ? o.c : 1 + rng.int(20);
      } else {
        const w = 4 + rng.uniform() * 200;
        const h = 4 + rng.uniform() * 200;
        b = [round(rng.uniform() * (W - w)), round(rng.uniform() * (H - h)), round(w), round(h)];
        c = 1 + rng.int(20);
      }
      results.push({
        image_id: im.id,
        category_id: c,
        bbox: b,
        score: Math.round(rng.uniform() * 1000) / 1000,
      });
    }
  }
  return { gt: { images, annotations, categories: cats, info: {}, licenses: [] }, results };
}

const numImages = arg('images', 5000);
const dets = arg('dets', 100);
const dir = mkdtempSync(join(tmpdir(), 'vg-coco-bench-'));
try {
  const { gt, results } = makeCase(numImages, dets);
  const gtPath = join(dir, 'gt.json');
  const dtPath = join(dir, 'results.json');
  writeFileSync(gtPath, JSON.stringify(gt));
  writeFileSync(dtPath, JSON.stringify(results));
  console.log(
    `case: ${numImages} images, ${gt.annotations.length} GT, ${results.length} detections (bbox)`,
  );

  const t0 = performance.now();
  const cocoGt = CocoGroundTruth.fromFile(gtPath);
  const dt = cocoGt.loadResultsFile(dtPath);
  const t1 = performance.now();
  const ev = new CocoEval(cocoGt, dt, 'bbox');
  const stats = ev.run();
  const t2 = performance.now();
  const ours = { load_s: (t1 - t0) / 1000, eval_s: (t2 - t1) / 1000, total_s: (t2 - t0) / 1000 };
  console.log(
    `vision-garden: load ${ours.load_s.toFixed(2)} s, evaluate+accumulate+summarize ${ours.eval_s.toFixed(2)} s, total ${ours.total_s.toFixed(2)} s`,
  );

  const peerPath = process.env.PYCOCOTOOLS_PATH ?? '/tmp/pycoco/PythonAPI';
  if (!existsSync(join(peerPath, 'pycocotools'))) {
    console.log(`pycocotools peer not found at ${peerPath} (set PYCOCOTOOLS_PATH); no ratio.`);
  } else {
    const script = join(dirname(fileURLToPath(import.meta.url)), 'coco_eval_peer.py');
    const out = execFileSync('python3', [script, gtPath, dtPath, 'bbox'], {
      env: { ...process.env, PYTHONPATH: peerPath },
      encoding: 'utf8',
      maxBuffer: 1 << 24,
    });
    const peer = JSON.parse(out.trim().split('\n').pop() as string) as typeof ours & {
      stats: number[];
    };
    console.log(
      `pycocotools:   load ${peer.load_s.toFixed(2)} s, evaluate+accumulate+summarize ${peer.eval_s.toFixed(2)} s, total ${peer.total_s.toFixed(2)} s`,
    );
    const maxDiff = Math.max(...stats.map((s, i) => Math.abs(s - peer.stats[i])));
    console.log(`stats max |difference|: ${maxDiff.toExponential(2)}`);
    console.log(
      `ratio (ours / pycocotools): total ${(ours.total_s / peer.total_s).toFixed(3)}, evaluation ${(ours.eval_s / peer.eval_s).toFixed(3)}`,
    );
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
