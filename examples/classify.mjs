// Classify an image with an exported model (`vision-garden export --format vg`).
//   node examples/classify.mjs MODEL_DIR_OR_URL IMAGE
import { loadModel } from 'vision-garden';

const [model, image] = process.argv.slice(2);
const m = await loadModel(model);
const out = await m.predict(image, { topK: 5 });
for (const c of out.classes) console.log(`${c.label}\t${c.score.toFixed(6)}`);
