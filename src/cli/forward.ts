/**
 * `vision-garden forward`: runs an experiment's model once, in inference mode, on arrays from
 * `.npy` files and writes every output to an `.npz` under Model Garden's output names — the tool
 * for checking parity with TensorFlow (Model Garden's reference `outputs.npz` files use the same
 * names):
 *
 *   vision-garden forward --experiment E [--config_file F]... [--params_override O]...
 *     --checkpoint PREFIX_OR_DIR --input X.npy [--image_shape S.npy] [--stream] --output Y.npz
 *
 * `--stream` (causal video models with stream states): the clip whole and frame by frame, as the
 * task's `streamOutputs` names them.
 */
import type { Command } from 'commander';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, isBackendName, tfjsBackendFor } from '../core/backend/index.js';
import { readNpy, writeNpz, type NdArray } from '../interop/numpy.js';
import type { ExperimentSpec } from '../train/run_experiment.js';
import { loadCheckpointModel } from './checkpoint_model.js';

export interface ForwardOptions extends ExperimentSpec {
  checkpoint: string;
  /** Stream the video frame by frame with explicit states (`task.streamOutputs`). */
  stream?: boolean;
  input: string;
  imageShape?: string;
  output: string;
}

function toTensor(a: NdArray, file: string): tf.Tensor {
  if (a.dtype === 'float32') return tf.tensor(a.data as Float32Array, a.shape, 'float32');
  if (a.dtype === 'float64') return tf.tensor(Float32Array.from(a.data as Float64Array), a.shape);
  if (a.dtype === 'int32') return tf.tensor(a.data as Int32Array, a.shape, 'int32');
  throw new Error(`${file}: dtype ${a.dtype} is not an input here (float32, float64 or int32)`);
}

async function toNdArray(t: tf.Tensor, name: string): Promise<NdArray> {
  const shape = [...t.shape];
  if (t.dtype === 'float32')
    return { dtype: 'float32', shape, data: (await t.data()) as Float32Array };
  if (t.dtype === 'int32') return { dtype: 'int32', shape, data: (await t.data()) as Int32Array };
  if (t.dtype === 'bool') return { dtype: 'bool', shape, data: (await t.data()) as Uint8Array };
  throw new Error(`output '${name}' has dtype ${t.dtype}, which is not written`);
}

/** Runs the model once and writes the outputs; returns their names in the order written. */
export async function runForward(opts: ForwardOptions): Promise<string[]> {
  const { task, model } = await loadCheckpointModel(opts, opts.checkpoint);
  try {
    if (opts.stream && !task.streamOutputs) {
      throw new Error(
        `--stream: streaming needs a causal MoViNet model with stream states; task type '${task.type}' has none`,
      );
    }
    if (!opts.stream && !task.inferenceOutputs) {
      throw new Error(`task type '${task.type}' has no inference outputs for forward`);
    }
    if (opts.stream && opts.imageShape) {
      throw new Error('--image_shape: not an input of streaming (--stream) models');
    }
    const images = toTensor(readNpy(opts.input), opts.input);
    const extras: Record<string, tf.Tensor> = {};
    if (opts.imageShape) extras.image_shape = toTensor(readNpy(opts.imageShape), opts.imageShape);
    const outputs = tf.tidy(() =>
      opts.stream
        ? task.streamOutputs!(model, images)
        : task.inferenceOutputs!(model, images, extras),
    );
    try {
      const arrays: [string, NdArray][] = [];
      for (const [name, t] of Object.entries(outputs))
        arrays.push([name, await toNdArray(t, name)]);
      writeNpz(opts.output, arrays);
      return arrays.map(([n]) => n);
    } finally {
      tf.dispose([images, ...Object.values(extras), ...Object.values(outputs)]);
    }
  } finally {
    model.dispose();
  }
}

const collect = (value: string, previous: string[]) => [...previous, value];

export function registerForward(program: Command): void {
  program
    .command('forward')
    .description(
      "run a model once (inference) on .npy input and write its outputs to .npz under Model Garden's names",
    )
    .requiredOption('--experiment <name>', 'registered experiment name')
    .option('--config_file <file>', 'YAML config file; repeatable', collect, [])
    .option('--params_override <overrides>', "overrides 'a.b=1,...'; repeatable", collect, [])
    .requiredOption(
      '--checkpoint <path>',
      'TF checkpoint prefix or directory (Model Garden), or a .vgckpt file or run directory',
    )
    .requiredOption('--input <file>', 'input images, .npy [batch, height, width, channels]')
    .option('--image_shape <file>', '.npy [batch, 2] un-padded image sizes (detection models)')
    .option(
      '--stream',
      'also feed the video frame by frame with explicit states (causal MoViNet): clip/* and frames/* outputs',
    )
    .requiredOption('--output <file>', 'where to write the outputs (.npz)')
    .option('--backend <name>', 'tensor backend (default cpu: the exact reference)', 'cpu')
    .action(
      async (flags: {
        experiment: string;
        config_file: string[];
        params_override: string[];
        checkpoint: string;
        input: string;
        image_shape?: string;
        stream?: boolean;
        output: string;
        backend: string;
      }) => {
        if (!isBackendName(flags.backend)) {
          throw new Error(`--backend: unknown backend '${flags.backend}'`);
        }
        await initBackend(tfjsBackendFor(flags.backend));
        const names = await runForward({
          experiment: flags.experiment,
          configFiles: flags.config_file,
          paramsOverrides: flags.params_override,
          checkpoint: flags.checkpoint,
          input: flags.input,
          imageShape: flags.image_shape,
          stream: flags.stream === true,
          output: flags.output,
        });
        console.log(`wrote ${names.length} output(s) to ${flags.output}: ${names.join(', ')}`);
      },
    );
}
