/**
 * Checkpoint management for training runs: numbered `.vgckpt` files in a directory, a TensorFlow
 * style `checkpoint` pointer file naming the latest, retention of the newest `maxToKeep`, recovery
 * from a corrupt newest checkpoint, polling for new checkpoints (continuous eval), and bridges
 * between checkpoint tensors and tfjs variables.
 *
 * The pointer file uses TensorFlow's CheckpointState text format
 * (tensorflow/python/checkpoint/checkpoint_management.py), with paths relative to the directory:
 *
 * ```
 * model_checkpoint_path: "ckpt-20.vgckpt"
 * all_model_checkpoint_paths: "ckpt-10.vgckpt"
 * all_model_checkpoint_paths: "ckpt-20.vgckpt"
 * all_model_checkpoint_timestamps: 1717000000.5
 * all_model_checkpoint_timestamps: 1717000100.25
 * last_preserved_timestamp: 1716999990.125
 * ```
 */
import * as tf from '@tensorflow/tfjs-core';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import { basename, isAbsolute, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { TEMP_SUFFIX } from '../core/atomic_write.js';
import {
  atomicWriteFile,
  CHECKPOINT_EXTENSION,
  CheckpointError,
  listSome,
  readCheckpointFile,
  readCheckpointHeader,
  writeCheckpointFile,
  writeFully,
  type CheckpointContent,
  type CheckpointData,
  type ReadCheckpointOptions,
  type StoredTensor,
} from './checkpoint_format.js';

export * from './checkpoint_format.js';

/** Name of the pointer file inside a checkpoint directory, as in TensorFlow. */
export const CHECKPOINT_STATE_FILE = 'checkpoint';

// ---------------------------------------------------------------------------------------------
// CheckpointState text format

/** Contents of the `checkpoint` pointer file (TensorFlow's CheckpointState proto). */
export interface CheckpointState {
  /** The latest checkpoint, relative to the directory (or absolute). */
  modelCheckpointPath: string;
  /** All kept checkpoints, oldest first; the last is `modelCheckpointPath`. */
  allModelCheckpointPaths: string[];
  /** Seconds since the epoch at which each of `allModelCheckpointPaths` was written. */
  allModelCheckpointTimestamps: number[];
  /** Seconds since the epoch; TF's keep-every-n-hours bookkeeping (here: manager creation). */
  lastPreservedTimestamp?: number;
}

function quoteTextProto(s: string): string {
  let out = '"';
  for (const ch of s) {
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else out += ch;
  }
  return out + '"';
}

function unquoteTextProto(quoted: string, file: string, line: number): string {
  const q = quoted[0];
  if ((q !== '"' && q !== "'") || quoted.length < 2 || quoted[quoted.length - 1] !== q) {
    throw new CheckpointError(file, `line ${line}: expected a quoted string, got ${quoted}`);
  }
  const body = quoted.slice(1, -1);
  const bytes: number[] = [];
  const enc = new TextEncoder();
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c !== '\\') {
      bytes.push(...enc.encode(c));
      continue;
    }
    const n = body[++i];
    const simple: Record<string, number> = { n: 10, r: 13, t: 9, '"': 34, "'": 39, '\\': 92 };
    if (n in simple) bytes.push(simple[n]);
    else if (/[0-7]/.test(n)) {
      // Octal escapes (protobuf writes non-ASCII bytes as \ooo).
      const m = /^[0-7]{1,3}/.exec(body.slice(i))![0];
      bytes.push(parseInt(m, 8));
      i += m.length - 1;
    } else throw new CheckpointError(file, `line ${line}: unsupported escape \\${n}`);
  }
  return new TextDecoder().decode(Uint8Array.from(bytes));
}

