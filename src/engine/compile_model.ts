/**
 * Compiled inference: `compileModel(fn, exampleInputs, opts)` returns a {@link CompiledModel}
 * that runs `fn` — any function from named tensors to a structure of tensors (and plain values),
 * e.g. a model's forward pass — as one ONNX graph per input signature (input names, shapes,
 * dtypes), compiled on first use of the signature and cached.
 *
 *  - Inputs are the names of `fn`'s argument; outputs are named by their path in `fn`'s result
 *    (`probabilities`, `losses/total_loss`, `state/buffer`), see ./structure.ts.
 *  - Weights: the variables in `opts.variables` are graph inputs fed from their current values
 *    on every run; the ORT copy of a weight is reused while its tfjs buffer is unchanged (a tfjs
 *    buffer never changes its values; `assign` gives a variable a new one), so repeated runs do
 *    not copy the weights again. Reading any other variable is refused (its value would be
 *    frozen into the graph).
 *  - Streaming: state is explicit. Inputs named `state/<name>` and outputs at `state/<name>` are
 *    fed back by {@link CompiledModel.runStream}; no `tf.Variable` holds stream state.
 *  - A signature that cannot be compiled follows `fallback` (runtime.engine_fallback): 'error'
 *    throws naming every kernel without a lowering and its layer; 'warn' runs `fn` eagerly for
 *    that signature after one warning.
 *
 * The compiled step runner (./compiled_step.ts) evaluates through this class; `predict`, the
 * demo and `evaluate` use it on the onnx backend.
 */
import * as tf from '@tensorflow/tfjs-core';
import { resolveEngineFallback } from '../core/backend/index.js';
import { keepAll, type EngineFallback, type NamedVariable } from '../core/step_parts.js';
import {
  bindTensors,
  captureRefusal,
  drawRandoms,
  ownBuffers,
  signatureOf,
  startCapture,
  type TraceOn,
} from './capture.js';
import { feedAndRun } from './feed.js';
import type { LoweredModel } from './lower.js';
import { lowerAndOpen } from './open_program.js';
import {
  fromOrt,
  toOrt,
  type OrtRuntime,
  type OrtSession,
  type OrtTensor,
  type SessionOptions,
} from './session.js';
import { rebuild, templateOf, type OutputTemplate } from './structure.js';
import type { TracedRandom, TracedValue } from './trace.js';

export interface CompileModelOptions extends SessionOptions {
  /** Variables fed as graph inputs (weights), by name, e.g. `model/<keras path>`. */
  variables?: NamedVariable[];
  /** See the module comment; default `resolveEngineFallback(null)`. */
  fallback?: EngineFallback;
  /** Receives the one-per-signature fallback warnings; default `console.warn`. */
  warn?: (message: string) => void;
  /** The backend the capture records on (./capture.ts); default 'cpu'. */
  traceOn?: TraceOn;
  /** Added to by every compile and run (the compiled step runner passes its own). */
  times?: PhaseTimes;
  /** What the warnings and errors call a run of `fn`; default 'model'. */
  what?: string;
}

/**
 * Cumulative wall time of compiled runs, in milliseconds (for benchmarks):
 *  - `trace`: capturing runs (one per input signature); `lower`: lowering to ONNX;
 *  - `session`: creating ORT sessions; `feed`: random draws and tfjs → ORT inputs;
 *  - `run`: `InferenceSession.run`; `fetch`: outputs back to tfjs (and, in training steps, to
 *    the variables).
 */
export interface PhaseTimes {
  /** Compiled runs (training and evaluation steps, inference calls). */
  steps: number;
  traceMs: number;
  lowerMs: number;
  sessionMs: number;
  feedMs: number;
  runMs: number;
  fetchMs: number;
}

export function emptyPhaseTimes(): PhaseTimes {
  return { steps: 0, traceMs: 0, lowerMs: 0, sessionMs: 0, feedMs: 0, runMs: 0, fetchMs: 0 };
}

interface ModelProgram {
  kind: 'compiled';
  session: OrtSession;
  runtime: OrtRuntime;
  lowered: LoweredModel;
  randoms: TracedRandom[];
  liveRandoms: Set<number>;
  template: OutputTemplate;
  /** Output index → its name and traced shape / dtype. */
  outputs: { name: string; value: TracedValue }[];
  /** Input names `fn` takes in this signature, sorted. */
  inputNames: string[];
}

/**
 * ORT copies of variables, reused while the variable's tfjs buffer is the same (see the module
 * comment); `clear` drops them (training assigns new buffers every step).
 */
export class FeedCache {
  private readonly feeds = new Map<string, { dataId: object; tensor: OrtTensor }>();

