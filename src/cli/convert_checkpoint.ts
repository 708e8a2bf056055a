/**
 * `vision-garden convert-checkpoint`: moves a model's weights between Model Garden's TF2
 * checkpoints and ours.
 *
 *   vision-garden convert-checkpoint --from tf PREFIX_OR_DIR --experiment E [--config_file F] --out DIR
 *   vision-garden convert-checkpoint --from keras FILE.weights.h5 --experiment E [...] --out DIR
 *     → DIR/ckpt-0.vgckpt (+ DIR/checkpoint): for init_checkpoint, forward, predict
 *   vision-garden convert-checkpoint --to tf CHECKPOINT --experiment E [--config_file F] --out DIR
 *     → DIR/ckpt-1.{index,data-00000-of-00001} (+ DIR/checkpoint): Model Garden's layout
 *
 * The experiment's model is built and the source loaded strictly by rule (every weight found
 * with its shape, nothing left over), so a converted checkpoint always fits the model.
 */
import { join } from 'node:path';
import type { Command } from 'commander';
import { initBackend } from '../core/backend/index.js';
import { writeModelTfCheckpoint } from '../interop/export_tf.js';
import {
  CHECKPOINT_EXTENSION,
  CheckpointManager,
  tensorsFromVariables,
} from '../train/checkpoint.js';
import type { ExperimentSpec } from '../train/run_experiment.js';
import { loadCheckpointModel } from './checkpoint_model.js';

export interface ConvertOptions extends ExperimentSpec {
  /** 'vg': TF → ours; 'tf': any → TF. */
  to: 'vg' | 'tf';
  checkpoint: string;
  out: string;
}

/** Converts; returns the written checkpoint's path (our file, or the TF prefix). */
export async function convertCheckpoint(opts: ConvertOptions): Promise<string> {
  if (opts.to === 'vg' && opts.checkpoint.endsWith(CHECKPOINT_EXTENSION)) {
    throw new Error(`--from: ${opts.checkpoint} is already a vision-garden checkpoint`);
  }
  const { model, source } = await loadCheckpointModel(opts, opts.checkpoint);
  try {
    if (opts.to === 'tf') return writeModelTfCheckpoint(model, join(opts.out, 'ckpt-1')).prefix;
    const tensors = await tensorsFromVariables(
      model.weights().map((w) => ({ name: `model/${w.path}`, tensor: w.variable })),
    );
    return await new CheckpointManager(opts.out).save(0, {
      tensors,
      meta: { step: 0, model: model.name, converted_from: source },
    });
  } finally {
    model.dispose();
  }
}

export function registerConvertCheckpoint(program: Command): void {
  const collect = (value: string, previous: string[]) => [...previous, value];
  program
    .command('convert-checkpoint')
    .description("convert a model's weights between Model Garden's TF checkpoints and ours")
    .argument(
      '<checkpoint>',
      'the checkpoint to convert (TF prefix or directory, Keras .weights.h5, or ours)',
    )
    .option(
      '--from <format>',
      "'tf': read a TF checkpoint, 'keras': read a Keras 3 .weights.h5 file; write ours",
    )
    .option('--to <format>', "'tf': write a TF2 checkpoint in Model Garden's layout")
    .requiredOption('--experiment <name>', 'registered experiment whose model the weights fit')
    .option('--config_file <file>', 'YAML config file; repeatable', collect, [])
    .option('--params_override <overrides>', "overrides 'a.b=1,...'; repeatable", collect, [])
    .requiredOption('--out <dir>', 'output directory')
    .action(
      async (
        checkpoint: string,
        flags: {
          from?: string;
          to?: string;
          experiment: string;
          config_file: string[];
          params_override: string[];
          out: string;
        },
      ) => {
        if ((flags.from === undefined) === (flags.to === undefined)) {
          throw new Error('convert-checkpoint: give exactly one of --from tf or --to tf');
        }
        const format = flags.from ?? flags.to;
        const formats = flags.from ? ['tf', 'keras'] : ['tf'];
        if (!formats.includes(format!)) {
          throw new Error(
            `convert-checkpoint: ${flags.from ? '--from' : '--to'} '${format}' is not supported (only ${formats.map((f) => `'${f}'`).join(' or ')})`,
          );
        }
        // The file decides how it is read (src/train/open_checkpoint.ts); the flag must agree.
        if (flags.from && (format === 'keras') !== checkpoint.endsWith('.h5')) {
          throw new Error(
            `convert-checkpoint: --from ${format} does not fit ${checkpoint} (--from keras takes a .weights.h5 file, --from tf a TF checkpoint)`,
          );
        }
        await initBackend('cpu');
        const written = await convertCheckpoint({
          experiment: flags.experiment,
          configFiles: flags.config_file,
          paramsOverrides: flags.params_override,
          checkpoint,
          out: flags.out,
          to: flags.from ? 'vg' : 'tf',
        });
        console.log(`wrote ${written}`);
      },
    );
}
