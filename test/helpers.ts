/** Shared test utilities: fixture paths and tensor comparisons. */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';

/** Repository root (works from test/ under ts sources and from dist/test/). */
export const REPO_ROOT = (() => {
  let d = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(d, 'package.json'))) d = dirname(d);
  return d;
})();

/** ../shared/data beside the repository (VG_SHARED_DATA overrides). */
export function sharedData(...parts: string[]): string {
  const base = process.env.VG_SHARED_DATA ?? resolve(REPO_ROOT, '..', 'shared', 'data');
  return join(base, ...parts);
}

/** Asserts |a-b| <= atol + rtol*|b| elementwise, with the first offending index in the message. */
export function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  opts: { rtol?: number; atol?: number; msg?: string } = {},
): void {
  const rtol = opts.rtol ?? 1e-5;
  const atol = opts.atol ?? 1e-6;
  assert.equal(actual.length, expected.length, `${opts.msg ?? ''} length mismatch`);
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i];
    const b = expected[i];
    if (!(Math.abs(a - b) <= atol + rtol * Math.abs(b))) {
      assert.fail(
        `${opts.msg ?? 'arrays differ'} at index ${i}: ${a} vs ${b} (rtol ${rtol}, atol ${atol})`,
      );
    }
  }
}

/**
 * |a − b| ≤ 1e-4 · max|b| + 1e-7 elementwise: closeness relative to the tensor's scale (the
 * compiled-vs-eager equality tests of the engine).
 */
export function assertTensorClose(
  a: { dataSync(): ArrayLike<number> },
  b: { dataSync(): ArrayLike<number> },
  msg: string,
): void {
  const x = a.dataSync();
  const y = b.dataSync();
  let scale = 0;
  for (let i = 0; i < y.length; i++) scale = Math.max(scale, Math.abs(y[i]));
  assertClose(x, y, { rtol: 0, atol: 1e-4 * scale + 1e-7, msg });
}
