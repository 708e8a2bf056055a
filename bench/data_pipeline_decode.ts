/**
 * Where one image's time goes in the classification training parser, single-threaded, on the
 * COCO128 JPEGs, with PIL's decode of the same files timed in the same run:
 *   - decode: src/data/decoders/image.ts `decodeImage` with libturbojpeg (TF's default fast IDCT,
 *     and the accurate one) and with sharp (libvips, accurate IDCT), ICC profiles ignored; and
 *     the sharp call of earlier versions (ICC profiles applied), for comparison;
 *   - PIL: `Image.open(...).convert('RGB')` (libjpeg-turbo), what torchvision's loader does, and
 *     the peer's transforms (RandomResizedCrop 224, flip, ToTensor, Normalize) on the decoded
 *     images, one thread;
 *   - parse: the tf.Example parse of one record (ClassificationDecoder);
 *   - crop+flip+resize+normalise: Inception crop window, flip coin and the fused
 *     `cropFlipResizeBilinear` to 224x224 with ImageNet normalisation;
 *   - message: posting the 224x224x3 float32 result to another thread and back, moving its
 *     buffer (what the pipeline's workers do) or copying it (structured clone).
 * Each figure is ms per image, the median of --reps passes over the files. Last, how far the fast
 * IDCT's pixels are from the accurate one's over the files (mean and largest absolute difference).
 *
 * Run: npx tsx bench/data_pipeline_decode.ts [--images 128] [--reps 3]
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MessageChannel } from 'node:worker_threads';
import sharp from 'sharp';
import { bytesFeature, encodeExample, int64Feature } from '../src/core/proto/index.js';
import { Rng } from '../src/core/random.js';
import { ClassificationDecoder } from '../src/data/decoders/classification.js';
import { decodeImage, type DecodedImage } from '../src/data/decoders/image.js';
import { MEAN_RGB, STDDEV_RGB } from '../src/data/in_memory.js';
import { inceptionCropWindow } from '../src/data/ops/crop.js';
import { horizontalFlipCoin } from '../src/data/ops/flip.js';
import { cropFlipResizeBilinear } from '../src/data/ops/resize.js';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
}

const HERE = dirname(fileURLToPath(import.meta.url));
const IMAGES = resolve(HERE, '..', '..', 'shared', 'data', 'coco128', 'train2017');
const COUNT = Number(arg('images', '128'));
const REPS = Number(arg('reps', '3'));
const SIZE = 224;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** ms per item of `fn` over `items`: one warm-up pass, then the median of REPS passes. */
async function msPerItem<T>(items: T[], fn: (item: T, i: number) => unknown): Promise<number> {
  const pass = async () => {
    const t0 = performance.now();
    for (let i = 0; i < items.length; i++) await fn(items[i], i);
    return (performance.now() - t0) / items.length;
  };
  await pass();
  const times: number[] = [];
  for (let r = 0; r < REPS; r++) times.push(await pass());
  return median(times);
}

/** The sharp call decodeImage made before ICC profiles were ignored. */
async function decodeApplyingIcc(bytes: Uint8Array): Promise<Buffer> {
  return sharp(bytes, { failOn: 'error' })
    .removeAlpha()
    .toColourspace('srgb')
    .raw({ depth: 'uchar' })
    .toBuffer();
}

/**
 * PIL decode alone, then torchvision's transforms alone on the decoded images (what the peer's
 * DataLoader workers run per image), ms per image each, in one Python process, single-threaded.
 */
function pilMsPerImage(files: string[]): { decode: number; transforms: number } {
  const script = [
    'import io, json, sys, time',
    'import torch',
    'from PIL import Image',
    'from torchvision import transforms as T',
    'torch.set_num_threads(1); torch.manual_seed(0)',
    'paths = sys.argv[2:]; reps = int(sys.argv[1])',
    'data = [open(p, "rb").read() for p in paths]',
    'tf = T.Compose([T.RandomResizedCrop(224), T.RandomHorizontalFlip(), T.ToTensor(),',
    '                T.Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225])])',
    'def timed(fn, items):',
    '    def one():',
    '        t = time.perf_counter()',
    '        for x in items: fn(x)',
    '        return (time.perf_counter() - t) * 1000 / len(items)',
    '    one()',
    '    return sorted(one() for _ in range(reps))[reps // 2]',
    'decode = lambda b: Image.open(io.BytesIO(b)).convert("RGB")',
    'images = [decode(b) for b in data]',
    'print(json.dumps({"decode": timed(decode, data), "transforms": timed(tf, images)}))',
  ].join('\n');
  const out = execFileSync('/usr/bin/python3', ['-c', script, String(REPS), ...files], {
    encoding: 'utf8',
  });
  return JSON.parse(out) as { decode: number; transforms: number };
}