/** Renders a {@link CheckpointState} in protobuf text format, fields in proto field order. */
export function formatCheckpointState(state: CheckpointState): string {
  const lines = [`model_checkpoint_path: ${quoteTextProto(state.modelCheckpointPath)}`];
  for (const p of state.allModelCheckpointPaths) {
    lines.push(`all_model_checkpoint_paths: ${quoteTextProto(p)}`);
  }
  for (const t of state.allModelCheckpointTimestamps)
    lines.push(`all_model_checkpoint_timestamps: ${t}`);
  if (state.lastPreservedTimestamp !== undefined) {
    lines.push(`last_preserved_timestamp: ${state.lastPreservedTimestamp}`);
  }
  return lines.join('\n') + '\n';
}

/**
 * Parses a `checkpoint` pointer file. Unknown fields are ignored (as newer TF versions add some).
 * @param file used in error messages
 * @throws CheckpointError for malformed lines or a missing model_checkpoint_path
 */
export function parseCheckpointState(text: string, file = CHECKPOINT_STATE_FILE): CheckpointState {
  const state: CheckpointState = {
    modelCheckpointPath: '',
    allModelCheckpointPaths: [],
    allModelCheckpointTimestamps: [],
  };
  const number = (v: string, line: number): number => {
    const x = Number(v);
    if (v.trim() === '' || !Number.isFinite(x)) {
      throw new CheckpointError(file, `line ${line}: expected a number, got ${v}`);
    }
    return x;
  };
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = i + 1;
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    const m = /^([A-Za-z_][A-Za-z0-9_]*)\s*:\s*(.*)$/.exec(trimmed);
    if (!m)
      throw new CheckpointError(file, `line ${line}: expected 'field: value', got ${trimmed}`);
    const [, key, value] = m;
    if (key === 'model_checkpoint_path') {
      state.modelCheckpointPath = unquoteTextProto(value, file, line);
    } else if (key === 'all_model_checkpoint_paths') {
      state.allModelCheckpointPaths.push(unquoteTextProto(value, file, line));
    } else if (key === 'all_model_checkpoint_timestamps') {
      state.allModelCheckpointTimestamps.push(number(value, line));
    } else if (key === 'last_preserved_timestamp') {
      state.lastPreservedTimestamp = number(value, line);
    }
  });
  if (!state.modelCheckpointPath) {
    throw new CheckpointError(file, 'no model_checkpoint_path in the checkpoint state');
  }
  return state;
}

// ---------------------------------------------------------------------------------------------
// CheckpointManager

export interface CheckpointManagerOptions {
  /** How many checkpoints to keep (default 5, Model Garden's trainer.max_to_keep); Infinity keeps all. */
  maxToKeep?: number;
  /** File name prefix: files are `<prefix>-<step>.vgckpt` (default 'ckpt', as tf.train.CheckpointManager). */
  prefix?: string;
}

/** A checkpoint read back by the manager. */
export interface RestoredCheckpoint extends CheckpointData {
  /** Absolute path of the file. */
  path: string;
  /** Step parsed from the file name, or null for a file not named `<prefix>-<step>.vgckpt`. */
  step: number | null;
}

/** A checkpoint {@link CheckpointManager.restoreLatestValid} passed over, and why. */
export interface SkippedCheckpoint {
  path: string;
  reason: string;
}

export interface RecoveryResult {
  /** The newest checkpoint that verified, or null when none did (or none exist). */
  checkpoint: RestoredCheckpoint | null;
  /** Newer checkpoints that failed verification, newest first. */
  skipped: SkippedCheckpoint[];
}

export interface WaitOptions {
  /** Give up after this many milliseconds and resolve null (default: wait forever). */
  timeoutMs?: number;
  /** Polling interval (default 1000 ms, TF's wait_for_new_checkpoint seconds_to_sleep=1). */
  pollMs?: number;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Saves, lists, prunes and restores numbered checkpoints in one directory.
 * Every method re-reads the directory, so several processes (trainer and evaluator) can share it.
 */
export class CheckpointManager {
  readonly directory: string;
  readonly maxToKeep: number;
  readonly prefix: string;
  private readonly namePattern: RegExp;
  private readonly createdAt = Date.now() / 1000;
  /** Saves run one after another, so overlapping calls cannot interleave pointer updates. */
  private saveQueue: Promise<unknown> = Promise.resolve();

