/**
 * Lowers a finished capture and opens its ONNX Runtime session, or falls back: the one path the
 * compiled models (./compile_model.ts) and steps (./compiled_step.ts) take after tracing.
 */
import type { EngineFallback } from '../core/step_parts.js';
import { lowerTrace, type LoweredModel } from './lower.js';
import {
  createSession,
  ortRuntime,
  type OrtRuntime,
  type OrtSession,
  type SessionOptions,
} from './session.js';
import type { Trace, TracedValue } from './trace.js';

export interface OpenedProgram {
  lowered: LoweredModel;
  runtime: OrtRuntime;
  session: OrtSession;
  /** Draw indices the graph reads (the others need no tensor). */
  liveRandoms: Set<number>;
}

export interface OpenProgramContext {
  /** What is compiled, for messages ('model', 'training step', ...). */
  subject: string;
  fallback: EngineFallback;
  warn: (message: string) => void;
  session: SessionOptions;
  /** Lowering and session-creation milliseconds are added here. */
  times: { lowerMs: number; sessionMs: number };
}

/**
 * Lowers `outputs` of `trace` and opens a session. A capture refusal (`refusal`, see
 * ./capture.ts captureRefusal) or a lowering error throws under fallback 'error'; under 'warn' it
 * warns and returns null (the caller runs eagerly).
 */
export async function lowerAndOpen(
  trace: Trace,
  outputs: TracedValue[],
  refusal: string | null,
  ctx: OpenProgramContext,
): Promise<OpenedProgram | null> {
  let lowered: LoweredModel;
  try {
    if (refusal) throw new Error(refusal);
    const lowerStart = performance.now();
    lowered = lowerTrace(trace, outputs);
    ctx.times.lowerMs += performance.now() - lowerStart;
  } catch (err) {
    const why = (err as Error).message;
    if (ctx.fallback === 'error') {
      throw new Error(
        `engine: the ${ctx.subject} cannot be compiled (runtime.engine_fallback is 'error'): ${why}`,
        { cause: err },
      );
    }
    ctx.warn(`engine: the ${ctx.subject} runs eagerly on tfjs (not compiled): ${why}`);
    return null;
  }
  const sessionStart = performance.now();
  const runtime = await ortRuntime(ctx.session);
  const session = await createSession(lowered.bytes, { ...ctx.session, runtime });
  ctx.times.sessionMs += performance.now() - sessionStart;
  const liveRandoms = new Set<number>();
  for (const gi of lowered.inputs) if (gi.kind === 'random') liveRandoms.add(gi.index);
  return { lowered, runtime, session, liveRandoms };
}
