/**
 * Test hooks that kill this process with SIGKILL, or pause it, at a chosen point of an atomic
 * file write, so the reliability suite (test/reliability/) can show that no kill during a
 * checkpoint save loses or corrupts a checkpoint. Off unless an environment variable is set:
 *
 *   VISION_GARDEN_KILL_AT=byte:N     die once N bytes in all have been written by atomic writes
 *                                    (the N-th byte lands on disk, the next one never does)
 *   VISION_GARDEN_KILL_AT=PHASE:K    die at the K-th time (1-based) any atomic write reaches PHASE
 *   VISION_GARDEN_PAUSE_AT=PHASE:K   wait there for 10 minutes instead (the event loop runs on,
 *                                    so signal handlers do; a test kills the process meanwhile)
 *
 * PHASE is one of {@link WRITE_PHASES}: `synced` (temporary file written and fsynced, not yet
 * renamed), `renamed` (renamed over its target, directory not yet fsynced), `done` (the write is
 * complete; for a checkpoint, the `checkpoint` pointer is written next).
 */

export const KILL_AT_ENV = 'VISION_GARDEN_KILL_AT';
export const PAUSE_AT_ENV = 'VISION_GARDEN_PAUSE_AT';
const PAUSE_MS = 10 * 60 * 1000;
export const WRITE_PHASES = ['synced', 'renamed', 'done'] as const;
export type WritePhase = (typeof WRITE_PHASES)[number];

type Plan = { kind: 'byte'; at: number } | { kind: 'phase'; phase: WritePhase; at: number };

function parsePlan(env: string, bytesToo: boolean): Plan | null {
  const spec = process.env[env];
  if (!spec) return null;
  const m = /^([a-z]+):(\d+)$/.exec(spec.trim());
  const at = m ? Number(m[2]) : NaN;
  if (m && bytesToo && m[1] === 'byte' && Number.isSafeInteger(at)) return { kind: 'byte', at };
  if (m && (WRITE_PHASES as readonly string[]).includes(m[1]) && at >= 1) {
    return { kind: 'phase', phase: m[1] as WritePhase, at };
  }
  throw new Error(
    `${env}='${spec}': expected ${bytesToo ? 'byte:N or ' : ''}PHASE:K with PHASE one of ${WRITE_PHASES.join(', ')}`,
  );
}

const plan = parsePlan(KILL_AT_ENV, true);
const pausePlan = parsePlan(PAUSE_AT_ENV, false);
let bytesWritten = 0;
const phaseHits = new Map<WritePhase, number>();

function die(): never {
  process.kill(process.pid, 'SIGKILL');
  // SIGKILL is delivered before kill() returns for a signal sent to oneself; never reached.
  throw new Error('SIGKILL did not stop the process');
}

/**
 * How many of the next `length` bytes may be written; call {@link afterBytes} once they are.
 * Without a byte plan, all of them.
 */
export function bytesAllowed(length: number): number {
  if (plan?.kind !== 'byte') return length;
  return Math.max(0, Math.min(length, plan.at - bytesWritten));
}

/** Counts `n` written bytes and dies when the byte plan's point is reached. */
export function afterBytes(n: number): void {
  if (plan?.kind !== 'byte') return;
  bytesWritten += n;
  if (bytesWritten >= plan.at) die();
}

/** Marks that an atomic write reached `phase`; dies or pauses when a plan says so. */
export async function reachedPhase(phase: WritePhase): Promise<void> {
  if (!plan && !pausePlan) return;
  const hits = (phaseHits.get(phase) ?? 0) + 1;
  phaseHits.set(phase, hits);
  if (plan?.kind === 'phase' && plan.phase === phase && hits === plan.at) die();
  if (pausePlan?.kind === 'phase' && pausePlan.phase === phase && hits === pausePlan.at) {
    await new Promise((done) => setTimeout(done, PAUSE_MS));
  }
}