  constructor(directory: string, opts: CheckpointManagerOptions = {}) {
    this.directory = resolve(directory);
    this.maxToKeep = opts.maxToKeep ?? 5;
    this.prefix = opts.prefix ?? 'ckpt';
    if (!(
      this.maxToKeep === Infinity ||
      (Number.isInteger(this.maxToKeep) && this.maxToKeep > 0)
    )) {
      throw new Error(
        `CheckpointManager: maxToKeep must be a positive integer or Infinity, got ${opts.maxToKeep}`,
      );
    }
    if (!/^[A-Za-z0-9_.-]+$/.test(this.prefix)) {
      throw new Error(
        `CheckpointManager: prefix must be a plain file name part (letters, digits, _ . -), got '${this.prefix}'`,
      );
    }
    this.namePattern = new RegExp(
      `^${escapeRegExp(this.prefix)}-(\\d+)${escapeRegExp(CHECKPOINT_EXTENSION)}$`,
    );
  }

  /** Absolute path of the checkpoint file for `step`. */
  pathForStep(step: number): string {
    return join(this.directory, `${this.prefix}-${step}${CHECKPOINT_EXTENSION}`);
  }

  /** Whether the checkpoint file for `step` exists (a synchronous check). */
  hasStep(step: number): boolean {
    return existsSync(this.pathForStep(step));
  }

  /** Step of a path named `<prefix>-<step>.vgckpt`, else null. */
  stepOf(path: string): number | null {
    const m = this.namePattern.exec(basename(path));
    return m ? Number(m[1]) : null;
  }

  private resolvePath(p: string): string {
    return isAbsolute(p) ? p : join(this.directory, p);
  }

  /** The parsed pointer file, or null if it is missing or unreadable. */
  async readState(): Promise<CheckpointState | null> {
    const file = join(this.directory, CHECKPOINT_STATE_FILE);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    try {
      return parseCheckpointState(text, file);
    } catch (err) {
      if (err instanceof CheckpointError) return null; // As TF: a bad state file is ignored.
      throw err;
    }
  }

