/**
 * Best-checkpoint export, as Model Garden's `BestCheckpointExporter`
 * (official/core/train_utils.py): when the chosen eval metric improves, the evaluated checkpoint is
 * saved to its own directory (`model_dir/<best_checkpoint_export_subdir>`) by its own checkpoint
 * manager (file name `best_ckpt`, `max_to_keep` 1) and the eval results, with
 * `best_ckpt_global_step`, are written to `info.json` there.
 *
 * The exporter writes only inside that directory: it never writes, repoints or deletes the
 * training checkpoints, so an evaluator can run beside the trainer.
 */
import { readFile } from 'node:fs/promises';
import { relative, resolve } from 'node:path';
import {
  atomicWriteFile,
  CheckpointManager,
  writeFully,
  type CheckpointContent,
} from './checkpoint.js';

/** Model Garden's BEST_CHECKPOINT_NAME. */
export const BEST_CHECKPOINT_NAME = 'best_ckpt';
export const BEST_INFO_FILE = 'info.json';

export interface BestExportResult {
  path: string;
  metric: string;
  value: number;
}

export class BestCheckpointExporter {
  readonly directory: string;
  private readonly manager: CheckpointManager;

  /**
   * @param modelDir the training directory
   * @param subdir trainer.best_checkpoint_export_subdir (a sub-folder of modelDir)
   * @param metric the eval result compared (trainer.best_checkpoint_eval_metric or the task's)
   * @param comp trainer.best_checkpoint_metric_comp
   */
  constructor(
    modelDir: string,
    subdir: string,
    readonly metric: string,
    readonly comp: 'higher' | 'lower',
  ) {
    this.directory = resolve(modelDir, subdir);
    const rel = relative(resolve(modelDir), this.directory);
    if (rel === '') {
      throw new Error(
        `trainer.best_checkpoint_export_subdir '${subdir}' is model_dir itself; best checkpoints need their own folder (e.g. 'best_ckpt')`,
      );
    }
    this.manager = new CheckpointManager(this.directory, {
      prefix: BEST_CHECKPOINT_NAME,
      maxToKeep: 1,
    });
  }

  get infoPath(): string {
    return resolve(this.directory, BEST_INFO_FILE);
  }

  /** The recorded best value of the metric, or null when nothing was exported yet. */
  async bestValue(): Promise<number | null> {
    let text: string;
    try {
      text = await readFile(this.infoPath, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    let info: unknown;
    try {
      info = JSON.parse(text);
    } catch (err) {
      throw new Error(`${this.infoPath}: not valid JSON (${(err as Error).message})`, {
        cause: err,
      });
    }
    const value = (info as Record<string, unknown> | null)?.[this.metric];
    if (typeof value !== 'number') {
      throw new Error(`${this.infoPath}: '${this.metric}' is missing or not a number`);
    }
    return value;
  }

  /**
   * Exports `content` (the evaluated checkpoint, taken at `step`; a function is called only when
   * exporting) when `results[metric]` beats the recorded best. Returns what was exported, or null
   * when the metric did not improve.
   */
  async maybeExport(
    content: CheckpointContent | (() => Promise<CheckpointContent>),
    step: number,
    results: Record<string, number>,
  ): Promise<BestExportResult | null> {
    const value = results[this.metric];
    if (value === undefined) {
      throw new Error(
        `trainer.best_checkpoint_eval_metric '${this.metric}' is not an eval result; have: ${Object.keys(results).join(', ')}`,
      );
    }
    if (!Number.isFinite(value)) return null;
    const best = await this.bestValue();
    const better = best === null || (this.comp === 'higher' ? value > best : value < best);
    if (!better) return null;
    await this.manager.removeStaleTempFiles();
    // The checkpoint first, then info.json, so info.json never names a step whose file is missing.
    const path = await this.manager.save(
      step,
      typeof content === 'function' ? await content() : content,
    );
    const info: Record<string, number> = {};
    for (const [k, v] of Object.entries(results)) if (Number.isFinite(v)) info[k] = v;
    info.best_ckpt_global_step = step;
    const bytes = new TextEncoder().encode(JSON.stringify(info, null, 4) + '\n');
    await atomicWriteFile(this.infoPath, (fh) => writeFully(fh, bytes, 0));
    return { path, metric: this.metric, value };
  }
}
