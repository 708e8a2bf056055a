/**
 * A JSON-lines scalar log: one `{"step":..,"tag":..,"value":..,"wall_time":..}` object per line,
 * appended and handed to the OS at once (no buffering in the process), so scripts can `tail -f`
 * it and a crash loses nothing already logged. Non-finite values are written as null
 * (JSON has no NaN/Infinity).
 */
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';

/** One line of the log. */
export interface ScalarLogEntry {
  step: number;
  tag: string;
  value: number | null;
  /** Seconds since the Unix epoch. */
  wall_time: number;
}

export class JsonlLogger {
  private fd: number | undefined;

  /** Opens (creating or appending to) the log at `path`. */
  constructor(readonly path: string) {
    this.fd = openSync(path, 'a');
  }

  /** Appends one scalar. `step` is an integer (a bigint is written as its exact digits). */
  log(tag: string, value: number, step: number | bigint, wallTime = Date.now() / 1000): void {
    if (this.fd === undefined) throw new Error(`JsonlLogger ${this.path}: log() after close()`);
    if (typeof tag !== 'string' || tag === '') {
      throw new TypeError(`JsonlLogger ${this.path}: tag must be a non-empty string`);
    }
    if (typeof step !== 'bigint' && !Number.isSafeInteger(step)) {
      throw new TypeError(`JsonlLogger ${this.path}: step ${step} is not an integer`);
    }
    // Built by hand so that a bigint step keeps all its digits; keys in the documented order.
    const v = Number.isFinite(value) ? JSON.stringify(value) : 'null';
    const line = `{"step":${String(step)},"tag":${JSON.stringify(tag)},"value":${v},"wall_time":${JSON.stringify(wallTime)}}\n`;
    writeSync(this.fd, line);
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

/** Reads a JSON-lines scalar log; throws naming the line that does not parse. */
export function readJsonlLog(path: string): ScalarLogEntry[] {
  const out: ScalarLogEntry[] = [];
  readFileSync(path, 'utf8')
    .split('\n')
    .forEach((line, i) => {
      if (line.trim() === '') return;
      try {
        out.push(JSON.parse(line) as ScalarLogEntry);
      } catch (err) {
        throw new Error(`${path}:${i + 1}: not valid JSON (${(err as Error).message})`, {
          cause: err,
        });
      }
    });
  return out;
}