  /** Checkpoint files on disk, sorted by step (ascending). Temporary files are ignored. */
  private async filesByStep(): Promise<{ path: string; step: number }[]> {
    let names: string[];
    try {
      names = await readdir(this.directory);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const found: { path: string; step: number }[] = [];
    for (const n of names) {
      const step = this.stepOf(n);
      if (step !== null) found.push({ path: join(this.directory, n), step });
    }
    return found.sort((a, b) => a.step - b.step);
  }

  /**
   * Checkpoint files in the directory, oldest first: sorted by step, except that the one the
   * pointer names (the last saved) comes last.
   */
  async checkpoints(): Promise<string[]> {
    const files = (await this.filesByStep()).map((f) => f.path);
    const state = await this.readState();
    const latest = state ? this.resolvePath(state.modelCheckpointPath) : null;
    const i = latest ? files.indexOf(latest) : -1;
    if (i >= 0) files.push(...files.splice(i, 1));
    return files;
  }

  /**
   * The latest checkpoint: the one the pointer file names if that file exists; otherwise the
   * highest-step checkpoint whose header verifies; null when there is none.
   */
  async latestCheckpoint(): Promise<string | null> {
    const state = await this.readState();
    if (state) {
      const p = this.resolvePath(state.modelCheckpointPath);
      if (await exists(p)) return p;
    }
    const files = await this.filesByStep();
    for (let i = files.length - 1; i >= 0; i--) {
      try {
        await readCheckpointHeader(files[i].path);
        return files[i].path;
      } catch (err) {
        if (!(err instanceof CheckpointError)) throw err;
      }
    }
    return null;
  }

  /**
   * Writes `<prefix>-<step>.vgckpt` atomically, points the `checkpoint` file at it, then deletes
   * the oldest checkpoints beyond `maxToKeep` (never the one just written). Returns its path.
   */
  save(step: number, content: CheckpointContent): Promise<string> {
    const run = this.saveQueue.then(() => this.saveNow(step, content));
    this.saveQueue = run.catch(() => undefined);
    return run;
  }

  private async saveNow(step: number, content: CheckpointContent): Promise<string> {
    if (!Number.isSafeInteger(step) || step < 0) {
      throw new Error(`CheckpointManager.save: step must be a non-negative integer, got ${step}`);
    }
    await mkdir(this.directory, { recursive: true });
    const path = this.pathForStep(step);
    await writeCheckpointFile(path, content);
    const now = Date.now() / 1000;

    const previous = await this.readState();
    const knownTimes = new Map<string, number>();
    if (previous) {
      previous.allModelCheckpointPaths.forEach((p, i) => {
        const t = previous.allModelCheckpointTimestamps[i];
        if (t !== undefined) knownTimes.set(this.resolvePath(p), t);
      });
    }
    // Only checkpoints whose header verifies count towards max_to_keep: a damaged file never
    // pushes out a newer valid one (it is left for the trainer to move aside at its next start).
    const others: string[] = [];
    for (const f of await this.filesByStep()) {
      if (f.path !== path && (await headerVerifies(f.path))) others.push(f.path);
    }
    const keepOthers = this.maxToKeep === Infinity ? others.length : this.maxToKeep - 1;
    const doomed = others.slice(0, Math.max(0, others.length - keepOthers));
    const kept = others.slice(doomed.length);
    const timestamps: number[] = [];
    for (const p of kept) {
      timestamps.push(knownTimes.get(p) ?? (await stat(p)).mtimeMs / 1000);
    }
    timestamps.push(now);
    const state: CheckpointState = {
      modelCheckpointPath: basename(path),
      allModelCheckpointPaths: [...kept, path].map((p) => basename(p)),
      allModelCheckpointTimestamps: timestamps,
      lastPreservedTimestamp: previous?.lastPreservedTimestamp ?? this.createdAt,
    };
    const text = new TextEncoder().encode(formatCheckpointState(state));
    await atomicWriteFile(join(this.directory, CHECKPOINT_STATE_FILE), async (fh) => {
      await writeFully(fh, text, 0);
    });
    for (const p of doomed) {
      await unlink(p).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
      });
    }
    return path;
  }

  /**
   * Reads a checkpoint (the latest when `path` is omitted; relative paths are taken relative to
   * the directory). Returns null only when `path` is omitted and there is no checkpoint.
   * @throws CheckpointError naming the file when it is missing, truncated or corrupt
   */
  async restore(path: string, opts?: ReadCheckpointOptions): Promise<RestoredCheckpoint>;
  async restore(path?: undefined, opts?: ReadCheckpointOptions): Promise<RestoredCheckpoint | null>;
  async restore(
    path?: string,
    opts: ReadCheckpointOptions = {},
  ): Promise<RestoredCheckpoint | null> {
    const target = path === undefined ? await this.latestCheckpoint() : this.resolvePath(path);
    if (target === null) return null;
    const data = await readCheckpointFile(target, opts);
    return { ...data, path: target, step: this.stepOf(target) };
  }

  /**
   * Restores the newest checkpoint that fully verifies (all tensor CRCs), trying the latest first
   * and then older ones by step. Corrupt or truncated ones are reported in `skipped`.
   */
  async restoreLatestValid(
    opts: Omit<ReadCheckpointOptions, 'verify'> = {},
  ): Promise<RecoveryResult> {
    const candidates = (await this.checkpoints()).reverse();
    const skipped: SkippedCheckpoint[] = [];
    for (const p of candidates) {
      try {
        const data = await readCheckpointFile(p, { ...opts, verify: true });
        return { checkpoint: { ...data, path: p, step: this.stepOf(p) }, skipped };
      } catch (err) {
        if (!(err instanceof CheckpointError)) throw err;
        skipped.push({ path: p, reason: err.reason });
      }
    }
    return { checkpoint: null, skipped };
  }

