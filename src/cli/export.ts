/**
 * `vision-garden export --format vg|onnx --model_dir D --out M`: a training run's model (its
 * params.yaml and latest checkpoint, EMA averages preferred) as a vg model directory
 * (docs/formats.md) or as one ONNX file of its inference graph. `--model` exports a vg model
 * instead of a run.
 */
import type { Command } from 'commander';
import { createModelFromRun, loadModel } from '../api/create.js';
import { saveModel } from '../api/save.js';
import { toOnnx } from '../api/export.js';
import type { VisionModel } from '../api/vision_model.js';
import { writeFileAtomic } from '../core/atomic_write.js';
import { initBackend } from '../core/backend/index.js';
import { refuseCloudPath } from '../core/fs_errors.js';
import { packageVersion } from './version.js';

export interface ExportOptions {
  format: string;
  modelDir?: string;
  model?: string;
  experiment?: string;
  checkpoint?: string;
  out: string;
  useEma?: boolean;
}

/** Exports; returns a one-line summary. The tensor backend must be initialised. */
export async function exportModel(opts: ExportOptions): Promise<string> {
  if (opts.format !== 'vg' && opts.format !== 'onnx') {
    throw new Error(`--format: '${opts.format}' is not an export format (vg, onnx)`);
  }
  refuseCloudPath(opts.out, '--out');
  let vm: VisionModel;
  if (opts.model) {
    if (opts.modelDir || opts.checkpoint || opts.experiment) {
      throw new Error(
        'export: give --model, or --model_dir (with --checkpoint/--experiment), not both',
      );
    }
    vm = await loadModel(opts.model);
  } else if (opts.modelDir) {
    vm = await createModelFromRun(opts.modelDir, {
      experiment: opts.experiment,
      checkpoint: opts.checkpoint,
      useEma: opts.useEma ?? true,
    });
  } else {
    throw new Error('export: give --model_dir (a training run) or --model (a vg model)');
  }
  try {
    if (opts.format === 'vg') {
      const json = await saveModel(vm, opts.out, {
        generatedBy: `vision-garden ${packageVersion()}`,
      });
      const shards = json.weightsManifest.reduce((a, g) => a + g.paths.length, 0);
      return `exported ${vm.info.taskType} model from ${vm.info.weightsSource}${vm.info.usedEma ? ' (EMA weights)' : ''} to ${opts.out} (model.json + ${shards} weight shard${shards === 1 ? '' : 's'})`;
    }
    const bytes = await toOnnx(vm, { generatedBy: `vision-garden ${packageVersion()}` });
    await writeFileAtomic(opts.out, async (fh) => {
      await fh.writeFile(bytes);
    });
    return `exported ${vm.info.taskType} model from ${vm.info.weightsSource} to ${opts.out} (ONNX, ${bytes.length} bytes)`;
  } finally {
    await vm.dispose();
  }
}

export function registerExport(program: Command): void {
  program
    .command('export')
    .description('write a trained model as a vg model directory or an ONNX file')
    .requiredOption('--format <format>', 'vg (model.json + weight shards) or onnx')
    .requiredOption('--out <path>', 'output directory (vg) or file (onnx)')
    .option('--model_dir <dir>', 'a training run: params.yaml and its latest checkpoint')
    .option('--checkpoint <path>', "a checkpoint instead of the run's latest")
    .option(
      '--experiment <name>',
      "the run's experiment (default: the task whose schema fits params.yaml)",
    )
    .option('--model <dir>', 'a vg model to convert instead of a run')
    .option('--no_ema', 'use the raw weights even when the checkpoint has EMA averages')
    .action(
      async (flags: {
        format: string;
        out: string;
        model_dir?: string;
        checkpoint?: string;
        experiment?: string;
        model?: string;
        no_ema?: boolean;
      }) => {
        await initBackend('cpu');
        const line = await exportModel({
          format: flags.format,
          out: flags.out,
          modelDir: flags.model_dir,
          checkpoint: flags.checkpoint,
          experiment: flags.experiment,
          model: flags.model,
          useEma: !flags.no_ema,
        });
        console.log(line);
      },
    );
}
