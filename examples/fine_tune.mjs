// Fine-tune a classifier from a checkpoint, export it and predict with it.
//   node examples/fine_tune.mjs CHECKPOINT OUT_DIR [STEPS]
// CHECKPOINT: a run directory or .vgckpt of ours, a TF checkpoint or a Keras .weights.h5 of the
// same architecture. Here: the built-in generated-shapes experiment (512 generated images, batch
// 16), trained STEPS more steps; the run goes to OUT_DIR/run, the exported model to OUT_DIR/model.
import { join } from 'node:path';
import {
  createModelFromRun,
  disposeRun,
  initBackend,
  runExperiment,
  saveModel,
} from 'vision-garden';

const [checkpoint, out, steps = '20'] = process.argv.slice(2);
await initBackend('wasm');
const run = await runExperiment({
  mode: 'train',
  experiment: 'compact_resnet_shapes',
  modelDir: join(out, 'run'),
  backend: 'wasm',
  paramsOverrides: [
    `task.init_checkpoint=${checkpoint}`,
    'task.train_data.tfds_split=train/512,task.train_data.global_batch_size=16',
    `trainer.train_steps=${steps},trainer.steps_per_loop=${steps},trainer.checkpoint_interval=${steps}`,
    'trainer.optimizer_config.learning_rate.type=constant',
    'trainer.optimizer_config.learning_rate.constant.learning_rate=0.01',
  ],
});
console.log(`trained to step ${run.step}`);
disposeRun(run);

const model = await createModelFromRun(join(out, 'run'));
await saveModel(model, join(out, 'model'));
console.log(`exported ${join(out, 'model')}`);