  /**
   * Moves a damaged checkpoint aside to `<file>.corrupt` (kept for inspection; no longer listed,
   * restored or counted by the manager). Returns the new path.
   */
  async quarantine(path: string): Promise<string> {
    const target = this.resolvePath(path) + QUARANTINE_SUFFIX;
    await rename(this.resolvePath(path), target);
    return target;
  }

  /** Removes temporary files of killed writers from the directory (see {@link removeStaleTempFiles}). */
  removeStaleTempFiles(): Promise<string[]> {
    return removeStaleTempFiles(this.directory);
  }

  /**
   * Resolves with the latest checkpoint once it differs from `afterPath` (null: any checkpoint),
   * or with null after `timeoutMs`. Used by continuous evaluation.
   */
  async waitForNewCheckpoint(
    afterPath: string | null,
    opts: WaitOptions = {},
  ): Promise<string | null> {
    const timeoutMs = opts.timeoutMs ?? Infinity;
    const pollMs = opts.pollMs ?? 1000;
    if (!(pollMs > 0))
      throw new Error(`waitForNewCheckpoint: pollMs must be positive, got ${pollMs}`);
    const previous = afterPath === null ? null : this.resolvePath(afterPath);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const latest = await this.latestCheckpoint();
      if (latest !== null && latest !== previous) return latest;
      const left = deadline - Date.now();
      if (left <= 0) return null;
      await sleep(Math.min(pollMs, left));
    }
  }
}

/** Whether a checkpoint's preamble, header and footer verify (tensor bytes are not read). */
async function headerVerifies(path: string): Promise<boolean> {
  try {
    await readCheckpointHeader(path);
    return true;
  } catch (err) {
    if (err instanceof CheckpointError) return false;
    throw err;
  }
}

