/**
 * Forms of the conv filter gradient in ONNX Runtime against PyTorch's weight-gradient kernel, for
 * the 3×3 stride-1 convolutions of a CIFAR ResNet-18 at batch 32 (inputs channels-first, as the
 * engine holds activations).
 *
 *   npx tsx bench/engine/filter_grad.ts [--threads 2] [--runs 10] [--python /usr/bin/python3]
 *
 * Forms: (A) the engine's: swap batch/channel planes, pad, one strided Slice per tap, Concat,
 * Gemm(transB) with dy as [Cout, N·HW]; (B) one Gemm per tap, no Concat; (C) a Conv with batch
 * and channels swapped (x as [C, N, H, W], dy as the weight). Every form is checked against (A).
 * PyTorch: torch.nn.grad.conv2d_weight (bench/engine/filter_grad_peer.py), same threads, run by
 * the `--python` interpreter (default Debian's /usr/bin/python3; e.g. a venv's for a newer torch).
 */
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { attr, GraphBuilder } from '../../src/engine/graph_builder.js';

const { values } = parseArgs({
  options: {
    threads: { type: 'string', default: '2' },
    runs: { type: 'string', default: '10' },
    python: { type: 'string', default: '/usr/bin/python3' },
  },
});
const THREADS = Number(values.threads);
const RUNS = Number(values.runs);
const PYTHON = values.python ?? '/usr/bin/python3';

type Build = (b: GraphBuilder, x: string, dy: string, s: Shape) => string;
interface Shape {
  n: number;
  c: number;
  hw: number;
}

const T = (b: GraphBuilder, x: string, perm: number[]) =>
  b.op('Transpose', [x], { perm: attr.ints(perm) });
const R = (b: GraphBuilder, x: string, shape: number[]) => b.op('Reshape', [x, b.int64s(shape)]);

function paddedTaps(b: GraphBuilder, xcn: string, s: Shape): string[] {
  const padded = b.op('Pad', [xcn, b.int64s([0, 0, 1, 1, 0, 0, 1, 1]), b.scalar(0, 'float32')], {
    mode: attr.string('constant'),
  });
  const taps: string[] = [];
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 3; j++) {
      taps.push(
        b.op('Slice', [
          padded,
          b.int64s([i, j]),
          b.int64s([i + s.hw, j + s.hw]),
          b.int64s([2, 3]),
          b.int64s([1, 1]),
        ]),
      );
    }
  }
  return taps;
}

const FORMS: Record<string, Build> = {
  'A engine: slices+Concat+Gemm': (b, x, dy, s) => {
    const taps = paddedTaps(b, T(b, x, [1, 0, 2, 3]), s);
    const cols = R(b, b.op('Concat', taps, { axis: attr.int(0) }), [9 * s.c, s.n * s.hw * s.hw]);
    const dyRows = R(b, T(b, dy, [1, 0, 2, 3]), [s.c, s.n * s.hw * s.hw]);
    return b.op('Gemm', [cols, dyRows], { transB: attr.int(1) });
  },
  'B per-tap Gemm': (b, x, dy, s) => {
    const dyRows = R(b, T(b, dy, [1, 0, 2, 3]), [s.c, s.n * s.hw * s.hw]);
    const parts = paddedTaps(b, T(b, x, [1, 0, 2, 3]), s).map((t) =>
      b.op('Gemm', [R(b, t, [s.c, s.n * s.hw * s.hw]), dyRows], { transB: attr.int(1) }),
    );
    return b.op('Concat', parts, { axis: attr.int(0) });
  },
  'C Conv with batch/channels swapped': (b, x, dy, s) => {
    const w = b.op('Conv', [T(b, x, [1, 0, 2, 3]), T(b, dy, [1, 0, 2, 3])], {
      kernel_shape: attr.ints([s.hw, s.hw]),
      pads: attr.ints([1, 1, 1, 1]),
    });
    // [Cin, Cout, 3, 3] → [taps·Cin, Cout] as (A) returns it.
    return R(b, T(b, w, [2, 3, 0, 1]), [9 * s.c, s.c]);
  },
};

async function timeForm(build: Build, s: Shape): Promise<{ ms: number; out: Float32Array }> {
  const b = new GraphBuilder();
  const shape = [s.n, s.c, s.hw, s.hw];
  for (const name of ['x', 'dy']) b.addInput(b.reserve(name), shape, 'float32');
  b.op('Identity', [build(b, 'x', 'dy', s)], {}, b.reserve('dw'));
  b.addOutput('dw', [], 'float32');
  const session = await ort.InferenceSession.create(b.toBytes(), {
    intraOpNumThreads: THREADS,
    logSeverityLevel: 3,
  });
  const size = shape.reduce((a, d) => a * d, 1);
  const fill = (k: number) => Float32Array.from({ length: size }, (_, i) => Math.sin(i * k));
  const feed = {
    x: new ort.Tensor('float32', fill(0.37), shape),
    dy: new ort.Tensor('float32', fill(0.11), shape),
  };
  const out = (await session.run(feed)).dw.data as Float32Array;
  for (let i = 0; i < 2; i++) await session.run(feed);
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    await session.run(feed);
    times.push(performance.now() - t0);
  }
  await session.release();
  times.sort((p, q) => p - q);
  return { ms: times[Math.floor(times.length / 2)], out };
}

const here = dirname(fileURLToPath(import.meta.url));
for (const s of [
  { n: 32, c: 64, hw: 32 },
  { n: 32, c: 128, hw: 16 },
  { n: 32, c: 256, hw: 8 },
  { n: 32, c: 512, hw: 4 },
]) {
  const peer = JSON.parse(
    execFileSync(PYTHON, [
      join(here, 'filter_grad_peer.py'),
      ...['--n', String(s.n), '--c', String(s.c), '--hw', String(s.hw)],
      ...['--threads', String(THREADS), '--runs', String(RUNS)],
    ]).toString(),
  ) as { median_ms: number; torch: string };
  const gflop = (2 * s.n * s.hw * s.hw * s.c * s.c * 9) / 1e9;
  console.log(
    `filter gradient, x/dy [${s.n}, ${s.c}, ${s.hw}, ${s.hw}], 3x3 ${s.c}→${s.c}: ${gflop.toFixed(2)} GFLOP; PyTorch ${peer.torch} ${peer.median_ms.toFixed(1)} ms (${((gflop / peer.median_ms) * 1e3).toFixed(0)} GFLOP/s)`,
  );
  let reference: Float32Array | null = null;
  for (const [name, build] of Object.entries(FORMS)) {
    const r = await timeForm(build, s);
    reference ??= r.out;
    let worst = 0;
    for (let i = 0; i < r.out.length; i++)
      worst = Math.max(worst, Math.abs(r.out[i] - reference[i]));
    console.log(
      `  ${name.padEnd(36)} ${r.ms.toFixed(1).padStart(7)} ms  PyTorch/ours ${(peer.median_ms / r.ms).toFixed(2)}  max|Δ| vs A ${worst.toExponential(1)}`,
    );
  }
}
