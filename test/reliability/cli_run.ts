/**
 * Shared pieces of the reliability suite: the CLI as a real subprocess (so kills and signals are
 * real), the tiny experiment it trains, and byte-level checkpoint comparisons.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../helpers.js';

const BIN = join(REPO_ROOT, 'bin', 'vision-garden.js');

/**
 * compact_resnet_shapes at batch 4, one validation batch of 8: a few hundred steps take seconds.
 * Its learning-rate schedule is fixed by the experiment (not by train_steps), so a checkpoint at
 * step s is the same file whatever train_steps or checkpoint_interval a run uses.
 */
export const TINY: Record<string, string | number> = {
  'task.train_data.global_batch_size': 4,
  'task.validation_data.global_batch_size': 8,
  'trainer.validation_steps': 1,
  'trainer.summary_interval': 50,
  'trainer.steps_per_loop': 50,
};

export function overrides(extra: Record<string, string | number | boolean>): string {
  return Object.entries({ ...TINY, ...extra })
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

const made: string[] = [];
process.on('exit', () => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

/** A fresh directory, removed when the test process exits. */
export function tempDir(name: string): string {
  const d = mkdtempSync(join(tmpdir(), `vg-reliability-${name}-`));
  made.push(d);
  return d;
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** stdout then stderr (progress and messages go to stderr, results to stdout). */
  all: string;
}

export interface CliProcess {
  child: ChildProcess;
  done: Promise<CliResult>;
  /** Output so far (stdout then stderr). */
  output(): string;
  /** Resolves once the output matches `re` (rejects if the process ends first). */
  waitFor(re: RegExp): Promise<RegExpExecArray>;
}

/** Starts `vision-garden <command> --experiment compact_resnet_shapes --model_dir D ...`. */
export function startCli(
  command: string,
  modelDir: string,
  extra: Record<string, string | number | boolean>,
  opts: { args?: string[]; env?: Record<string, string> } = {},
): CliProcess {
  const args = [
    BIN,
    command,
    '--experiment',
    'compact_resnet_shapes',
    '--model_dir',
    modelDir,
    '--plain',
    '--params_override',
    overrides(extra),
    ...(opts.args ?? []),
  ];
  const child = spawn(process.execPath, args, {
    cwd: REPO_ROOT,
    env: { ...process.env, CI: 'true', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const waiters: { re: RegExp; resolve: (m: RegExpExecArray) => void }[] = [];
  const check = () => {
    for (let i = waiters.length - 1; i >= 0; i--) {
      const m = waiters[i].re.exec(stdout + stderr);
      if (m) {
        waiters[i].resolve(m);
        waiters.splice(i, 1);
      }
    }
  };
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
    check();
  });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
    check();
  });
  const done = new Promise<CliResult>((resolve) => {
    child.on('close', (code, signal) =>
      resolve({ code, signal, stdout, stderr, all: stdout + stderr }),
    );
  });
  return {
    child,
    done,
    output: () => stdout + stderr,
    waitFor: (re) =>
      new Promise((resolve, reject) => {
        const m = re.exec(stdout + stderr);
        if (m) return resolve(m);
        waiters.push({ re, resolve });
        void done.then(() =>
          reject(new Error(`process ended before printing ${re}:\n${stdout}${stderr}`)),
        );
      }),
  };
}

/** Runs the CLI to its end. */
export function runCli(
  command: string,
  modelDir: string,
  extra: Record<string, string | number | boolean>,
  opts: { args?: string[]; env?: Record<string, string> } = {},
): Promise<CliResult> {
  return startCli(command, modelDir, extra, opts).done;
}

/** Checkpoint steps present in a directory (`ckpt-N.vgckpt`), ascending. */
export function checkpointSteps(dir: string): number[] {
  return readdirSync(dir)
    .map((n) => /^ckpt-(\d+)\.vgckpt$/.exec(n))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
}

/** Whether two files hold the same bytes. */
export function sameBytes(a: string, b: string): boolean {
  return Buffer.compare(readFileSync(a), readFileSync(b)) === 0;
}

/** Steps printed as `saved checkpoint .../ckpt-N.vgckpt`, in order. */
export function savedSteps(output: string): number[] {
  return [...output.matchAll(/saved checkpoint .*ckpt-(\d+)\.vgckpt/g)].map((m) => Number(m[1]));
}
