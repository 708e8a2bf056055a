/**
 * Input pipeline throughput on the real JPEGs of ../shared/data/coco128, in one run:
 *   1. ImageNet-style training input, batch 32: decode JPEG → Inception random crop → flip →
 *      resize to 224 → normalise (Model Garden's classification parser,
 *      src/data/parsers/classification_parser.ts) in vision-garden's ParallelPipeline with 2
 *      workers, vs torchvision RandomResizedCrop(224) + RandomHorizontalFlip + ToTensor +
 *      Normalize in a torch DataLoader with num_workers=2 (bench/data_pipeline_peer.py, run with
 *      /usr/bin/python3 after ours, so the two never compete for the cores).
 *   2. COCO detection training input at 640: decode → normalise → flip with boxes →
 *      resize_and_crop_image with scale jitter [0.5, 2.0] → pad to 640x640, boxes and classes
 *      padded to 100 per image (src/data/parsers/detection_parser.ts), same pipeline, 2 workers.
 *
 * Input: the 128 JPEGs are first written, once per run, to temporary TFRecords (classification
 * tf.Examples with label 0; detection tf.Examples by the COCO converter), read back by
 * tfrecordSource: the path a real training run takes. Measured: batches after the first 2
 * (worker start-up excluded) until --seconds have passed.
 *
 * With --rounds N the classification pair is measured N times, alternating the two sides, and
 * the medians are reported with each round's ratio (for a machine shared with other jobs).
 *
 * Run: npx tsx bench/data_pipeline.ts [--seconds 20] [--rounds 1] [--workers 2] [--det_batch 8] [--skip_torch] [--skip_detection]
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bytesFeature, encodeExample, int64Feature } from '../src/core/proto/index.js';
import { cocoToTfRecord } from '../src/data/converters/coco.js';
import {
  ParallelPipeline,
  tfrecordSource,
  type PipelineOptions,
} from '../src/data/pipeline/index.js';
import { classificationParserRef } from '../src/data/parsers/classification_parser.js';
import { detectionParserRef } from '../src/data/parsers/detection_parser.js';
import { TFRecordWriter } from '../src/data/tfrecord/writer.js';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
}

const HERE = dirname(fileURLToPath(import.meta.url));
const COCO128 = resolve(HERE, '..', '..', 'shared', 'data', 'coco128');
const IMAGES = join(COCO128, 'train2017');
const SECONDS = Number(arg('seconds', '20'));
const WORKERS = Number(arg('workers', '2'));
const BATCH = 32;
const DET_BATCH = Number(arg('det_batch', '8'));
const WARMUP_BATCHES = 2;
/** Classification measurements, alternating vision-garden and torchvision. */
const ROUNDS = Number(arg('rounds', '1'));

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Writes every JPEG of IMAGES as a classification tf.Example with label 0. */
async function writeClassificationRecords(path: string): Promise<number> {
  const files = readdirSync(IMAGES)
    .filter((f) => f.endsWith('.jpg'))
    .sort();
  const writer = new TFRecordWriter(path);
  for (const f of files) {
    await writer.write(
      encodeExample({
        'image/encoded': bytesFeature(new Uint8Array(readFileSync(join(IMAGES, f)))),
        'image/class/label': int64Feature(0),
      }),
    );
  }
  await writer.close();
  return files.length;
}

/** Images/s of a training pipeline over WARMUP_BATCHES + as many batches as SECONDS allow. */
async function imagesPerSecond(
  opts: PipelineOptions,
  check: (batch: Awaited<ReturnType<ParallelPipeline['next']>>) => void,
): Promise<number> {
  const pipeline = new ParallelPipeline(opts);
  try {
    for (let i = 0; i < WARMUP_BATCHES; i++) check(await pipeline.next());
    let images = 0;
    const start = performance.now();
    let elapsed = 0;
    while (elapsed < SECONDS) {
      const batch = await pipeline.next();
      check(batch);
      images += opts.batchSize;
      elapsed = (performance.now() - start) / 1000;
    }
    return images / elapsed;
  } finally {
    await pipeline.close();
  }
}

function torchPeer(): { torch: string; torchvision: string; images_per_s: number } {
  const out = execFileSync(
    '/usr/bin/python3',
    [
      join(HERE, 'data_pipeline_peer.py'),
      '--images',
      IMAGES,
      '--seconds',
      String(SECONDS),
      '--workers',
      String(WORKERS),
      '--batch',
      String(BATCH),
      '--warmup',
      String(WARMUP_BATCHES),
    ],
    { encoding: 'utf8', maxBuffer: 1 << 20 },
  );
  return JSON.parse(out.trim().split('\n').pop() ?? '{}');
}

