/**
 * Micro-benchmark of the convolution training kernels: forward, filter gradient and input
 * gradient of Conv2D and DepthwiseConv2dNative on the wasm backend (with vision-garden's training
 * kernels) and, for reference, on tfjs-backend-cpu.
 *
 * Each run gets fresh inputs (x, filter, dy), as a training step does: the weights change every
 * step, so the forward kernel cannot reuse a cached XNNPACK operator either. The three kernels of
 * a shape are timed interleaved, five runs each (after one warm-up), and the median is printed with
 * the backprop/forward ratios.
 *
 * tfjs-backend-cpu's Conv2DBackpropFilter is a scalar JS loop (~20 s for the 32×32 layer), so cpu
 * gets `--cpu-runs` (default 1) runs and skips layers above 300 M multiply-adds unless `--cpu-all`.
 *
 *   npx tsx bench/wasm_kernels.ts [--runs 5] [--backends wasm,cpu] [--filter depthwise]
 *                                 [--cpu-runs 1] [--cpu-all]
 */
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../src/core/backend/index.js';

type Kind = 'conv' | 'depthwise';

/** One benchmarked layer: NHWC input shape, filter size, output channels, stride, padding. */
interface BenchCase {
  kind: Kind;
  xShape: [number, number, number, number];
  k: number;
  /** Output channels (conv) or channel multiplier (depthwise). */
  out: number;
  stride: number;
  pad: 'same' | 'valid';
}

const CASES: BenchCase[] = [
  { kind: 'conv', xShape: [32, 32, 32, 16], k: 3, out: 16, stride: 1, pad: 'same' },
  { kind: 'conv', xShape: [32, 32, 32, 16], k: 3, out: 16, stride: 2, pad: 'same' },
  { kind: 'conv', xShape: [32, 16, 16, 32], k: 3, out: 32, stride: 1, pad: 'same' },
  { kind: 'conv', xShape: [32, 16, 16, 32], k: 3, out: 32, stride: 2, pad: 'same' },
  { kind: 'conv', xShape: [8, 56, 56, 64], k: 3, out: 64, stride: 1, pad: 'same' },
  { kind: 'conv', xShape: [32, 16, 16, 32], k: 1, out: 64, stride: 1, pad: 'same' },
  { kind: 'conv', xShape: [32, 32, 32, 16], k: 1, out: 32, stride: 2, pad: 'same' },
  { kind: 'depthwise', xShape: [32, 16, 16, 64], k: 3, out: 1, stride: 1, pad: 'same' },
  { kind: 'depthwise', xShape: [32, 16, 16, 64], k: 3, out: 1, stride: 2, pad: 'same' },
];

interface Options {
  runs: number;
  backends: string[];
  filter: string;
  cpuRuns: number;
  cpuAll: boolean;
}

function parseArgs(argv: string[]): Options {
  const opts: Options = {
    runs: 5,
    backends: ['wasm', 'cpu'],
    filter: '',
    cpuRuns: 1,
    cpuAll: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const value = argv[i + 1];
    if (argv[i] === '--runs' && value) {
      opts.runs = Number(value);
      if (!Number.isInteger(opts.runs) || opts.runs < 1) {
        throw new Error(`--runs must be a positive integer, got '${value}'`);
      }
      i++;
    } else if (argv[i] === '--cpu-runs' && value) {
      opts.cpuRuns = Number(value);
      if (!Number.isInteger(opts.cpuRuns) || opts.cpuRuns < 1) {
        throw new Error(`--cpu-runs must be a positive integer, got '${value}'`);
      }
      i++;
    } else if (argv[i] === '--cpu-all') {
      opts.cpuAll = true;
    } else if (argv[i] === '--backends' && value) {
      opts.backends = value.split(',');
      i++;
    } else if (argv[i] === '--filter' && value) {
      opts.filter = value;
      i++;
    } else {
      throw new Error(`unknown argument '${argv[i]}' (use --runs N, --backends a,b, --filter S)`);
    }
  }
  return opts;
}

function caseName(c: BenchCase): string {
  const [n, h, w, ch] = c.xShape;
  const outC = c.kind === 'conv' ? c.out : ch * c.out;
  return `${c.kind} [${n},${h},${w},${ch}→${outC}] ${c.k}x${c.k} s${c.stride}`;
}

