import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * The layers of docs/architecture.md and what each may import (besides itself). An import of any
 * other layer fails lint. `data` reads COCO masks through `ops` (RLE in the COCO converter) and
 * `train` writes event files through `data`'s TFRecord writer; neither edge makes a cycle.
 */
const LAYERS = {
  core: [],
  engine: ['core'],
  data: ['core', 'ops'],
  ops: ['core'],
  modeling: ['core', 'ops'],
  losses: ['core'],
  evaluation: ['core', 'ops'],
  tasks: ['core', 'engine', 'data', 'ops', 'modeling', 'losses', 'evaluation'],
  train: ['core', 'data'],
  export: ['core', 'engine', 'modeling'],
  cli: null, // everything
};

/**
 * One config per layer and folder depth: relative imports are matched as written, so
 * `../engine/x.js` from `src/train/a.ts` and `../../engine/x.js` from `src/train/b/c.ts` both
 * reach `src/engine`.
 */
function layerRules() {
  const names = Object.keys(LAYERS);
  const out = [];
  for (const [layer, allowed] of Object.entries(LAYERS)) {
    const forbidden =
      allowed === null ? [] : names.filter((n) => n !== layer && !allowed.includes(n));
    for (let depth = 1; depth <= 6; depth++) {
      const patterns = forbidden.length
        ? [
            {
              regex: `^(\\.\\./){${depth}}(${forbidden.join('|')})(/|\\.js$|$)`,
              message: `src/${layer} may import ${allowed.length ? allowed.join(', ') : 'only itself'} (docs/architecture.md)`,
            },
          ]
        : [];
      out.push({
        files: [`src/${layer}/${'*/'.repeat(depth - 1)}*.ts`],
        rules: { 'no-restricted-imports': ['error', { patterns }] },
      });
    }
  }
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
);
