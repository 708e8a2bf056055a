import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * The layers of docs/architecture.md and what each may import (besides itself). An import of any
 * other layer fails lint. `data` reads COCO masks through `ops` (RLE in the COCO converter) and
 * `train` writes event files through `data`'s TFRecord writer and loads `init_checkpoint` through
 * `interop`; none of these edges makes a cycle.
 */
const LAYERS = {
  core: [],
  engine: ['core'],
  data: ['core', 'ops'],
  ops: ['core'],
  modeling: ['core', 'ops'],
  losses: ['core'],
  evaluation: ['core', 'ops'],
  interop: ['core'],
  tasks: ['core', 'engine', 'data', 'ops', 'modeling', 'losses', 'evaluation', 'interop'],
  train: ['core', 'data', 'interop'],
  export: ['core', 'engine', 'modeling'],
  // The library API: builds models through tasks, loads checkpoints through train and interop.
  api: [
    'core',
    'engine',
    'data',
    'ops',
    'modeling',
    'losses',
    'evaluation',
    'interop',
    'tasks',
    'train',
    'export',
  ],
  cli: null, // everything
};

/** ONNX Runtime for Node is imported in one place; the engine takes the runtime as a parameter. */
const ORT_NODE = {
  name: 'onnxruntime-node',
  message:
    'import onnxruntime-node only in src/engine/node_runtime.ts (the engine takes the runtime as a parameter)',
};
const ORT_HOME = 'src/engine/node_runtime.ts';

/** The no-restricted-imports options for a file `depth` folders below `src/<layer>/`'s parent. */
function importRule(layer, depth, { ort }) {
  const allowed = LAYERS[layer];
  const forbidden =
    allowed === null ? [] : Object.keys(LAYERS).filter((n) => n !== layer && !allowed.includes(n));
  const patterns = forbidden.length
    ? [
        {
          regex: `^(\\.\\./){${depth}}(${forbidden.join('|')})(/|\\.js$|$)`,
          message: `src/${layer} may import ${allowed.length ? allowed.join(', ') : 'only itself'} (docs/architecture.md)`,
        },
      ]
    : [];
  return ['error', { paths: ort ? [] : [ORT_NODE], patterns }];
}

/**
 * One config per layer and folder depth: relative imports are matched as written, so
 * `../engine/x.js` from `src/train/a.ts` and `../../engine/x.js` from `src/train/b/c.ts` both
 * reach `src/engine`.
 */
function layerRules() {
  const out = [];
  for (const layer of Object.keys(LAYERS)) {
    for (let depth = 1; depth <= 6; depth++) {
      out.push({
        files: [`src/${layer}/${'*/'.repeat(depth - 1)}*.ts`],
        ignores: [ORT_HOME],
        rules: { 'no-restricted-imports': importRule(layer, depth, { ort: false }) },
      });
    }
  }
  out.push({
    files: ['src/*.ts'],
    rules: { 'no-restricted-imports': ['error', { paths: [ORT_NODE] }] },
  });
  out.push({
    files: [ORT_HOME],
    rules: { 'no-restricted-imports': importRule('engine', 1, { ort: true }) },
  });
  return out;
}

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      '@typescript-eslint/no-explicit-any': 'error',
    },
  },
  ...layerRules(),
  {
    // The runnable examples are plain Node ESM scripts.
    files: ['examples/**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
  },
);