/** Whether a process with this id exists (EPERM: it does, under another user). */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Deletes `*.tmp-<pid>` files that {@link atomicWriteFile} left in `directory` when a process was
 * killed mid-write, if that process no longer runs (a live writer's file is left alone).
 * @returns the paths removed
 */
export async function removeStaleTempFiles(directory: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(directory);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const removed: string[] = [];
  for (const n of names) {
    const m = TEMP_SUFFIX.exec(n);
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid === process.pid || processAlive(pid)) continue;
    const p = join(directory, n);
    try {
      await unlink(p);
      removed.push(p);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  return removed;
}

/** Suffix a damaged checkpoint gets when {@link CheckpointManager.quarantine} moves it aside. */
export const QUARANTINE_SUFFIX = '.corrupt';

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

/**
 * One line for logs, e.g. `ckpt-30.vgckpt is corrupt (CRC mismatch in tensor 'w' ...); resuming
 * from ckpt-20.vgckpt`.
 */
export function describeRecovery(result: RecoveryResult): string {
  const skipped = result.skipped.map((s) => `${basename(s.path)} is corrupt (${s.reason})`);
  const tail = result.checkpoint
    ? `resuming from ${basename(result.checkpoint.path)}`
    : 'no valid checkpoint; starting from scratch';
  return [...skipped, tail].join('; ');
}

// ---------------------------------------------------------------------------------------------
// tfjs bridges

/**
 * Reads tensors (variables, optimizer slots, EMA shadows) into a checkpoint tensor map, keyed by
 * the given names, in the given order. Supports float32, int32 and bool tensors.
 */
export async function tensorsFromVariables(
  entries: { name: string; tensor: tf.Tensor }[],
): Promise<Map<string, StoredTensor>> {
  const out = new Map<string, StoredTensor>();
  for (const { name, tensor } of entries) {
    if (out.has(name)) throw new Error(`tensorsFromVariables: name '${name}' is given twice`);
    const dtype = tensor.dtype;
    if (dtype !== 'float32' && dtype !== 'int32' && dtype !== 'bool') {
      throw new Error(
        `tensorsFromVariables: '${name}' has dtype ${dtype}; checkpoints hold float32, int32, bool`,
      );
    }
    const data = await tensor.data();
    out.set(name, {
      dtype,
      shape: [...tensor.shape],
      data: data as Float32Array | Int32Array | Uint8Array,
    });
  }
  return out;
}

export interface AssignOptions {
  /**
   * true (default): every checkpoint tensor must be used, like TF's assert_consumed.
   * false: checkpoint tensors no target asks for are ignored (partial restore, e.g. a backbone
   * from a classification checkpoint), like assert_existing_objects_matched.
   * Missing targets and shape/dtype mismatches are errors either way.
   */
  strict?: boolean;
  /** File name to mention in errors. */
  source?: string;
}

/** Checkpoint tensors and tfjs variables do not match; nothing was assigned. */
export class CheckpointMismatchError extends Error {
  override name = 'CheckpointMismatchError';
  constructor(
    message: string,
    readonly missing: string[],
    readonly unexpected: string[],
    readonly mismatched: string[],
  ) {
    super(message);
  }
}

/**
 * Assigns checkpoint tensors to variables by name after checking all of them first: every target
 * needs an entry with the same shape and dtype (and, when strict, every entry a target). On any
 * problem nothing is assigned and a {@link CheckpointMismatchError} lists all of them.
 * @returns names assigned, and (non-strict) checkpoint names left unused
 */
export function assignToVariables(
  tensors: Map<string, StoredTensor>,
  targets: { name: string; variable: tf.Variable }[],
  opts: AssignOptions = {},
): { assigned: string[]; unused: string[] } {
  const strict = opts.strict ?? true;
  const seen = new Set<string>();
  const missing: string[] = [];
  const mismatched: string[] = [];
  for (const { name, variable } of targets) {
    if (seen.has(name)) throw new Error(`assignToVariables: target name '${name}' is given twice`);
    seen.add(name);
    const t = tensors.get(name);
    if (!t) {
      missing.push(name);
      continue;
    }
    const sameShape = tf.util.arraysEqual(t.shape, variable.shape);
    const sameDtype = (t.dtype as string) === variable.dtype;
    if (!sameShape || !sameDtype) {
      mismatched.push(
        `'${name}': checkpoint ${t.dtype}[${t.shape.join(',')}] vs variable ${variable.dtype}[${variable.shape.join(',')}]`,
      );
    }
  }
  const unused = [...tensors.keys()].filter((n) => !seen.has(n));
  const unexpected = strict ? unused : [];
  if (missing.length || mismatched.length || unexpected.length) {
    const parts: string[] = [];
    if (missing.length)
      parts.push(`${missing.length} variable(s) missing from the checkpoint: ${listSome(missing)}`);
    if (unexpected.length) {
      parts.push(
        `${unexpected.length} checkpoint tensor(s) matched no variable: ${listSome(unexpected)}`,
      );
    }
    if (mismatched.length) {
      const shown = mismatched.slice(0, 10).join('; ');
      const more = mismatched.length > 10 ? `; ... and ${mismatched.length - 10} more` : '';
      parts.push(`${mismatched.length} shape/dtype mismatch(es): ${shown}${more}`);
    }
    const from = opts.source ? ` from ${opts.source}` : '';
    throw new CheckpointMismatchError(
      `cannot restore${from}: ${parts.join('. ')}`,
      missing,
      unexpected,
      mismatched,
    );
  }
  for (const { name, variable } of targets) {
    const t = tensors.get(name)!;
    tf.tidy(() => {
      variable.assign(
        tf.tensor(t.data as Float32Array | Int32Array | Uint8Array, t.shape, variable.dtype),
      );
    });
  }
  return { assigned: targets.map((t) => t.name), unused };
}
