/**
 * Atomic writes name the file and the real cause of a failed system call (Reliability issue,
 * item 8): Node's own message for a failed open of the temporary file names only that file.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic, writeFileAtomicSync, writeAllSync } from '../../src/core/atomic_write.js';
import { writeCheckpointFile } from '../../src/train/checkpoint_format.js';

const dir = mkdtempSync(join(tmpdir(), 'vg-atomic-'));
const blocker = join(dir, 'a-file');
writeFileSync(blocker, 'x');

test('a checkpoint save under a file (ENOTDIR) names the checkpoint and the cause', async () => {
  const path = join(blocker, 'ckpt-5.vgckpt');
  await assert.rejects(
    writeCheckpointFile(path, { tensors: [], meta: { step: 5 } }),
    (err: Error) => {
      assert.equal(
        err.message,
        `cannot write '${path}': a part of the path is a file, not a directory (ENOTDIR)`,
      );
      return true;
    },
  );
});

test('sync and async writes: errno errors named, other errors unchanged, no temporary left', async () => {
  const path = join(blocker, 'x.bin');
  assert.throws(
    () => writeFileAtomicSync(path, (fd) => writeAllSync(fd, 'hi')),
    new RegExp(`^FileError: cannot write '${path}': .*\\(ENOTDIR\\)$`),
  );
  const target = join(dir, 'y.bin');
  await assert.rejects(
    writeFileAtomic(target, async () => {
      throw new Error('bad content in field z');
    }),
    /^Error: bad content in field z$/,
  );
  assert.equal(existsSync(`${target}.tmp-${process.pid}`), false);
  assert.equal(existsSync(target), false);
});
