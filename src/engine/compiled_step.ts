/**
 * The compiled step runner: the {@link StepRunner} of src/core/step.ts, with each training and
 * evaluation step captured once per input signature into one ONNX graph and run by one ONNX
 * Runtime session (onnxruntime-node unless `runtime` is given). Evaluation steps are a
 * {@link CompiledModel} of the forward pass (./compile_model.ts).
 *
 * Capture: the first step of a signature (batch keys, shapes, dtypes) runs the eager step once,
 * shape-only (heavy kernels not computed), on tfjs-backend-cpu (`traceOn`) under a kernel
 * {@link Trace}, WITHOUT assigning anything: forward
 * (`task.forward`), every loss term, gradients (tfjs's own gradient definitions via
 * `tf.variableGrads`), the optimizer's gradient transform and pure per-weight update
 * (`Optimizer.update`), batch-norm state updates (collected through `CallArgs.stateUpdates`) and
 * the EMA step. Graph inputs are the batch, `lr`, `step`, `ema_decay`, every model weight,
 * optimizer slot and EMA shadow, and every random draw (dropout, stochastic depth); graph outputs
 * are every loss term, the model outputs and the new weights, slots, moving statistics and
 * shadows. The tracing run draws its random numbers from a copy of the trainer's stream, so the
 * real stream is not advanced (a layer that draws from its own stream, without `args.rng`,
 * advances it once).
 *
 * Each step then: draws the random inputs from the trainer's stream exactly as the eager layers
 * would (one `rng.seed()` per draw, in draw order), feeds the current variable values, runs the
 * session, assigns the new values to the tfjs variables and returns losses as numbers and model
 * outputs as tfjs tensors.
 *
 * A step that cannot be compiled (a kernel without an ONNX lowering or with an output shape that
 * depends on values, JavaScript reads of traced values, variables read but not known to the step)
 * throws with `fallback: 'error'`, naming every such kernel and its layer; with 'warn' it runs
 * eagerly for that signature, after one warning that names the reason.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Layer } from '../core/layer.js';
import { Rng } from '../core/random.js';
import type { StepResult, StepRunner } from '../core/step.js';
import type { Batch, Losses } from '../core/task.js';
import { EagerStepRunner } from '../core/eager_step.js';
import { resolveEngineFallback } from '../core/backend/index.js';
import {
  checkStepScalars,
  emaDecay,
  evalStepValues,
  trainStepValues,
  type EngineFallback,
  type StepParts,
} from '../core/step_parts.js';
import {
  bindTensors,
  captureRefusal,
  drawRandoms,
  ownBuffers,
  signatureOf,
  startCapture,
  type TraceOn,
} from './capture.js';
import { CompiledModel, emptyPhaseTimes, type PhaseTimes } from './compile_model.js';
import { feedAndRun } from './feed.js';
import type { LoweredModel } from './lower.js';
import { lowerAndOpen } from './open_program.js';
import { disposeTensors, rebuild, templateOf, type OutputTemplate } from './structure.js';
import {
  fromOrt,
  scalarOf,
  type OrtRuntime,
  type OrtSession,
  type OrtTensor,
  type SessionOptions,
} from './session.js';
import type { Trace, TracedRandom, TracedValue } from './trace.js';

export interface CompiledStepOptions extends SessionOptions {
  /**
   * A step that cannot be compiled: 'warn' runs it eagerly after one warning per signature,
   * 'error' throws naming every kernel without a lowering and its layer. Default:
   * `resolveEngineFallback(null)` ('error' under CI and node's test runner, else 'warn').
   */
  fallback?: EngineFallback;
  /** Receives the one-per-signature fallback warnings; default `console.warn`. */
  warn?: (message: string) => void;
  /** The tfjs backend the capture records on (TraceOn in ./capture.ts); default 'cpu'. */
  traceOn?: TraceOn;
}

/** A variable the graph reads and may write: weight, slot or EMA shadow. */
interface StateVariable {
  /** Graph input name: `model/<path>`, `slot/<path>/<slot>`, `ema/<path>`. */
  name: string;
  variable: tf.Variable;
}

interface Program {
  kind: 'compiled';
  session: OrtSession;
  /** The runtime the session runs on (makes its input tensors). */
  runtime: OrtRuntime;
  lowered: LoweredModel;
  randoms: TracedRandom[];
  /** The stream each draw is redrawn from every step (aligned with `randoms`). */
  streams: Rng[];
  /** Draw indices that are graph inputs (the others only consume their seed). */
  liveRandoms: Set<number>;
  /** Loss term name → output index. */
  losses: [string, number][];
  outputs: OutputTemplate;
  /** Variables to assign from outputs, in eager assignment order. */
  assignments: { variable: tf.Variable; output: number }[];
  /** Output index → [shape, dtype]. */
  outputInfo: TracedValue[];
}

/** Where compiled steps spend their time (PhaseTimes of ./compile_model.ts). */
export type StepPhaseTimes = PhaseTimes;

