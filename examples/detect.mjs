// Detect objects in an image with an exported detection model (`vision-garden export --format vg`).
//   node examples/detect.mjs MODEL_DIR_OR_URL IMAGE [SCORE_THRESHOLD]
// Boxes are [ymin, xmin, ymax, xmax] in the image's pixels.
import { loadModel } from 'vision-garden';

const [model, image, threshold = '0.3'] = process.argv.slice(2);
const m = await loadModel(model);
const out = await m.predict(image, { scoreThreshold: Number(threshold) });
for (const d of out.detections) {
  const box = d.box.map((v) => v.toFixed(2)).join(' ');
  console.log(`${d.label}\t${d.score.toFixed(6)}\t${box}`);
}