  get(runtime: OrtRuntime, name: string, t: tf.Tensor): OrtTensor {
    const cached = this.feeds.get(name);
    if (cached && cached.dataId === t.dataId) return cached.tensor;
    const tensor = toOrt(runtime, t);
    this.feeds.set(name, { dataId: t.dataId, tensor });
    return tensor;
  }

  clear(): void {
    this.feeds.clear();
  }
}

export class CompiledModel<O> {
  private readonly programs = new Map<string, ModelProgram | { kind: 'eager' }>();
  private readonly feeds = new FeedCache();
  private readonly variables: NamedVariable[];
  private readonly fallback: EngineFallback;
  private readonly warn: (message: string) => void;
  readonly times: PhaseTimes;

  constructor(
    private readonly fn: (inputs: Record<string, tf.Tensor>) => O,
    private readonly opts: CompileModelOptions = {},
  ) {
    this.variables = opts.variables ?? [];
    const names = new Set<string>();
    for (const v of this.variables) {
      if (names.has(v.name)) throw new Error(`compileModel: variable '${v.name}' is given twice`);
      names.add(v.name);
    }
    this.fallback = opts.fallback ?? resolveEngineFallback(null);
    this.warn = opts.warn ?? ((m) => console.warn(m));
    this.times = opts.times ?? emptyPhaseTimes();
  }

  /** How inputs of this signature run: 'compiled', 'eager', or 'new' if not yet seen. */
  modeFor(inputs: Record<string, tf.Tensor>): 'compiled' | 'eager' | 'new' {
    return this.programs.get(signatureOf(inputs))?.kind ?? 'new';
  }

  /** Number of input signatures compiled (or given up on) so far. */
  get signatures(): number {
    return this.programs.size;
  }

  /** Input names of the signature of `inputs` (compiled), sorted, then the variables' names. */
  inputNames(inputs: Record<string, tf.Tensor>): string[] {
    return [...this.compiled(inputs).inputNames, ...this.variables.map((v) => v.name)];
  }

  /**
   * The ONNX graph compiled for the signature of `inputs` (after {@link prepare}): weights are
   * graph inputs named as `opts.variables`; used by the ONNX export (src/export).
   */
  loweredFor(inputs: Record<string, tf.Tensor>): LoweredModel {
    return this.compiled(inputs).lowered;
  }

  /** Output names of the signature of `inputs` (compiled), in output order. */
  outputNames(inputs: Record<string, tf.Tensor>): string[] {
    return this.compiled(inputs).outputs.map((o) => o.name);
  }

  private compiled(inputs: Record<string, tf.Tensor>): ModelProgram {
    const p = this.programs.get(signatureOf(inputs));
    if (!p || p.kind !== 'compiled') {
      throw new Error(`compileModel: the input signature ${signatureOf(inputs)} is not compiled`);
    }
    return p;
  }

  /** Compiles the signature of `inputs` now (the first `run` would otherwise). */
  async prepare(inputs: Record<string, tf.Tensor>): Promise<void> {
    const key = signatureOf(inputs);
    if (!this.programs.has(key)) this.programs.set(key, await this.compile(inputs));
  }

  /** Runs `fn` on `inputs`; the returned tensors belong to the caller. */
  async run(inputs: Record<string, tf.Tensor>): Promise<O> {
    const key = signatureOf(inputs);
    let program = this.programs.get(key);
    if (!program) {
      program = await this.compile(inputs);
      this.programs.set(key, program);
    }
    if (program.kind === 'eager') {
      let out: O | null = null;
      tf.tidy(() => {
        out = keepAll(this.fn(inputs));
      });
      return out as unknown as O;
    }
    return this.runCompiled(program, inputs);
  }

  /**
   * Runs `fn` frame by frame, feeding each run's `state/<name>` outputs back as the next run's
   * `state/<name>` inputs (`initialState` holds the first ones, keyed `state/<name>`). Returns
   * every frame's outputs without the state, and the final state; `initialState` is not disposed.
   */
  async runStream(
    frames: Record<string, tf.Tensor>[],
    initialState: Record<string, tf.Tensor>,
  ): Promise<{ outputs: O[]; state: Record<string, tf.Tensor> }> {
    for (const k of Object.keys(initialState)) {
      if (!k.startsWith('state/')) {
        throw new Error(`runStream: state input '${k}' must be named 'state/<name>'`);
      }
    }
    let state = initialState;
    const outputs: O[] = [];
    for (const [i, frame] of frames.entries()) {
      const out = await this.run({ ...frame, ...state });
      const next = takeState(out, Object.keys(initialState), i);
      if (state !== initialState) tf.dispose(Object.values(state));
      state = next;
      outputs.push(out);
    }
    return { outputs, state };
  }