async function main(): Promise<void> {
  const load = () =>
    loadavg()
      .map((v) => v.toFixed(2))
      .join(' ');
  console.log(`load average at start: ${load()}`);
  const dir = mkdtempSync(join(tmpdir(), 'vg-data-bench-'));
  try {
    const clsFile = join(dir, 'coco128-classification.tfrecord');
    const n = await writeClassificationRecords(clsFile);
    console.log(`${n} COCO128 JPEGs -> ${clsFile} (classification tf.Examples, label 0)`);

    // Rounds alternate the two sides, so that load from other jobs on the machine falls on both
    // alike; the figures reported are the medians over rounds.
    const oursRuns: number[] = [];
    const torchRuns: number[] = [];
    let torch: ReturnType<typeof torchPeer> | null = null;
    for (let round = 1; round <= ROUNDS; round++) {
      const tag = ROUNDS > 1 ? `round ${round}/${ROUNDS}, load ${load()}: ` : '';
      const ours = await imagesPerSecond(
        {
          source: tfrecordSource(clsFile),
          map: classificationParserRef({ output_size: [224, 224] }),
          training: true,
          batchSize: BATCH,
          seed: 0,
          workers: WORKERS,
        },
        (b) => {
          if (!b || b.image.shape.join() !== `${BATCH},224,224,3`) throw new Error('bad batch');
        },
      );
      oursRuns.push(ours);
      console.log(
        `${tag}vision-garden classification (${WORKERS} workers): ${ours.toFixed(1)} images/s`,
      );
      if (!process.argv.includes('--skip_torch')) {
        torch = torchPeer();
        torchRuns.push(torch.images_per_s);
        console.log(
          `${tag}torchvision ${torch.torchvision} / torch ${torch.torch} DataLoader (num_workers=` +
            `${WORKERS}): ${torch.images_per_s.toFixed(1)} images/s, ratio ` +
            `${(ours / torch.images_per_s).toFixed(3)}`,
        );
      }
    }
    const ours = median(oursRuns);
    if (torch) torch = { ...torch, images_per_s: median(torchRuns) };
    const ratios = oursRuns.slice(0, torchRuns.length).map((v, i) => v / torchRuns[i]);

    let det: number | null = null;
    if (!process.argv.includes('--skip_detection')) {
      const prefix = join(dir, 'coco128-detection');
      await cocoToTfRecord({
        annotationsPath: join(COCO128, 'annotations', 'instances_train2017.json'),
        imagesDir: IMAGES,
        outputPrefix: prefix,
        numShards: 1,
      });
      det = await imagesPerSecond(
        {
          source: tfrecordSource(`${prefix}-*`),
          map: detectionParserRef({
            output_size: [640, 640],
            aug_rand_hflip: true,
            aug_scale_min: 0.5,
            aug_scale_max: 2.0,
          }),
          training: true,
          batchSize: DET_BATCH,
          seed: 0,
          workers: WORKERS,
          padding: {
            boxes: { maxLength: 100, value: -1 },
            classes: { maxLength: 100, value: -1 },
          },
        },
        (b) => {
          if (!b || b.image.shape.join() !== `${DET_BATCH},640,640,3`) throw new Error('bad batch');
          if (b.boxes.shape.join() !== `${DET_BATCH},100,4`) throw new Error('bad boxes');
        },
      );
      console.log(
        `vision-garden COCO detection 640 (${WORKERS} workers, batch ${DET_BATCH}): ` +
          `${det.toFixed(1)} images/s`,
      );
    }

    console.log(`\nload average at end: ${load()}`);
    console.log(
      `\nimages/s over ${SECONDS} s after ${WARMUP_BATCHES} warm-up batches` +
        (ROUNDS > 1 ? `, median of ${ROUNDS} rounds` : ''),
    );
    console.log(`classification 224, batch ${BATCH}: vision-garden ${ours.toFixed(1)}`);
    if (torch) {
      console.log(
        `classification 224, batch ${BATCH}: torchvision ${torch.images_per_s.toFixed(1)}`,
      );
      console.log(`ratio vision-garden / torchvision: ${(ours / torch.images_per_s).toFixed(3)}`);
      if (ratios.length > 1) {
        console.log(
          `per-round ratios: ${ratios.map((r) => r.toFixed(3)).join(' ')} ` +
            `(median ${median(ratios).toFixed(3)})`,
        );
      }
    }
    if (det !== null)
      console.log(`detection 640, batch ${DET_BATCH}: vision-garden ${det.toFixed(1)}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
