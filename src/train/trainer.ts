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
import { copyFile, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { Layer, Weight } from '../core/layer.js';
import { Rng, type RngState } from '../core/random.js';
import { EagerStepRunner } from '../core/eager_step.js';
import { disposeOutputs, type StepRunner } from '../core/step.js';
import type { StepParts } from '../core/step_parts.js';
import type { Batch, InputPipeline, Metric, PipelineState, Task } from '../core/task.js';
import {
  assignToVariables,
  CheckpointManager,
  tensorsFromVariables,
  type CheckpointContent,
  type CheckpointData,
} from './checkpoint.js';
import { loadWeights } from '../interop/load.js';
import { openCheckpointSource } from './open_checkpoint.js';
import { EmaState, type EmaConfigLike } from './ema.js';
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
}

export type { StepParts };

export type EvalResults = Record<string, number>;

/** The best metric value recorded in a best-checkpoint info.json, or null when there is none yet. */
async function readBestMetric(infoPath: string): Promise<number | null> {
  let text: string;
  try {
    text = await readFile(infoPath, 'utf8');
  } catch {
    return null;
  }
  const info = JSON.parse(text) as { best_metric_value?: unknown };
  if (typeof info.best_metric_value !== 'number') {
    throw new Error(`${infoPath}: best_metric_value is missing or not a number`);
  }
  return info.best_metric_value;
}

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
    const parts: StepParts<M, B, O> = {
      task,
      model: this.model,
      optimizer: this.optimizer,
      ema: this.ema,
      rng: this.rng,
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
  async train(evalEvery = false): Promise<EvalResults | null> {
    const t = this.opts.trainer;
    const resumedFrom = await this.restoreLatest();
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
      const batch = await input.next();
      if (!batch)
        throw new Error('the training input pipeline ended; training pipelines must repeat');
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

  private async evaluateAndExport(): Promise<EvalResults> {
    const results = await this.evaluate();
    await this.maybeExportBest(results);
    return results;
  }

  /** Copies the current checkpoint to best_checkpoint_export_subdir when the chosen metric improved. */
  private async maybeExportBest(results: EvalResults): Promise<void> {
    const t = this.opts.trainer;
    if (!t.best_checkpoint_export_subdir) return;
    const metric =
      t.best_checkpoint_eval_metric || this.opts.task.defaultEvalMetric || 'total_loss';
    const value = results[metric];
    if (value === undefined) {
      throw new Error(
        `trainer.best_checkpoint_eval_metric '${metric}' is not an eval result; have: ${Object.keys(results).join(', ')}`,
      );
    }
    const dir = join(this.opts.modelDir, t.best_checkpoint_export_subdir);
    const infoPath = join(dir, 'info.json');
    const best = await readBestMetric(infoPath);
    const higher = t.best_checkpoint_metric_comp !== 'lower';
    if (best !== null && (higher ? value <= best : value >= best)) return;
    if (!this.checkpoints.hasStep(this.step)) await this.saveCheckpoint();
    const src = this.checkpoints.pathForStep(this.step);
    await mkdir(dir, { recursive: true });
    const dst = join(dir, 'best.vgckpt');
    await copyFile(src, dst + '.tmp');
    await rename(dst + '.tmp', dst);
    const info = {
      best_ckpt_global_step: this.step,
      best_metric_name: metric,
      best_metric_value: value,
      best_ckpt_path: dst,
      results,
    };
    await writeFile(infoPath + '.tmp', JSON.stringify(info, null, 2) + '\n');
    await rename(infoPath + '.tmp', infoPath);
    this.message(`new best ${metric} = ${value.toFixed(4)} at step ${this.step} → ${dst}`);
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
      this.restoreFrom(await this.checkpoints.restore(path), true);
      results = await this.evaluateAndExport();
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