  /** Drops the cached ORT copies of the weights. */
  releaseFeeds(): void {
    this.feeds.clear();
  }

  async dispose(): Promise<void> {
    for (const p of this.programs.values()) {
      if (p.kind !== 'compiled') continue;
      // Writes the ORT profile file of a session opened with `profileFilePrefix`.
      if (this.opts.profileFilePrefix !== undefined) p.session.endProfiling();
      await p.session.release();
    }
    this.programs.clear();
    this.feeds.clear();
  }

  private async compile(
    inputs: Record<string, tf.Tensor>,
  ): Promise<ModelProgram | { kind: 'eager' }> {
    const what = this.opts.what ?? 'model';
    ownBuffers(this.variables);
    const { trace, restore } = await startCapture(this.opts.traceOn);
    const bound = bindTensors(trace, inputs);
    for (const v of this.variables) trace.bindInput(v.name, v.variable);
    const outs: { name: string; value: TracedValue }[] = [];
    let template: OutputTemplate = { value: null };
    const traceStart = performance.now();
    try {
      tf.tidy(() =>
        trace.run(() => {
          template = templateOf(this.fn(bound), (t, name) => {
            outs.push({ name, value: trace.lookup(t) });
            return outs.length - 1;
          });
        }),
      );
    } finally {
      await restore();
      for (const k of Object.keys(bound)) if (bound[k] !== inputs[k]) bound[k].dispose();
    }
    this.times.traceMs += performance.now() - traceStart;
    const opened = await lowerAndOpen(
      trace,
      outs.map((o) => o.value),
      captureRefusal(trace, 'the given variables'),
      {
        subject: what,
        fallback: this.fallback,
        warn: this.warn,
        session: this.opts,
        times: this.times,
      },
    );
    if (!opened) return { kind: 'eager' };
    const { session, runtime, lowered, liveRandoms } = opened;
    return {
      kind: 'compiled',
      session,
      runtime,
      lowered,
      randoms: trace.randoms,
      liveRandoms,
      template,
      outputs: outs,
      inputNames: Object.keys(inputs).sort(),
    };
  }

  private async runCompiled(p: ModelProgram, inputs: Record<string, tf.Tensor>): Promise<O> {
    const t0 = performance.now();
    const byName = new Map<string, tf.Tensor>(Object.entries(inputs));
    const variableNames = new Set<string>();
    for (const v of this.variables) {
      byName.set(v.name, v.variable);
      variableNames.add(v.name);
    }
    // Draws redraw from the streams the traced layers drew from.
    const drawn = drawRandoms(
      p.randoms,
      p.randoms.map((r) => r.rng),
      p.liveRandoms,
    );
    const { result, fedAt: t1 } = await feedAndRun({
      session: p.session,
      runtime: p.runtime,
      lowered: p.lowered,
      subject: `compiled ${this.opts.what ?? 'model'}`,
      drawn,
      input: (name) => byName.get(name),
      feedOf: (name, t) =>
        variableNames.has(name) ? this.feeds.get(p.runtime, name, t) : toOrt(p.runtime, t),
    });
    const t2 = performance.now();
    const out = rebuild(p.template, (i) => {
      const { value } = p.outputs[i];
      return fromOrt(result[p.lowered.outputNames[i]], value.shape, value.dtype);
    }) as O;
    this.times.steps += 1;
    this.times.feedMs += t1 - t0;
    this.times.runMs += t2 - t1;
    this.times.fetchMs += performance.now() - t2;
    return out;
  }
}

/** Takes the `state/<name>` tensors out of a run's outputs (throws naming a missing one). */
function takeState(out: unknown, names: string[], frame: number): Record<string, tf.Tensor> {
  const state = (out as { state?: Record<string, unknown> } | null)?.state;
  const next: Record<string, tf.Tensor> = {};
  for (const name of names) {
    const t = state?.[name.slice('state/'.length)];
    if (!(t instanceof tf.Tensor)) {
      throw new Error(`runStream: frame ${frame}: the function returned no output '${name}'`);
    }
    next[name] = t;
  }
  if (state) delete (out as { state?: unknown }).state;
  return next;
}

/**
 * Compiles `fn` for inputs like `exampleInputs` (other signatures compile on first use) and
 * returns the runner.
 */
export async function compileModel<O>(
  fn: (inputs: Record<string, tf.Tensor>) => O,
  exampleInputs: Record<string, tf.Tensor>,
  opts: CompileModelOptions = {},
): Promise<CompiledModel<O>> {
  const model = new CompiledModel(fn, opts);
  await model.prepare(exampleInputs);
  return model;
}
