/**
 * The `vision-garden` command line. The only layer that knows the screen: everything else reports
 * through return values and trainer events.
 */
import { Command, CommanderError, Option } from 'commander';
import { constants } from 'node:os';
import '../tasks/index.js';
import { BACKEND_NAMES } from '../core/backend/index.js';
import { createCompiledStepRunner } from '../engine/compiled_step.js';
import { configToYaml } from '../core/config/load.js';
import { modelGardenYaml } from '../core/config/extensions.js';
import { experiments } from '../core/registry.js';
import {
  disposeRun,
  resolveExperiment,
  runExperiment,
  type Mode,
} from '../train/run_experiment.js';
import { TrainingInterrupted } from '../train/trainer.js';
import { registerDataCommands } from './data_commands.js';
import { registerConvertCheckpoint } from './convert_checkpoint.js';
import { registerEvaluateCoco } from './evaluate_coco.js';
import { registerForward } from './forward.js';
import { registerInspectCheckpoint } from './inspect_checkpoint.js';
import { runDemo } from './demo.js';
import { registerExport } from './export.js';
import { registerPredict } from './predict.js';
import { registerServe } from './serve.js';
import { registerWeb } from './web.js';
import { packageVersion } from './version.js';
import { registerSummary } from './summary.js';
import { formatMetrics, progressEvents } from './progress.js';

/** Parsed flags (commander keeps snake_case option names as they are). */
interface RunFlags {
  experiment: string;
  config_file: string[];
  params_override: string[];
  model_dir: string;
  backend?: string;
  plain?: boolean;
  start_over?: boolean;
}

/** An error whose message is printed and whose code the process exits with. */
class ExitError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

const STOP_SIGNALS = ['SIGINT', 'SIGTERM'] as const;

/**
 * While training: the first SIGINT/SIGTERM aborts `controller` (the trainer stops after its
 * current step, writing a checkpoint when trainer.preemption_on_demand_checkpoint is set); a
 * second one exits at once with 128 + the signal number. Returns the uninstaller.
 */
function installStopSignals(controller: AbortController): () => void {
  const handler = (sig: NodeJS.Signals): void => {
    if (controller.signal.aborted) {
      console.error(`vision-garden: second ${sig}; exiting at once`);
      process.exit(128 + constants.signals[sig]);
    }
    console.error(
      `vision-garden: ${sig} received; stopping after the current step (send it again to exit at once)`,
    );
    controller.abort(sig);
  };
  for (const s of STOP_SIGNALS) process.on(s, handler);
  return () => {
    for (const s of STOP_SIGNALS) process.off(s, handler);
  };
}

const collect = (value: string, previous: string[]) => [...previous, value];

function addExperimentOptions(cmd: Command): Command {
  return cmd
    .requiredOption(
      '--experiment <name>',
      'registered experiment name (see `vision-garden experiments`)',
    )
    .option(
      '--config_file <file>',
      'YAML config file; repeat to apply several in order',
      collect,
      [],
    )
    .option(
      '--params_override <overrides>',
      "overrides: 'a.b=1,c.d=x', a YAML/JSON string, or a YAML file; repeatable, applied last",
      collect,
      [],
    );
}

function backendOption(): Option {
  return new Option(
    '--backend <name>',
    'backend: onnx = compiled steps on ONNX Runtime (default: runtime.backend, else onnx)',
  ).choices([...BACKEND_NAMES]);
}

async function runMode(mode: Mode, flags: RunFlags): Promise<void> {
  const events = progressEvents({ plain: flags.plain });
  const training = mode === 'train' || mode === 'train_and_eval';
  const controller = new AbortController();
  const uninstall = training ? installStopSignals(controller) : () => undefined;
  try {
    const r = await runExperiment({
      mode,
      experiment: flags.experiment,
      configFiles: flags.config_file,
      paramsOverrides: flags.params_override,
      modelDir: flags.model_dir,
      backend: flags.backend,
      events,
      compiledSteps: createCompiledStepRunner,
      startOver: flags.start_over,
      signal: controller.signal,
    }).catch((err: unknown) => {
      if (!(err instanceof TrainingInterrupted)) throw err;
      const sig = err.reason as NodeJS.Signals;
      // Conventional shell status of a signal: 128 + its number (130 SIGINT, 143 SIGTERM).
      throw new ExitError(err.message, 128 + (constants.signals[sig] ?? 0));
    });
    events.stop();
    if (r.eval) console.log(`final eval @ step ${r.step}: ${formatMetrics(r.eval)}`);
    else console.log(`done: step ${r.step}, checkpoints in ${flags.model_dir}`);
    disposeRun(r);
  } finally {
    uninstall();
    events.stop();
  }
}

/** The subcommand of each of Model Garden's train.py `--mode` values. */
const MG_MODES: Record<string, string> = {
  train: 'train',
  eval: 'evaluate',
  train_and_eval: 'train_and_eval',
  continuous_eval: 'continuous_eval',
};

/**
 * Model Garden's invocation `--mode=<mode> --experiment=... --model_dir=...` (official/vision/
 * train.py) as the subcommand of that mode: the `--mode` flag is taken out and its command put
 * first. Arguments that already start with a command are returned as they are.
 */