/** Multiply-adds of the forward pass. */
function forwardMacs(c: BenchCase): number {
  const [n, h, w, ch] = c.xShape;
  const positions = n * Math.ceil(h / c.stride) * Math.ceil(w / c.stride);
  return positions * c.k * c.k * ch * c.out; // out: output channels or depthwise multiplier
}

function filterShape(c: BenchCase): number[] {
  return [c.k, c.k, c.xShape[3], c.out];
}

/** The three kernel calls of a case, each taking fresh inputs. */
function kernelCalls(
  c: BenchCase,
): { name: string; inputs: () => tf.Tensor[]; run: (t: tf.Tensor[]) => tf.Tensor }[] {
  const strides: [number, number] = [c.stride, c.stride];
  const fShape = filterShape(c);
  const conv = c.kind === 'conv';
  const fwdName = conv ? 'Conv2D' : 'DepthwiseConv2dNative';
  const fwdAttrs = { strides, pad: c.pad, dataFormat: 'NHWC', dilations: [1, 1] };
  const yShape = tf.backend_util.computeConv2DInfo(
    c.xShape,
    fShape as [number, number, number, number],
    strides,
    1,
    c.pad,
    undefined,
    !conv,
  ).outShape;
  const rnd = (shape: number[]) => tf.randomUniform(shape, -1, 1);
  const kernel = (name: string, inputs: tf.NamedTensorMap, attrs: object) =>
    tf.engine().runKernel(name, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
  return [
    {
      name: 'forward',
      inputs: () => [rnd(c.xShape), rnd(fShape)],
      run: ([x, f]) => kernel(fwdName, { x, filter: f }, fwdAttrs),
    },
    {
      name: 'filter grad',
      inputs: () => [rnd(c.xShape), rnd(yShape)],
      run: ([x, dy]) =>
        kernel(
          `${conv ? 'Conv2D' : 'DepthwiseConv2dNative'}BackpropFilter`,
          { x, dy },
          {
            ...fwdAttrs,
            filterShape: fShape,
          },
        ),
    },
    {
      name: 'input grad',
      inputs: () => [rnd(yShape), rnd(fShape)],
      run: ([dy, f]) =>
        kernel(
          `${conv ? 'Conv2D' : 'DepthwiseConv2dNative'}BackpropInput`,
          { dy, filter: f },
          {
            ...fwdAttrs,
            inputShape: c.xShape,
          },
        ),
    },
  ];
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Median ms of forward, filter grad and input grad for one case on the current backend. */
function benchCase(c: BenchCase, runs: number): number[] {
  const calls = kernelCalls(c);
  const times: number[][] = calls.map(() => []);
  for (let r = -1; r < runs; r++) {
    calls.forEach((call, k) => {
      const inputs = call.inputs();
      // Kernels of the cpu and wasm backends run synchronously: the call's duration is its cost.
      const t0 = performance.now();
      const out = call.run(inputs);
      const dt = performance.now() - t0;
      tf.dispose([out, ...inputs]);
      if (r >= 0) times[k].push(dt);
    });
  }
  return times.map(median);
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const cases = CASES.filter((c) => caseName(c).includes(opts.filter));
  console.log(`median of ${opts.runs} interleaved runs, ms`);
  for (const backend of opts.backends) {
    await initBackend(backend);
    console.log(`\nbackend ${backend}`);
    console.log(
      `${'layer'.padEnd(38)}${'forward'.padStart(9)}${'filter'.padStart(9)}${'input'.padStart(9)}` +
        `${'filt/fwd'.padStart(10)}${'inp/fwd'.padStart(9)}`,
    );
    for (const c of cases) {
      const isCpu = backend === 'cpu';
      if (isCpu && !opts.cpuAll && forwardMacs(c) > 300e6) {
        console.log(`${caseName(c).padEnd(38)}  (skipped on cpu: too slow; --cpu-all runs it)`);
        continue;
      }
      const [fwd, filt, inp] = benchCase(c, isCpu ? opts.cpuRuns : opts.runs);
      console.log(
        `${caseName(c).padEnd(38)}${fwd.toFixed(2).padStart(9)}${filt.toFixed(2).padStart(9)}` +
          `${inp.toFixed(2).padStart(9)}${(filt / fwd).toFixed(2).padStart(10)}` +
          `${(inp / fwd).toFixed(2).padStart(9)}`,
      );
    }
  }
}

await main();