interface Fallback {
  kind: 'eager';
}

/** Input signature of a batch: mode, keys, shapes and dtypes. */
function signature(mode: string, batch: Batch): string {
  return `${mode}|${signatureOf(batch)}`;
}

export class CompiledStepRunner<
  M extends Layer<unknown, unknown>,
  B extends Batch,
  O,
> implements StepRunner<B, O> {
  private readonly programs = new Map<string, Program | Fallback>();
  /** The evaluation forward pass, compiled per batch signature (./compile_model.ts). */
  private evalModel: CompiledModel<{ losses: Losses; outputs: O }> | null = null;
  private eager: EagerStepRunner<M, B, O> | null = null;
  private readonly warn: (message: string) => void;
  private readonly fallback: EngineFallback;
  /** Where compiled steps spend their time (training and evaluation steps together). */
  readonly phaseTimes: StepPhaseTimes = emptyPhaseTimes();

  constructor(
    private readonly parts: StepParts<M, B, O>,
    private readonly opts: CompiledStepOptions = {},
  ) {
    this.warn = opts.warn ?? ((m) => console.warn(m));
    this.fallback = opts.fallback ?? resolveEngineFallback(null);
  }

  /** How the step for this batch signature runs: 'compiled', 'eager', or 'new' if not yet seen. */
  modeFor(mode: 'train' | 'eval', batch: B): 'compiled' | 'eager' | 'new' {
    if (mode === 'eval') return this.evalModel?.modeFor(batch) ?? 'new';
    const p = this.programs.get(signature(mode, batch));
    return p ? p.kind : 'new';
  }

  private eagerRunner(): EagerStepRunner<M, B, O> {
    this.eager ??= new EagerStepRunner(this.parts);
    return this.eager;
  }

  /** Weights, slots and shadows, each with its own buffer (distinct graph inputs). */
  private stateVariables(training: boolean): StateVariable[] {
    const { model, optimizer, ema } = this.parts;
    const out: StateVariable[] = model.weights().map((w) => ({
      name: `model/${w.path}`,
      variable: w.variable,
    }));
    if (training) {
      for (const s of optimizer.slotVariables())
        out.push({ name: `slot/${s.name}`, variable: s.variable });
      if (ema)
        for (const s of ema.variables()) out.push({ name: `ema/${s.name}`, variable: s.variable });
    }
    ownBuffers(out);
    return out;
  }

  async trainStep(batch: B, learningRate: number, step: number): Promise<StepResult<O>> {
    checkStepScalars(learningRate, step);
    const key = signature('train', batch);
    let program = this.programs.get(key);
    if (!program) {
      program = await this.compileTrain(batch, learningRate, step);
      this.programs.set(key, program);
    }
    if (program.kind === 'eager') return this.eagerRunner().trainStep(batch, learningRate, step);
    const scalars: Record<string, number> = {
      lr: learningRate,
      step,
      ema_decay: this.parts.ema ? emaDecay(this.parts.ema.config, step) : 0,
    };
    // Training gives every weight a new buffer: the evaluation's cached weight copies are stale.
    this.evalModel?.releaseFeeds();
    const result = await this.run(program, batch, scalars);
    result.logs.learning_rate = learningRate;
    return result;
  }

  async evalStep(batch: B): Promise<StepResult<O>> {
    this.evalModel ??= new CompiledModel((b) => evalStepValues(this.parts, b as B), {
      ...this.opts,
      variables: this.stateVariables(false),
      fallback: this.fallback,
      warn: this.warn,
      times: this.phaseTimes,
      what: 'evaluation step',
    });
    const { losses, outputs } = await this.evalModel.run(batch);
    const logs: Record<string, number> = {};
    for (const [name, t] of Object.entries(losses)) logs[name] = (await t.data())[0];
    tf.dispose(Object.values(losses));
    return { logs, outputs };
  }

  /** Traces one training step (nothing assigned) and builds its session. */
  private async compileTrain(batch: B, lr: number, step: number): Promise<Program | Fallback> {
    const { model, optimizer, ema, rng } = this.parts;
    optimizer.ensureSlots(
      model.trainableWeights().map((w) => ({ path: w.path, variable: w.variable })),
    );
    const state = this.stateVariables(true);
    const traceRng = new Rng();
    traceRng.setState(rng.getState());
    const { trace, restore } = await startCapture(this.opts.traceOn);
    const scalars = {
      lr: tf.scalar(lr),
      step: tf.scalar(step),
      ema_decay: tf.scalar(ema ? emaDecay(ema.config, step) : 0),
    };
    for (const [k, t] of Object.entries(scalars)) trace.bindInput(k, t);
    const tracedBatch = bindTensors(trace, batch, 'batch/') as B;
    for (const s of state) trace.bindInput(s.name, s.variable);

    const outs: TracedValue[] = [];
    const losses: [string, number][] = [];
    const assignments: { variable: tf.Variable; output: number }[] = [];
    let template: OutputTemplate = { value: null };
    const emit = (t: tf.Tensor) => {
      outs.push(trace.lookup(t));
      return outs.length - 1;
    };
    const traceStart = performance.now();
    try {
      tf.tidy(() =>
        trace.run(() => {
          // The eager step's own parts (src/core/step_parts.ts), recorded instead of assigned.
          const r = trainStepValues(
            this.parts,
            tracedBatch,
            { lr: scalars.lr, step: scalars.step, emaDecay: scalars.ema_decay },
            traceRng,
          );
          for (const [name, t] of Object.entries(r.losses)) losses.push([name, emit(t)]);
          template = templateOf(r.outputs, emit);
          for (const u of r.updates)
            assignments.push({ variable: u.variable, output: emit(u.value) });
          tf.dispose(r.updates.map((u) => u.value));
          tf.dispose(Object.values(r.losses));
          disposeTensors(r.outputs);
        }),
      );
    } finally {
      await restore();
      // Copies bindTensors made of batch tensors that shared a buffer.
      for (const k of Object.keys(batch)) if (tracedBatch[k] !== batch[k]) tracedBatch[k].dispose();
    }
    this.phaseTimes.traceMs += performance.now() - traceStart;
    tf.dispose(Object.values(scalars));
    // Draws from the traced copy of the trainer's stream come from the trainer's stream itself.
    const streamOf = (r: TracedRandom) => (r.rng === traceRng ? rng : r.rng);
    return this.finish(trace, outs, losses, template, assignments, 'training', streamOf);
  }

  private async finish(
    trace: Trace,
    outs: TracedValue[],
    losses: [string, number][],
    template: OutputTemplate,
    assignments: { variable: tf.Variable; output: number }[],
    what: string,
    streamOf: (r: TracedRandom) => Rng,
  ): Promise<Program | Fallback> {
    const opened = await lowerAndOpen(
      trace,
      outs,
      captureRefusal(trace, 'model weights, slots or EMA shadows'),
      {
        subject: `${what} step`,
        fallback: this.fallback,
        warn: this.warn,
        session: this.opts,
        times: this.phaseTimes,
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
      streams: trace.randoms.map(streamOf),
      liveRandoms,
      losses,
      outputs: template,
      assignments,
      outputInfo: outs,
    };
  }

  private async run(
    program: Program,
    batch: B,
    scalars: Record<string, number>,
  ): Promise<StepResult<O>> {
    const { lowered, runtime } = program;
    const t0 = performance.now();
    const byName = new Map<string, tf.Tensor>();
    for (const s of this.stateVariables(true)) byName.set(s.name, s.variable);
    for (const [k, t] of Object.entries(batch)) byName.set(`batch/${k}`, t);
    const scalarTensors = Object.entries(scalars).map(([k, v]) => [k, tf.scalar(v)] as const);
    for (const [k, t] of scalarTensors) byName.set(k, t);
    // Training assigns new weights every step, so no ORT copy is kept between steps.
    const { result, fedAt: t1 } = await feedAndRun({
      session: program.session,
      runtime,
      lowered,
      subject: 'compiled step',
      drawn: drawRandoms(program.randoms, program.streams, program.liveRandoms),
      input: (name) => byName.get(name),
      temporaries: scalarTensors.map(([, t]) => t),
    });
    const t2 = performance.now();
    const outputAt = (i: number): OrtTensor => result[lowered.outputNames[i]] as OrtTensor;
    const tensorAt = (i: number): tf.Tensor => {
      const info = program.outputInfo[i];
      return fromOrt(outputAt(i), info.shape, info.dtype);
    };
    const logs: Record<string, number> = {};
    for (const [name, i] of program.losses) logs[name] = scalarOf(outputAt(i));
    for (const a of program.assignments) {
      const value = tensorAt(a.output);
      a.variable.assign(value);
      value.dispose();
    }
    const outputs = rebuild(program.outputs, tensorAt) as O;
    const times = this.phaseTimes;
    times.steps += 1;
    times.feedMs += t1 - t0;
    times.runMs += t2 - t1;
    times.fetchMs += performance.now() - t2;
    return { logs, outputs };
  }

  dispose(): void {
    for (const p of this.programs.values()) {
      if (p.kind !== 'compiled') continue;
      // Writes the ORT profile file of a session opened with `profileFilePrefix`.
      if (this.opts.profileFilePrefix !== undefined) p.session.endProfiling();
      void p.session.release();
    }
    this.programs.clear();
  }
}

/**
 * A compiled step runner over the same parts the eager runner takes (the trainer's `StepParts`).
 * Plug it in with `new Trainer({ ..., stepRunnerFactory: (parts) => createCompiledStepRunner(parts) })`.
 */
export function createCompiledStepRunner<M extends Layer<unknown, unknown>, B extends Batch, O>(
  parts: StepParts<M, B, O>,
  opts: CompiledStepOptions = {},
): CompiledStepRunner<M, B, O> {
  return new CompiledStepRunner(parts, opts);
}
