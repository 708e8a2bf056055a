/**
 * Compiles a tensor function to one ONNX Runtime session: traces one eager run on the active
 * tfjs backend, cpu or wasm (./trace.ts), lowers the recorded kernels (./lower.ts) and opens a session (./session.ts).
 * The compiled function takes tensors of the traced shapes and dtypes.
 *
 * This is the building block of the compiled step runner (./compiled_step.ts) and is useful on its
 * own for inference graphs and kernel tests.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '../core/random.js';
import { drawRandoms } from './capture.js';
import { feedAndRun } from './feed.js';
import { lowerTrace, type LoweredModel } from './lower.js';
import { createSession, dtypeOfOrt, fromOrt, ortRuntime, type SessionOptions } from './session.js';
import { Trace, type TracedRandom, type TracedValue } from './trace.js';

export interface CompiledFunction {
  /**
   * Runs the graph on inputs named and shaped as at compile time; returns the outputs. Random
   * draws the traced function made (src/core/random_ops.ts) are redrawn from `rng`, one seed per
   * draw in draw order, so a function that draws from one stream gives the values an eager run
   * with an equal stream would.
   */
  run(inputs: Record<string, tf.Tensor>, rng?: Rng): Promise<tf.Tensor[]>;
  /** Number of random draws the traced function made. */
  readonly randomDraws: number;
  /** ONNX op types of the graph, in node order. */
  readonly opTypes: string[];
  /** The serialised ONNX model. */
  readonly model: Uint8Array;
  dispose(): Promise<void>;
}

/** Traces `fn` on `example` inputs; returns the lowered model (throws on unmapped kernels). */
export function traceAndLower(
  example: Record<string, tf.Tensor>,
  fn: (inputs: Record<string, tf.Tensor>) => tf.Tensor[],
): LoweredModel & { randoms: TracedRandom[] } {
  const trace = new Trace();
  for (const [name, t] of Object.entries(example)) trace.bindInput(name, t);
  let outputs: TracedValue[] = [];
  tf.tidy(() => {
    trace.run(() => {
      outputs = fn(example).map((t) => trace.lookup(t));
    });
  });
  if (trace.dataReads.length) {
    throw new Error(
      `engine: the function reads traced values in JavaScript (${trace.dataReads[0]}); ` +
        'its graph would depend on one run',
    );
  }
  return { ...lowerTrace(trace, outputs), randoms: trace.randoms };
}

/** Compiles `fn` for inputs shaped like `example`. */
export async function compileFunction(
  example: Record<string, tf.Tensor>,
  fn: (inputs: Record<string, tf.Tensor>) => tf.Tensor[],
  opts: SessionOptions = {},
): Promise<CompiledFunction> {
  const lowered = traceAndLower(example, fn);
  const runtime = await ortRuntime(opts);
  const session = await createSession(lowered.bytes, { ...opts, runtime });
  const outValues = lowered.outputNames.map((_, i) => i);
  const live = new Set<number>();
  for (const gi of lowered.inputs) if (gi.kind === 'random') live.add(gi.index);
  return {
    opTypes: lowered.opTypes,
    model: lowered.bytes,
    randomDraws: lowered.randoms.length,
    async run(inputs, rng) {
      if (lowered.randoms.length && !rng) {
        throw new Error(
          `engine: the compiled function makes ${lowered.randoms.length} random draw(s); pass an Rng to run()`,
        );
      }
      const { result } = await feedAndRun({
        session,
        runtime,
        lowered,
        subject: 'compiled function',
        drawn: drawRandoms(
          lowered.randoms,
          lowered.randoms.map(() => rng as Rng),
          live,
        ),
        input: (name) => inputs[name],
      });
      return outValues.map((i) => {
        const name = lowered.outputNames[i];
        const dims = result[name].dims as number[];
        return fromOrt(result[name], [...dims], dtypeOfOrt(result[name].type));
      });
    },
    async dispose() {
      await session.release();
    },
  };
}
