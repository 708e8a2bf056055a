/**
 * The layering of docs/architecture.md is enforced by eslint's no-restricted-imports rules
 * (eslint.config.js): an upward import fails `npm run lint`, and the tree passes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { ESLint } from 'eslint';
import { REPO_ROOT } from './helpers.js';

const RULE = 'no-restricted-imports';

/** Rule ids reported for `code` linted as if it were the file `path` of the repository. */
async function ruleIds(eslint: ESLint, path: string, code: string): Promise<string[]> {
  const [r] = await eslint.lintText(code, { filePath: path });
  return r.messages.map((m) => m.ruleId ?? `fatal: ${m.message}`);
}

test('an upward import fails eslint on the command line (npm run lint)', () => {
  // The same file through the CLI that `npm run lint` runs: exit status 1 and the rule named.
  const r = spawnSync(
    process.execPath,
    [
      'node_modules/eslint/bin/eslint.js',
      '--stdin',
      '--stdin-filename',
      'src/engine/upward_probe.ts',
    ],
    {
      cwd: REPO_ROOT,
      input: "import { Trainer } from '../train/trainer.js';\nexport const t = Trainer;\n",
      encoding: 'utf8',
    },
  );
  assert.equal(r.status, 1, `eslint exit status ${r.status}: ${r.stdout}${r.stderr}`);
  assert.match(r.stdout, /no-restricted-imports/);
  assert.match(r.stdout, /src\/engine may import core/);
});

test('each layer may import the layers below it and nothing above (every folder depth)', async () => {
  const eslint = new ESLint({ cwd: REPO_ROOT, ruleFilter: ({ ruleId }) => ruleId === RULE });
  // [file, import, allowed?]: taken from the table in docs/architecture.md.
  const cases: [string, string, boolean][] = [
    ['src/engine/a.ts', '../train/trainer.js', false],
    ['src/engine/kernels/a.ts', '../../train/ema.js', false],
    ['src/engine/kernels/a.ts', '../../core/layer.js', true],
    ['src/engine/kernels/a.ts', '../context.js', true],
    ['src/core/a.ts', '../engine/trace.js', false],
    ['src/core/config/a.ts', '../../train/trainer.js', false],
    ['src/train/a.ts', '../engine/compiled_step.js', false],
    ['src/train/a.ts', '../tasks/index.js', false],
    ['src/train/optimizers/a.ts', '../../core/step_parts.js', true],
    ['src/modeling/layers/a.ts', '../../data/idx.js', false],
    ['src/modeling/layers/a.ts', '../../ops/box_ops.js', true],
    ['src/modeling/layers/a.ts', '../blocks/residual.js', true],
    ['src/data/parsers/a.ts', '../ops/crop.js', true], // src/data/ops, not the ops layer
    ['src/data/a.ts', '../modeling/layers/conv.js', false],
    ['src/losses/a.ts', '../modeling/layers/conv.js', false],
    ['src/tasks/image_classification/a.ts', '../../train/trainer.js', false],
    ['src/tasks/image_classification/a.ts', '../../engine/compile.js', true],
    ['src/cli/a.ts', '../engine/compiled_step.js', true],
    // onnxruntime-node is imported in one place; the engine takes the runtime as a parameter.
    ['src/engine/session.ts', 'onnxruntime-node', false],
    ['src/cli/a.ts', 'onnxruntime-node', false],
    ['src/engine/node_runtime.ts', 'onnxruntime-node', true],
    ['src/engine/node_runtime.ts', '../train/trainer.js', false],
  ];
  for (const [file, from, allowed] of cases) {
    const ids = await ruleIds(eslint, file, `import { x } from '${from}';\nexport const y = x;\n`);
    assert.deepEqual(ids, allowed ? [] : [RULE], `${file} importing ${from}`);
  }
});

test('src passes the layering rules', async () => {
  const eslint = new ESLint({ cwd: REPO_ROOT, ruleFilter: ({ ruleId }) => ruleId === RULE });
  const results = await eslint.lintFiles(['src']);
  const problems = results.flatMap((r) =>
    r.messages.map((m) => `${r.filePath}:${m.line}: ${m.message}`),
  );
  assert.ok(results.length > 100, `linted ${results.length} files`);
  assert.deepEqual(problems, []);
});