export function translateModeFlag(argv: string[]): string[] {
  if (argv.length === 0 || !argv[0].startsWith('-')) return argv;
  const at = argv.findIndex((a) => a === '--mode' || a.startsWith('--mode='));
  if (at < 0) return argv;
  const inline = argv[at].startsWith('--mode=');
  const mode = inline ? argv[at].slice('--mode='.length) : argv[at + 1];
  if (mode === undefined || mode === '') throw new Error(`--mode: give one of ${modeList()}`);
  const command = MG_MODES[mode];
  if (!command) throw new Error(`--mode: unknown mode '${mode}' (${modeList()})`);
  const rest = argv.filter((_, i) => i !== at && (inline || i !== at + 1));
  return [command, ...rest];
}

function modeList(): string {
  return Object.keys(MG_MODES).join(', ');
}

function buildProgram(): Command {
  const program = new Command('vision-garden')
    .description('TensorFlow Model Garden vision models in TypeScript')
    .version(packageVersion(), '--version', 'print the version and exit')
    .option('--verbose', 'print stack traces on errors')
    .showHelpAfterError()
    .exitOverride();

  const modes: [string, Mode, string][] = [
    ['train', 'train', 'train to trainer.train_steps, resuming from model_dir'],
    ['evaluate', 'eval', 'evaluate the latest checkpoint in model_dir'],
    [
      'train_and_eval',
      'train_and_eval',
      'train, evaluating every trainer.validation_interval steps',
    ],
    ['continuous_eval', 'continuous_eval', 'evaluate each new checkpoint written to model_dir'],
  ];
  for (const [name, mode, description] of modes) {
    const cmd = addExperimentOptions(program.command(name).description(description))
      .requiredOption('--model_dir <dir>', 'directory for checkpoints, params.yaml and summaries')
      .addOption(backendOption())
      .option('--plain', 'plain progress lines even on a terminal');
    if (mode === 'train' || mode === 'train_and_eval') {
      cmd.option(
        '--start_over',
        'when no checkpoint in model_dir is readable, move them aside (*.corrupt) and train from step 0',
      );
    }
    cmd.action(async (opts: RunFlags) => runMode(mode, opts));
  }

  program
    .command('experiments')
    .description('list registered experiments')
    .option('--json', 'print a JSON array of {name, task, description}')
    .action((opts: { json?: boolean }) => {
      const rows = experiments.entries().map(([name, e]) => [name, e.taskType, e.description]);
      if (opts.json) {
        const list = rows.map(([name, task, description]) => ({ name, task, description }));
        console.log(JSON.stringify(list));
        return;
      }
      const w0 = Math.max(10, ...rows.map((r) => r[0].length));
      const w1 = Math.max(4, ...rows.map((r) => r[1].length));
      console.log(`${'experiment'.padEnd(w0)}  ${'task'.padEnd(w1)}  description`);
      for (const [n, t, d] of rows) console.log(`${n.padEnd(w0)}  ${t.padEnd(w1)}  ${d}`);
    });

  addExperimentOptions(
    program.command('config').description('print the resolved experiment config as YAML'),
  )
    .option(
      '--model_garden',
      'as a Model Garden YAML: refused when a vision-garden extension field is set',
    )
    .option('--json', 'print the resolved config as one JSON object')
    .action((opts: RunFlags & { model_garden?: boolean; json?: boolean }) => {
      if (opts.model_garden && opts.json) {
        throw new Error('config: give --model_garden or --json, not both');
      }
      const r = resolveExperiment({
        experiment: opts.experiment,
        configFiles: opts.config_file,
        paramsOverrides: opts.params_override,
      });
      if (opts.json) console.log(JSON.stringify(r.config));
      else
        process.stdout.write(
          opts.model_garden ? modelGardenYaml(r.config) : configToYaml(r.config),
        );
    });

  program
    .command('demo')
    .description(
      'train, evaluate, save and predict with the built-in default (generated shapes; no download)',
    )
    .option('--model_dir <dir>', 'where to write the run', 'runs/demo')
    .option(
      '--params_override <overrides>',
      'overrides for the compact_resnet_shapes experiment',
      collect,
      [],
    )
    .addOption(backendOption())
    .option('--plain', 'plain progress lines even on a terminal')
    .action(
      async (opts: {
        model_dir: string;
        params_override: string[];
        backend?: string;
        plain?: boolean;
      }) => {
        await runDemo({
          modelDir: opts.model_dir,
          paramsOverride: opts.params_override,
          backend: opts.backend,
          plain: opts.plain,
        });
      },
    );
  registerDataCommands(program);
  registerEvaluateCoco(program);
  registerSummary(program);
  registerPredict(program);
  registerExport(program);
  registerServe(program);
  registerWeb(program);
  registerForward(program);
  registerConvertCheckpoint(program);
  registerInspectCheckpoint(program);
  return program;
}

/** Runs the CLI; returns the process exit code. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  const verbose = argv.includes('--verbose');
  try {
    await program.parseAsync(translateModeFlag(argv), { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // commander has already printed its message (help, unknown option, missing argument).
      return err.exitCode;
    }
    const e = err as Error;
    if (verbose) console.error(e.stack ?? String(e));
    else console.error(`vision-garden: ${e.message}`);
    return err instanceof ExitError ? err.exitCode : 1;
  }
}