async function roundTrip(data: Float32Array, move: boolean): Promise<void> {
  const { port1, port2 } = new MessageChannel();
  port2.on('message', (m: Float32Array) =>
    port2.postMessage(m, move ? [m.buffer as ArrayBuffer] : []),
  );
  await new Promise<void>((done) => {
    port1.once('message', () => done());
    port1.postMessage(data, move ? [data.buffer as ArrayBuffer] : []);
  });
  port1.close();
  port2.close();
}

async function main(): Promise<void> {
  const names = readdirSync(IMAGES)
    .filter((f) => f.endsWith('.jpg'))
    .sort()
    .slice(0, COUNT);
  const files = names.map((f) => join(IMAGES, f));
  const jpegs = files.map((f) => new Uint8Array(readFileSync(f)));
  console.log(
    `load average at start: ${loadavg()
      .map((v) => v.toFixed(2))
      .join(' ')}`,
  );
  console.log(`${jpegs.length} COCO128 JPEGs, median of ${REPS} passes, ms per image:`);

  const decoded: DecodedImage[] = [];
  for (const j of jpegs) decoded.push(await decodeImage(j, { jpegDecoder: 'turbojpeg' }));
  const records = jpegs.map((j) =>
    encodeExample({ 'image/encoded': bytesFeature(j), 'image/class/label': int64Feature(0) }),
  );
  const parser = new ClassificationDecoder({});
  const rng = new Rng(0);
  const rows: [string, number][] = [];
  rows.push([
    'decode: libturbojpeg, fast IDCT (TF default)',
    await msPerItem(jpegs, (j) => decodeImage(j, { jpegDecoder: 'turbojpeg' })),
  ]);
  rows.push([
    'decode: libturbojpeg, accurate IDCT',
    await msPerItem(jpegs, (j) =>
      decodeImage(j, { jpegDecoder: 'turbojpeg', dctMethod: 'INTEGER_ACCURATE' }),
    ),
  ]);
  rows.push([
    'decode: sharp (accurate IDCT, ICC ignored)',
    await msPerItem(jpegs, (j) => decodeImage(j, { jpegDecoder: 'sharp' })),
  ]);
  rows.push([
    'decode: sharp applying ICC profiles (before)',
    await msPerItem(jpegs, decodeApplyingIcc),
  ]);
  const pil = pilMsPerImage(files);
  rows.push(['decode: PIL Image.open().convert("RGB")', pil.decode]);
  rows.push(['torchvision crop+flip+ToTensor+Normalize 224', pil.transforms]);
  rows.push(['parse tf.Example', await msPerItem(records, (r) => parser.parse(r, {}))]);
  rows.push([
    'crop window + flip + fused resize/normalise 224',
    await msPerItem(decoded, (img) => {
      const window = inceptionCropWindow(img.height, img.width, rng, {});
      cropFlipResizeBilinear(img, SIZE, SIZE, {
        window,
        flipLeftRight: horizontalFlipCoin(rng),
        normalize: { mean: MEAN_RGB, stddev: STDDEV_RGB },
      });
    }),
  ]);
  const outputs = decoded.map(() => new Float32Array(SIZE * SIZE * 3));
  rows.push(['message round trip, copied', await msPerItem(outputs, (o) => roundTrip(o, false))]);
  rows.push([
    'message round trip, moved',
    await msPerItem(outputs, (_o, i) => roundTrip(new Float32Array(SIZE * SIZE * 3).fill(i), true)),
  ]);
  for (const [what, ms] of rows) console.log(`  ${what.padEnd(48)} ${ms.toFixed(2)}`);
  let total = 0;
  let count = 0;
  let largest = 0;
  for (let i = 0; i < jpegs.length; i++) {
    const fast = decoded[i].data;
    const accurate = (await decodeImage(jpegs[i], { dctMethod: 'INTEGER_ACCURATE' })).data;
    for (let p = 0; p < fast.length; p++) {
      const d = Math.abs(fast[p] - accurate[p]);
      total += d;
      largest = Math.max(largest, d);
    }
    count += fast.length;
  }
  console.log(
    `fast vs accurate IDCT over the ${jpegs.length} images: mean |diff| ${(total / count).toFixed(3)}` +
      ` levels, largest ${largest}`,
  );
  console.log(
    `load average at end: ${loadavg()
      .map((v) => v.toFixed(2))
      .join(' ')}`,
  );
}

await main();
