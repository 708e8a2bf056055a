/**
 * The trainer: drives any task through the step interface, in Model Garden's modes
 * (train, eval, train_and_eval, continuous_eval), with checkpoints, summaries, EMA and
 * best-checkpoint export (official/core/base_trainer.py, train_lib.py, actions.py).
 *
 * What a checkpoint holds (so that N steps + restart + N steps equals 2N steps):
 *   model/<weight path>            every weight, trainable or not (moving statistics)
 *   optimizer/<weight path>/<slot> optimizer slots
 *   ema/<weight path>              EMA shadows
 *   meta: step, trainer RNG state (dropout, stochastic depth), input pipeline position.
 */
import { basename, join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { Layer, Weight } from '../core/layer.js';
import { Rng, type RngState } from '../core/random.js';
import { EagerStepRunner } from '../core/eager_step.js';
import { disposeOutputs, type StepRunner } from '../core/step.js';
import type { EmaConfigLike, StepParts } from '../core/step_parts.js';
import type { Batch, InputPipeline, Metric, PipelineState, Task } from '../core/task.js';
import { BestCheckpointExporter } from './best_checkpoint.js';
import {
  assignToVariables,
  CheckpointError,
  CheckpointManager,
  tensorsFromVariables,
  type CheckpointContent,
  type CheckpointData,
} from './checkpoint.js';
import { loadWeights } from '../interop/load.js';
import { openCheckpointSource } from './open_checkpoint.js';
import { EmaState } from './ema.js';
import { buildOptimizer, OptimizerState } from './optimizers/index.js';
import { buildLearningRate } from './schedules.js';
import { SummaryWriter } from './summary.js';
import type { OptimizationConfig } from '../core/config/optimization.js';

/** The trainer fields this module reads (Model Garden's TrainerConfig names). */
export interface TrainerSettings {
  optimizer_config: OptimizationConfig;
  train_steps: number;
  validation_steps: number;
  validation_interval: number;
  steps_per_loop: number;
  summary_interval: number;
  checkpoint_interval: number;
  max_to_keep: number;
  continuous_eval_timeout: number;
  best_checkpoint_export_subdir: string;
  best_checkpoint_eval_metric: string;
  best_checkpoint_metric_comp: string;
  /** Sub-folder of model_dir for evaluation summaries (default 'validation'). */
  validation_summary_subdir?: string;
  /** MG's loss-bound check (see {@link lossBoundBroken}); defaults as MG's TrainerConfig. */
  loss_upper_bound?: number;
  recovery_begin_steps?: number;
  recovery_max_trials?: number;
  /** On a stop request (SIGINT/SIGTERM in the CLI), write a checkpoint before stopping. */
  preemption_on_demand_checkpoint: boolean;
}

/** Per-run choices of {@link Trainer.train} that are not part of the experiment config. */
export interface TrainRunOptions {
  /**
   * When no checkpoint in model_dir verifies, move them all aside (`*.corrupt`) and train from
   * step 0. Without it that case is an error; with a valid checkpoint present it is refused.
   */
  startOver?: boolean;
  /**
   * Stops training after the current step when aborted (the CLI aborts it on SIGINT/SIGTERM):
   * with trainer.preemption_on_demand_checkpoint a checkpoint is written first, then
   * {@link TrainingInterrupted} is thrown. `signal.reason` names the cause in the error.
   */
  signal?: AbortSignal;
}

/** Training stopped on request before train_steps; `checkpoint` is what holds its state, if any. */
export class TrainingInterrupted extends Error {
  override name = 'TrainingInterrupted';
  constructor(
    readonly reason: string,
    readonly step: number,
    readonly checkpoint: string | null,
  ) {
    super(
      checkpoint
        ? `training stopped by ${reason} at step ${step}; its state is in ${checkpoint}`
        : `training stopped by ${reason} at step ${step}; no checkpoint written (trainer.preemption_on_demand_checkpoint is false)`,
    );
  }
}

/**
 * Model Garden's Recovery check (core/base_trainer.py): with recovery_max_trials >= 0, a
 * training loss that is NaN or above loss_upper_bound from recovery_begin_steps on stops
 * training (trials > 0, restoring and retrying, are rejected by the config). MG checks the mean
 * loss of each steps_per_loop loop; this checks every step. A non-finite loss always stops.
 */
function lossBoundBroken(t: TrainerSettings, step: number, loss: number): boolean {
  if (!Number.isFinite(loss)) return true;
  if ((t.recovery_max_trials ?? 0) < 0 || step < (t.recovery_begin_steps ?? 0)) return false;
  return loss > (t.loss_upper_bound ?? 1e6);
}

export interface StepInfo {
  step: number;
  totalSteps: number;
  logs: Record<string, number>;
  /** Steps per second over the last `steps_per_loop` window. */
  stepsPerSecond: number;
}

/** Callbacks through which the CLI (the only layer that knows the screen) shows progress. */
export interface TrainerEvents {
  onTrainStart?(info: { startStep: number; totalSteps: number; resumedFrom: string | null }): void;
  onStep?(info: StepInfo): void;
  onEval?(info: { step: number; metrics: Record<string, number> }): void;
  onCheckpoint?(info: { step: number; path: string }): void;
  onMessage?(message: string): void;
}

export interface TrainerOptions<M extends Layer<unknown, unknown>, B extends Batch, O> {
  task: Task<M, B, O>;
  trainer: TrainerSettings;
  modelDir: string;
  /** Root seed of the trainer's random streams (data order, augmentation, dropout). */
  seed: number;
  events?: TrainerEvents;
  /** Swaps in a compiled step (the engine); default: eager tfjs. */
  stepRunnerFactory?: (parts: StepParts<M, B, O>) => StepRunner<B, O>;
  /** Batch size of the dummy batch used to build the model (default 1). */
  buildBatchSize?: number;
  /**
   * The resolved experiment config as YAML (what params.yaml holds): written once, as the text
   * summary `config` at step 0 of the train summaries, when a run starts from step 0.
   */
  configText?: string;
}

export type { StepParts };

export type EvalResults = Record<string, number>;

export class Trainer<M extends Layer<unknown, unknown>, B extends Batch, O> {
  readonly model: M;
  readonly optimizer: OptimizerState;
  readonly ema: EmaState | null;
  readonly checkpoints: CheckpointManager;
  /** Number of optimizer updates done so far. */
  step = 0;
  private readonly rng: Rng;
  private readonly lr: (step: number) => number;
  private readonly runner: StepRunner<B, O>;
  private trainInput: InputPipeline<B> | null = null;
  private pendingPipelineState: PipelineState | null = null;
  private writers = new Map<string, SummaryWriter>();
  private readonly bestExporter: BestCheckpointExporter | null;

  constructor(private readonly opts: TrainerOptions<M, B, O>) {
    const { task, trainer } = opts;
    this.model = task.buildModel();
    tf.tidy(() => {
      const dummy = task.dummyBatch(opts.buildBatchSize ?? 1);
      task.forward(this.model, dummy, { training: false });
      tf.dispose(Object.values(dummy));
    });
    const oc = trainer.optimizer_config;
    this.optimizer = new OptimizerState(buildOptimizer(oc.optimizer));
    this.optimizer.ensureSlots(this.paramsForOptimizer());
    this.lr = buildLearningRate(oc.learning_rate, oc.warmup);
    this.ema = oc.ema
      ? new EmaState(oc.ema as EmaConfigLike, this.emaWeights(oc.ema as EmaConfigLike))
      : null;
    this.rng = Rng.derive(opts.seed, 'trainer');
    this.checkpoints = new CheckpointManager(opts.modelDir, { maxToKeep: trainer.max_to_keep });
    this.bestExporter = trainer.best_checkpoint_export_subdir
      ? new BestCheckpointExporter(
          opts.modelDir,
          trainer.best_checkpoint_export_subdir,
          trainer.best_checkpoint_eval_metric || task.defaultEvalMetric || 'total_loss',
          trainer.best_checkpoint_metric_comp === 'lower' ? 'lower' : 'higher',
        )
      : null;
    const parts: StepParts<M, B, O> = {
      task,
      model: this.model,
      optimizer: this.optimizer,
      ema: this.ema,
      rng: this.rng,
      warn: (m) => this.message(m),
    };
    this.runner = opts.stepRunnerFactory
      ? opts.stepRunnerFactory(parts)
      : new EagerStepRunner(parts);
  }

  private paramsForOptimizer(): { path: string; variable: tf.Variable }[] {
    return this.model.trainableWeights().map((w) => ({ path: w.path, variable: w.variable }));
  }

  private emaWeights(cfg: EmaConfigLike): Weight[] {
    return cfg.trainable_weights_only === false
      ? this.model.weights()
      : this.model.trainableWeights();
  }

  private message(m: string): void {
    this.opts.events?.onMessage?.(m);
  }

  // ---------------------------------------------------------------- checkpoints

  private async checkpointContent(): Promise<CheckpointContent> {
    const entries: { name: string; tensor: tf.Tensor }[] = [];
    for (const w of this.model.weights())
      entries.push({ name: `model/${w.path}`, tensor: w.variable });
    for (const s of this.optimizer.slotVariables())
      entries.push({ name: `optimizer/${s.name}`, tensor: s.variable });
    if (this.ema)
      for (const s of this.ema.variables())
        entries.push({ name: `ema/${s.name}`, tensor: s.variable });
    const pipeline = this.trainInput?.getState() ?? this.pendingPipelineState;
    return {
      tensors: await tensorsFromVariables(entries),
      meta: { step: this.step, rng: this.rng.getState(), pipeline, model: this.model.name },
    };
  }

  async saveCheckpoint(): Promise<string> {
    const path = await this.checkpoints.save(this.step, await this.checkpointContent());
    this.opts.events?.onCheckpoint?.({ step: this.step, path });
    return path;
  }

  /** Restores weights (and, unless `weightsOnly`, optimizer, EMA, step, RNG and data position). */
  private restoreFrom(content: CheckpointData & { path?: string }, weightsOnly: boolean): void {
    // A header with a valid CRC can still carry a step no run writes (hand-made or foreign).
    const step = (content.meta as { step?: unknown } | undefined)?.step;
    if (typeof step !== 'number' || !Number.isSafeInteger(step) || step < 0) {
      throw new Error(
        `${content.path ?? 'checkpoint'}: header step must be a non-negative integer, got ${String(step)}`,
      );
    }
    const targets: { name: string; variable: tf.Variable }[] = this.model
      .weights()
      .map((w) => ({ name: `model/${w.path}`, variable: w.variable }));
    if (this.ema)
      for (const s of this.ema.variables())
        targets.push({ name: `ema/${s.name}`, variable: s.variable });
    if (!weightsOnly) {
      for (const s of this.optimizer.slotVariables())
        targets.push({ name: `optimizer/${s.name}`, variable: s.variable });
    }
    assignToVariables(content.tensors, targets, { strict: !weightsOnly });
    const meta = content.meta as {
      step: number;
      rng: { s: RngState; spare: number | null };
      pipeline: PipelineState | null;
    };
    this.step = meta.step;
    if (!weightsOnly) {
      this.rng.setState(meta.rng);
      this.pendingPipelineState = meta.pipeline ?? null;
    }
  }

  /**
   * Before training: removes temporary files of killed saves, then resumes from the newest valid
   * checkpoint, moving damaged newer ones aside (`*.corrupt`, reported) so that they are never
   * resumed from nor counted by max_to_keep. When every checkpoint is damaged it stops with an
   * error naming them, unless `startOver`. Returns the path resumed from, or null.
   */
  private async resumeForTraining(startOver: boolean): Promise<string | null> {
    for (const p of await this.checkpoints.removeStaleTempFiles())
      this.message(`removed ${basename(p)}, left by an interrupted save`);
    const found = await this.checkpoints.restoreLatestValid();
    const dir = this.checkpoints.directory;
    if (found.checkpoint && startOver) {
      throw new Error(
        `--start_over: ${basename(found.checkpoint.path)} in ${dir} is a valid checkpoint; resume without --start_over, or train in another model_dir`,
      );
    }
    if (!found.checkpoint && found.skipped.length > 0 && !startOver) {
      const bad = found.skipped.map((s) => `${basename(s.path)} (${s.reason})`).join(', ');
      throw new Error(
        `no valid checkpoint in ${dir}: ${bad}; pass --start_over to move them aside (*.corrupt) and train from step 0`,
      );
    }
    for (const s of found.skipped) {
      const moved = await this.checkpoints.quarantine(s.path);
      this.message(`${basename(s.path)} is corrupt (${s.reason}); moved to ${basename(moved)}`);
    }
    if (!found.checkpoint) return null;
    this.restoreFrom(found.checkpoint, false);
    return found.checkpoint.path;
  }

  /** Resumes from the newest valid checkpoint in model_dir; returns its path or null. */
  async restoreLatest(weightsOnly = false): Promise<string | null> {
    const found = await this.checkpoints.restoreLatestValid();
    for (const s of found.skipped) this.message(`skipping ${basename(s.path)}: ${s.reason}`);
    if (!found.checkpoint) return null;
    this.restoreFrom(found.checkpoint, weightsOnly);
    return found.checkpoint.path;
  }

  /**
   * A fresh run loads the task's init_checkpoint (Model Garden's Task.initialize, called by its
   * trainer when model_dir has no checkpoint); a resumed run does not.
   */
  async initializeFromCheckpoint(): Promise<void> {
    const spec = this.opts.task.initCheckpoint?.();
    if (!spec) return;
    const source = await openCheckpointSource(spec.path);
    try {
      const { loaded } = loadWeights(this.model, source, {
        modules: spec.modules,
        strict: false,
        classDependent: spec.classDependent,
        log: (m) => this.message(m),
      });
      this.message(
        `initialized ${loaded} weights (${spec.modules.join(', ')}) from ${source.description}`,
      );
    } finally {
      source.close();
    }
  }

  // ---------------------------------------------------------------- summaries

  private writer(sub: string): SummaryWriter {
    let w = this.writers.get(sub);
    if (!w) {
      const dir = join(this.opts.modelDir, sub);
      w = new SummaryWriter(dir, { jsonl: join(dir, 'metrics.jsonl') });
      this.writers.set(sub, w);
    }
    return w;
  }

  private async writeScalars(
    sub: string,
    step: number,
    values: Record<string, number>,
  ): Promise<void> {
    const w = this.writer(sub);
    for (const [tag, v] of Object.entries(values)) {
      if (Number.isFinite(v)) w.scalar(tag, v, step);
    }
    await w.flush();
  }

  async close(): Promise<void> {
    for (const w of this.writers.values()) await w.close();
    this.writers.clear();
    this.trainInput?.dispose?.();
    this.trainInput = null;
  }

  // ---------------------------------------------------------------- train

  private async trainPipeline(): Promise<InputPipeline<B>> {
    if (!this.trainInput) {
      this.trainInput = await this.opts.task.buildInputs('train', {
        training: true,
        seed: this.opts.seed,
      });
      if (this.pendingPipelineState) this.trainInput.setState(this.pendingPipelineState);
    }
    return this.trainInput;
  }

  /**
   * Trains to `trainer.train_steps`, resuming from model_dir. With `evalEvery`, evaluates every
   * validation_interval steps (train_and_eval).
   */
  async train(evalEvery = false, run: TrainRunOptions = {}): Promise<EvalResults | null> {
    const t = this.opts.trainer;
    const resumedFrom = await this.resumeForTraining(run.startOver ?? false);
    if (!resumedFrom) await this.initializeFromCheckpoint();
    const input = await this.trainPipeline();
    const metrics = this.opts.task.buildMetrics(true);
    const startStep = this.step;
    this.opts.events?.onTrainStart?.({
      startStep,
      totalSteps: t.train_steps,
      resumedFrom,
    });
    let lastEval: EvalResults | null = null;
    let lastEvalStep: number | null = null;
    let windowStart = performance.now();
    let windowSteps = 0;
    let lossSums: Record<string, number> = {};
    let lossCount = 0;
    let stepsPerSecond = 0;
    while (this.step < t.train_steps) {
      if (run.signal?.aborted) await this.stopOnRequest(run.signal);
      const batch = await input.next();
      if (!batch)
        throw new Error('the training input pipeline ended; training pipelines must repeat');
      if (this.step === 0 && this.opts.configText !== undefined) {
        // Indented four spaces: TensorBoard's text plugin renders markdown, this keeps the YAML
        // a code block.
        const block = this.opts.configText.replace(/^/gm, '    ');
        this.writer('train').text('config', block, 0);
      }
      if (this.step === startStep && this.opts.task.summaryImages) {
        const w = this.writer('train');
        for (const img of await this.opts.task.summaryImages(batch)) {
          await w.image(img.tag, img, this.step + 1);
        }
      }
      const lr = this.lr(this.step);
      const { logs, outputs } = await this.runner.trainStep(batch, lr, this.step + 1);
      for (const m of metrics) await m.update(outputs, batch);
      disposeOutputs(outputs, (x) => x.dispose());
      tf.dispose(Object.values(batch));
      this.step += 1;
      windowSteps += 1;
      for (const [k, v] of Object.entries(logs)) lossSums[k] = (lossSums[k] ?? 0) + v;
      lossCount += 1;
      if (lossBoundBroken(t, this.step, logs.total_loss)) {
        throw new Error(
          `total_loss is ${logs.total_loss} at step ${this.step} (trainer.loss_upper_bound ` +
            `${t.loss_upper_bound ?? 1e6}); stopping (last checkpoint kept)`,
        );
      }
      const now = performance.now();
      if (windowSteps >= Math.max(1, t.steps_per_loop) || this.step === t.train_steps) {
        stepsPerSecond = (windowSteps * 1000) / Math.max(1e-9, now - windowStart);
        windowStart = now;
        windowSteps = 0;
      }
      this.opts.events?.onStep?.({
        step: this.step,
        totalSteps: t.train_steps,
        logs,
        stepsPerSecond,
      });
      if (this.step % Math.max(1, t.summary_interval) === 0 || this.step === t.train_steps) {
        const avg: Record<string, number> = {};
        for (const [k, v] of Object.entries(lossSums)) avg[k] = v / lossCount;
        for (const m of metrics) Object.assign(avg, m.result());
        if (stepsPerSecond > 0) avg.steps_per_second = stepsPerSecond;
        await this.writeScalars('train', this.step, avg);
        for (const m of metrics) m.reset();
        lossSums = {};
        lossCount = 0;
      }
      if (t.checkpoint_interval > 0 && this.step % t.checkpoint_interval === 0)
        await this.saveCheckpoint();
      if (evalEvery && t.validation_interval > 0 && this.step % t.validation_interval === 0) {
        lastEval = await this.evaluateAndExport();
        lastEvalStep = this.step;
      }
    }
    if (!this.checkpoints.hasStep(this.step)) await this.saveCheckpoint();
    if (evalEvery && lastEvalStep !== this.step) lastEval = await this.evaluateAndExport();
    return lastEval;
  }

  /** Writes the on-demand checkpoint (when configured) and throws {@link TrainingInterrupted}. */
  private async stopOnRequest(signal: AbortSignal): Promise<never> {
    const reason = signal.reason instanceof Error ? signal.reason.message : String(signal.reason);
    let path: string | null = null;
    if (this.opts.trainer.preemption_on_demand_checkpoint) {
      path = this.checkpoints.hasStep(this.step)
        ? this.checkpoints.pathForStep(this.step)
        : await this.saveCheckpoint();
    }
    throw new TrainingInterrupted(reason, this.step, path);
  }

  // ---------------------------------------------------------------- eval

  /** Evaluates the current weights (EMA weights when EMA is on) on the validation data. */
  async evaluate(): Promise<EvalResults> {
    const t = this.opts.trainer;
    const input = await this.opts.task.buildInputs('validation', {
      training: false,
      seed: this.opts.seed,
    });
    const metrics: Metric<O, B>[] = this.opts.task.buildMetrics(false);
    const sums: Record<string, number> = {};
    let batches = 0;
    this.ema?.swapIn();
    try {
      for (;;) {
        if (t.validation_steps > 0 && batches >= t.validation_steps) break;
        const batch = await input.next();
        if (!batch) break;
        const { logs, outputs } = await this.runner.evalStep(batch);
        for (const m of metrics) await m.update(outputs, batch);
        disposeOutputs(outputs, (x) => x.dispose());
        tf.dispose(Object.values(batch));
        for (const [k, v] of Object.entries(logs)) sums[k] = (sums[k] ?? 0) + v;
        batches += 1;
      }
    } finally {
      this.ema?.swapOut();
      input.dispose?.();
    }
    if (batches === 0) throw new Error('the validation input pipeline produced no batches');
    const results: EvalResults = {};
    for (const [k, v] of Object.entries(sums)) results[k] = v / batches;
    for (const m of metrics) Object.assign(results, m.result());
    await this.writeScalars(
      this.opts.trainer.validation_summary_subdir ?? 'validation',
      this.step,
      results,
    );
    this.opts.events?.onEval?.({ step: this.step, metrics: results });
    return results;
  }

  /**
   * Evaluates, then exports `content` (default: the trainer's current state) to the
   * best-checkpoint folder when the metric improved.
   */
  private async evaluateAndExport(
    content: () => Promise<CheckpointContent> = () => this.checkpointContent(),
  ): Promise<EvalResults> {
    const results = await this.evaluate();
    if (this.bestExporter) {
      const best = await this.bestExporter.maybeExport(content, this.step, results);
      if (best) {
        this.message(
          `new best ${best.metric} = ${best.value.toFixed(4)} at step ${this.step} → ${best.path}`,
        );
      }
    }
    return results;
  }

  /** Eval mode: restores the latest checkpoint's weights and evaluates once. */
  async evaluateLatest(): Promise<EvalResults> {
    const path = await this.restoreLatest(true);
    if (!path) throw new Error(`no checkpoint found in ${this.opts.modelDir}; train first`);
    return this.evaluate();
  }

  /**
   * Continuous eval: evaluates every new checkpoint written to model_dir, until one at
   * train_steps was evaluated or no new checkpoint arrived within continuous_eval_timeout seconds.
   */
  async continuousEval(pollMs = 1000): Promise<EvalResults | null> {
    const t = this.opts.trainer;
    let last: string | null = null;
    let results: EvalResults | null = null;
    for (;;) {
      const timeoutMs = t.continuous_eval_timeout > 0 ? t.continuous_eval_timeout * 1000 : 3600_000;
      const next: string | null = last === null ? await this.checkpoints.latestCheckpoint() : null;
      const path: string | null =
        next ?? (await this.checkpoints.waitForNewCheckpoint(last, { timeoutMs, pollMs }));
      if (!path) {
        this.message(`no new checkpoint within ${timeoutMs / 1000}s; stopping continuous eval`);
        return results;
      }
      last = path;
      let data: CheckpointData;
      try {
        data = await this.checkpoints.restore(path);
      } catch (err) {
        // The trainer may have pruned it meanwhile (max_to_keep); wait for the next one.
        if (!(err instanceof CheckpointError)) throw err;
        this.message(`skipping ${basename(path)}: ${err.reason}`);
        continue;
      }
      this.restoreFrom(data, true);
      // The evaluated checkpoint itself (read once, so the trainer's pruning cannot race it) is
      // what a best export writes; nothing is written to the training checkpoints.
      results = await this.evaluateAndExport(async () => data);
      if (this.step >= t.train_steps) return results;
    }
  }

  dispose(): void {
    this.runner.dispose?.();
    this.optimizer.dispose();
    this.ema?.dispose();
    this.model.dispose();
  }
}
