/**
 * `vision-garden inspect-checkpoint PREFIX_OR_DIR [--json]`: lists a TensorFlow checkpoint's
 * variables as `tf.train.list_variables` does (sorted by name, the object graph and save_counter
 * included), with their shapes and dtypes; `--json` prints
 * `{"variables": [{"name", "shape", "dtype"}]}`.
 */
import type { Command } from 'commander';
import { openTensorBundle, type BundleVariable } from '../interop/tf/bundle_reader.js';

/** The variables of the checkpoint at a prefix or directory. */
export function listCheckpointVariables(prefixOrDir: string): BundleVariable[] {
  const bundle = openTensorBundle(prefixOrDir);
  try {
    return bundle.variables();
  } finally {
    bundle.close();
  }
}

/** Plain-text table: name, dtype, shape. */
export function formatVariableTable(vars: BundleVariable[]): string {
  const w = Math.max(4, ...vars.map((v) => v.name.length));
  const d = Math.max(5, ...vars.map((v) => v.dtype.length));
  const lines = [`${'name'.padEnd(w)}  ${'dtype'.padEnd(d)}  shape`];
  for (const v of vars)
    lines.push(`${v.name.padEnd(w)}  ${v.dtype.padEnd(d)}  [${v.shape.join(', ')}]`);
  return `${lines.join('\n')}\n`;
}

/** Adds the `inspect-checkpoint` command; `write` receives the output (stdout by default). */
export function registerInspectCheckpoint(
  program: Command,
  write: (text: string) => void = (t) => process.stdout.write(t),
): void {
  program
    .command('inspect-checkpoint')
    .description(
      'list the variables (name, shape, dtype) of a TensorFlow checkpoint, as tf.train.list_variables',
    )
    .argument('<prefix_or_dir>', 'checkpoint prefix (dir/ckpt-1) or a directory with a checkpoint')
    .option('--json', 'print {"variables": [{"name", "shape", "dtype"}]}')
    .action((prefixOrDir: string, flags: { json?: boolean }) => {
      const vars = listCheckpointVariables(prefixOrDir);
      if (flags.json) {
        write(
          `${JSON.stringify({ variables: vars.map(({ name, shape, dtype }) => ({ name, shape, dtype })) })}\n`,
        );
        return;
      }
      write(formatVariableTable(vars));
    });
}
