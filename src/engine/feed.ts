/**
 * Feeds a lowered model's inputs to its ONNX Runtime session and runs it: the one feed/run path of
 * compiled functions (./compile.ts), models (./compile_model.ts) and steps (./compiled_step.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { LoweredModel } from './lower.js';
import { toOrt, type OrtRuntime, type OrtSession, type OrtTensor } from './session.js';

export interface FeedRunArgs {
  session: OrtSession;
  runtime: OrtRuntime;
  lowered: LoweredModel;
  /** What the session computes, for errors ('compiled model', 'compiled step', ...). */
  subject: string;
  /** The tensors of the random inputs, by draw index (./capture.ts drawRandoms). */
  drawn: Map<number, tf.Tensor>;
  /** The tensor fed for a named graph input (undefined: missing). */
  input(name: string): tf.Tensor | undefined;
  /** The ORT tensor for a checked input; default a fresh copy (toOrt). */
  feedOf?(name: string, t: tf.Tensor): OrtTensor;
  /** Tensors disposed with the random draws once the run ends. */
  temporaries?: tf.Tensor[];
}

/**
 * Checks every named input against the shape and dtype the graph was traced with (throwing one line
 * naming the input), runs the session, and disposes the draws and temporaries.
 * @returns the session's outputs and the time (performance.now) the feeds were ready
 */
export async function feedAndRun(
  args: FeedRunArgs,
): Promise<{ result: Record<string, OrtTensor>; fedAt: number }> {
  const { runtime, drawn, subject } = args;
  const temporaries = [...drawn.values(), ...(args.temporaries ?? [])];
  let result: Record<string, OrtTensor>;
  let fedAt: number;
  try {
    const feeds: Record<string, OrtTensor> = {};
    for (const gi of args.lowered.inputs) {
      if (gi.kind === 'random') {
        feeds[gi.onnxName] = toOrt(runtime, drawn.get(gi.index) as tf.Tensor);
        continue;
      }
      const t = args.input(gi.name);
      if (!t) throw new Error(`engine: the ${subject} needs input '${gi.name}', which is missing`);
      if (!tf.util.arraysEqual(t.shape, gi.value.shape) || t.dtype !== gi.value.dtype) {
        throw new Error(
          `engine: input '${gi.name}' is [${t.shape}] ${t.dtype}, the ${subject} was compiled for [${gi.value.shape}] ${gi.value.dtype}`,
        );
      }
      feeds[gi.onnxName] = args.feedOf ? args.feedOf(gi.name, t) : toOrt(runtime, t);
    }
    fedAt = performance.now();
    result = await args.session.run(feeds);
  } finally {
    tf.dispose(temporaries);
  }
  return { result, fedAt };
}
