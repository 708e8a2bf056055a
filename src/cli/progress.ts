/**
 * Training progress on the screen: a progress bar (step, loss, steps/s, ETA) on a TTY, plain
 * periodic lines otherwise (CI logs, pipes).
 */
import cliProgress from 'cli-progress';
import type { StepInfo, TrainerEvents } from '../train/trainer.js';

export interface ProgressOptions {
  /** Force plain lines even on a TTY. */
  plain?: boolean;
  /** Plain mode: print a line every this many steps (default: ~20 lines per run). */
  every?: number;
  stream?: NodeJS.WriteStream;
}

function formatEta(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  return h > 0
    ? `${h}h${String(m).padStart(2, '0')}m`
    : m > 0
      ? `${m}m${String(sec).padStart(2, '0')}s`
      : `${sec}s`;
}

function formatMetrics(metrics: Record<string, number>): string {
  return Object.entries(metrics)
    .map(([k, v]) => `${k}=${Number.isInteger(v) ? v : v.toFixed(4)}`)
    .join(' ');
}

/** Trainer event handlers that draw progress on `stream` (stderr by default). */
export function progressEvents(opts: ProgressOptions = {}): TrainerEvents & { stop(): void } {
  const stream = opts.stream ?? process.stderr;
  const tty = !opts.plain && stream.isTTY === true;
  let bar: cliProgress.SingleBar | null = null;
  let every = opts.every ?? 0;
  let startStep = 0;
  let startTime = 0;
  const line = (s: string) => {
    if (bar) bar.stop();
    stream.write(s + '\n');
    bar = null;
  };
  const ensureBar = (info: StepInfo) => {
    if (bar || !tty) return;
    bar = new cliProgress.SingleBar(
      {
        stream,
        format: 'train [{bar}] {value}/{total} | loss {loss} | {sps} steps/s | ETA {etaText}',
        hideCursor: true,
        clearOnComplete: false,
        barsize: 30,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(info.totalSteps, info.step - 1, { loss: '-', sps: '-', etaText: '?' });
  };
  return {
    onTrainStart(info) {
      startStep = info.startStep;
      startTime = performance.now();
      if (every === 0) every = Math.max(1, Math.round((info.totalSteps - info.startStep) / 20));
      const from = info.resumedFrom ? `, resumed from ${info.resumedFrom}` : '';
      line(`training steps ${info.startStep}→${info.totalSteps}${from}`);
    },
    onStep(info) {
      const done = info.step - startStep;
      const elapsed = (performance.now() - startTime) / 1000;
      const rate = done / Math.max(elapsed, 1e-9);
      const eta = (info.totalSteps - info.step) / rate;
      const loss = info.logs.total_loss;
      if (tty) {
        ensureBar(info);
        bar?.update(info.step, {
          loss: loss.toFixed(4),
          sps: rate.toFixed(2),
          etaText: formatEta(eta),
        });
        if (info.step === info.totalSteps) {
          bar?.stop();
          bar = null;
        }
      } else if (info.step % every === 0 || info.step === info.totalSteps) {
        stream.write(
          `step ${info.step}/${info.totalSteps} loss ${loss.toFixed(4)} lr ${info.logs.learning_rate?.toPrecision(3)} ` +
            `${rate.toFixed(2)} steps/s ETA ${formatEta(eta)}\n`,
        );
      }
    },
    onEval(info) {
      line(`eval @ step ${info.step}: ${formatMetrics(info.metrics)}`);
    },
    onCheckpoint(info) {
      if (!tty) stream.write(`saved checkpoint ${info.path}\n`);
    },
    onMessage(message) {
      line(message);
    },
    stop() {
      bar?.stop();
      bar = null;
    },
  };
}

export { formatMetrics };
