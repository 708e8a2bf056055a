/**
 * `vision-garden summary`: builds an experiment's model on a dummy batch and prints its layer
 * table, parameter counts and FLOPs (2 × multiply-adds of one forward pass, see
 * src/modeling/flops.ts); `--json` prints `{"params": N, "trainable_params": N, "flops": N}`.
 *
 * Weights are built as zeros (withShapeOnlyBuild): the counts need shapes only, and ViT-L or
 * ResNet-RS-350 then build in seconds instead of drawing hundreds of millions of random numbers.
 */
import type { Command } from 'commander';
import { initBackend, tfjsBackendFor, isBackendName } from '../core/backend/index.js';
import { setGlobalSeed } from '../core/random.js';
import { withShapeOnlyBuild, type Layer } from '../core/layer.js';
import { resolveExperiment } from '../train/run_experiment.js';
import { countFlops } from '../modeling/flops.js';

export interface SummaryOptions {
  experiment: string;
  configFiles?: string[];
  paramsOverrides?: string[];
  /** Layer table depth (default: all levels). */
  depth?: number;
}

export interface ModelSummary {
  params: number;
  trainable_params: number;
  flops: number;
  /** The layer table (Layer.summary). */
  table: string;
}

interface SummarizableTask {
  buildModel(): Layer<unknown, unknown>;
  dummyBatch(batchSize: number): unknown;
  forward(model: Layer<unknown, unknown>, batch: unknown, args: { training: boolean }): unknown;
}

/** Builds the experiment's model and counts it; the backend must be initialised. */
export async function summarizeExperiment(opts: SummaryOptions): Promise<ModelSummary> {
  const resolved = resolveExperiment({
    experiment: opts.experiment,
    configFiles: opts.configFiles ?? [],
    paramsOverrides: opts.paramsOverrides ?? [],
  });
  setGlobalSeed(resolved.config.task.train_data.seed ?? 0);
  const task = resolved.taskEntry.create(resolved.config.task) as unknown as SummarizableTask;
  const model = task.buildModel();
  try {
    const report = await withShapeOnlyBuild(() =>
      countFlops(() => task.forward(model, task.dummyBatch(1), { training: false })),
    );
    return {
      params: model.countParams(),
      trainable_params: model.countTrainableParams(),
      flops: report.flops,
      table: model.summary(opts.depth ?? Infinity),
    };
  } finally {
    model.dispose();
  }
}

const collect = (value: string, previous: string[]) => [...previous, value];

/** Adds the `summary` command to the program. */
export function registerSummary(program: Command): void {
  program
    .command('summary')
    .description("print an experiment model's layer table, parameter count and FLOPs")
    .requiredOption('--experiment <name>', 'registered experiment name')
    .option('--config_file <file>', 'YAML config file; repeatable', collect, [])
    .option('--params_override <overrides>', "overrides 'a.b=1,...'; repeatable", collect, [])
    .option('--json', 'print {"params", "trainable_params", "flops"} as JSON only')
    .option('--depth <n>', 'layer table depth', (v) => Number.parseInt(v, 10))
    .option('--backend <name>', 'tensor backend for the counting pass (default cpu)', 'cpu')
    .action(
      async (flags: {
        experiment: string;
        config_file: string[];
        params_override: string[];
        json?: boolean;
        depth?: number;
        backend: string;
      }) => {
        if (!isBackendName(flags.backend)) {
          throw new Error(`--backend: unknown backend '${flags.backend}'`);
        }
        await initBackend(tfjsBackendFor(flags.backend));
        const s = await summarizeExperiment({
          experiment: flags.experiment,
          configFiles: flags.config_file,
          paramsOverrides: flags.params_override,
          depth: flags.depth,
        });
        if (flags.json) {
          console.log(
            JSON.stringify({
              params: s.params,
              trainable_params: s.trainable_params,
              flops: s.flops,
            }),
          );
          return;
        }
        console.log(s.table);
        console.log(
          `FLOPs (2 x multiply-adds, batch 1): ${s.flops.toLocaleString('en-US')} ` +
            `(${(s.flops / 2e9).toFixed(2)} G multiply-adds)`,
        );
      },
    );
}
