/**
 * Filter layout forms in ONNX Runtime: the cost of turning a tfjs conv filter [kh, kw, in, out]
 * into ONNX's [out, in, kh, kw] (the forward Conv weight) and into the flipped [in, out, kh, kw]
 * (the input-gradient Conv weight), each form checked against the direct Transpose's values.
 *
 *   npx tsx bench/engine/weight_layout.ts [--in 512] [--out 512] [--threads 2] [--runs 20]
 *
 * Each form runs in its own session with the graph output fetched; a Neg over the same bytes is
 * timed as the floor (one pass plus the fetch). Ratios are against the direct 4-D Transpose.
 * This is why src/engine/kernels/conv.ts builds filters with batched 2-D transposes and a Gemm.
 */
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { attr, GraphBuilder } from '../../src/engine/graph_builder.js';

const { values } = parseArgs({
  options: {
    in: { type: 'string', default: '512' },
    out: { type: 'string', default: '512' },
    threads: { type: 'string', default: '2' },
    runs: { type: 'string', default: '20' },
  },
});
const [K, I, O] = [9, Number(values.in), Number(values.out)];
const RUNS = Number(values.runs);

type Build = (b: GraphBuilder, x: string) => string;

/** Mean ms of one run of the graph `build` makes, and its output values. */
async function time(build: Build): Promise<{ ms: number; out: Float32Array }> {
  const b = new GraphBuilder();
  const x = b.reserve('x');
  b.addInput(x, [3, 3, I, O], 'float32');
  b.op('Identity', [build(b, x)], {}, b.reserve('y'));
  b.addOutput('y', [], 'float32');
  const session = await ort.InferenceSession.create(b.toBytes(), {
    intraOpNumThreads: Number(values.threads),
    logSeverityLevel: 3,
  });
  const data = Float32Array.from({ length: K * I * O }, (_, i) => i);
  const feed = { x: new ort.Tensor('float32', data, [3, 3, I, O]) };
  const out = (await session.run(feed)).y.data as Float32Array;
  for (let i = 0; i < 3; i++) await session.run(feed);
  const t0 = performance.now();
  for (let i = 0; i < RUNS; i++) await session.run(feed);
  const ms = (performance.now() - t0) / RUNS;
  await session.release();
  return { ms, out };
}

const T = (b: GraphBuilder, x: string, perm: number[]) =>
  b.op('Transpose', [x], { perm: attr.ints(perm) });
const R = (b: GraphBuilder, x: string, shape: number[]) => b.op('Reshape', [x, b.int64s(shape)]);
const eye = (b: GraphBuilder, n: number) =>
  b.constant(
    Float32Array.from({ length: n * n }, (_, i) => (i % (n + 1) === 0 ? 1 : 0)),
    [n, n],
    'float32',
  );
const reverseRows = (b: GraphBuilder, x: string) =>
  b.op('Slice', [x, b.int64s([-1]), b.int64s([-2147483648]), b.int64s([0]), b.int64s([-1])]);

const forms: { name: string; reference: string; build: Build }[] = [
  { name: 'floor: Neg of the filter', reference: '', build: (b, x) => b.op('Neg', [x]) },
  { name: 'OIHW: direct Transpose 3,2,0,1', reference: 'oihw', build: (b, x) => T(b, x, [3, 2, 0, 1]) },
  {
    name: 'OIHW: 2-D T + T 1,0,2 (ORT merges)',
    reference: 'oihw',
    build: (b, x) => R(b, T(b, R(b, T(b, R(b, x, [K, I * O]), [1, 0]), [I, O, K]), [1, 0, 2]), [O, I, 3, 3]),
  },
  {
    name: 'OIHW: T 0,2,1 + Gemm(transA, I) [engine]',
    reference: 'oihw',
    build: (b, x) => {
      const perTap = T(b, R(b, x, [K, I, O]), [0, 2, 1]);
      const g = b.op('Gemm', [R(b, perTap, [K, O * I]), eye(b, K)], { transA: attr.int(1) });
      return R(b, g, [O, I, 3, 3]);
    },
  },
  { name: 'flipped IOHW: direct T 2,3,0,1 + flips', reference: 'flip', build: (b, x) => {
    const t = T(b, x, [2, 3, 0, 1]);
    return b.op('Slice', [t, b.int64s([-1, -1]), b.int64s([-2147483648, -2147483648]), b.int64s([2, 3]), b.int64s([-1, -1])]);
  } },
  {
    name: 'flipped IOHW: reversed rows + 2-D T [engine]',
    reference: 'flip',
    build: (b, x) => R(b, T(b, reverseRows(b, R(b, x, [K, I * O])), [1, 0]), [I, O, 3, 3]),
  },
]; // prettier-ignore

const results = new Map<string, { ms: number; out: Float32Array }>();
for (const f of forms) results.set(f.name, await time(f.build));
const oihw = results.get(forms[1].name) as { out: Float32Array; ms: number };
const flip = results.get(forms[4].name) as { out: Float32Array; ms: number };
console.log(`filter 3x3x${I}x${O}, ${values.threads} ORT threads, mean of ${RUNS} runs`);
for (const f of forms) {
  const r = results.get(f.name) as { ms: number; out: Float32Array };
  const ref = f.reference === 'oihw' ? oihw : f.reference === 'flip' ? flip : null;
  const same = ref ? r.out.every((v, i) => v === ref.out[i]) : true;
  const ratio = ref ? `${(ref.ms / r.ms).toFixed(2)}x the direct form` : '';
  console.log(
    `  ${f.name.padEnd(44)} ${r.ms.toFixed(2).padStart(7)} ms  ${ratio}${same ? '' : '  VALUES DIFFER'}`,
  );
}
