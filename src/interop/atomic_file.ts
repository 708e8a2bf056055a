/**
 * Atomic file writes for interop formats: the content goes to `<path>.tmp-<pid>`, is fsynced and
 * renamed over `path`; on failure the temporary file is removed and `path` is left as it was.
 */
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';

/** Fills a temporary file through `write(fd)`, then renames it to `path`. */
export function writeFileAtomicSync(path: string, write: (fd: number) => void): void {
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    const fd = openSync(tmp, 'w');
    try {
      write(fd);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

/** Writes all of `data` at the file's current position. */
export function writeAllSync(fd: number, data: Uint8Array): void {
  let done = 0;
  while (done < data.length) done += writeSync(fd, data, done, data.length - done);
}
