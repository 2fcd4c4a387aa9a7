/**
 * The shipped generic model (`models/waymark-generic`) with other front-end options and the same vocabulary
 * (NetVLAD parameters read back with `vocabularyOf`), written as a model folder for `--model DIR` (e.g.
 * `waymark eval suite --model DIR`): measures a front-end change on the loop rows without refitting the
 * vocabulary.
 *
 * Usage: deno run -A scripts/generic_front_end.ts --out DIR --front-end '{"denoise":"wiener"}'
 * @module
 */
import { parseArgs } from "node:util";
import { invalid } from "../src/errors.ts";
import { buildDefaultModelGraph, defaultModelManifest, vocabularyOf } from "../src/model/default_model.ts";
import type { DenseSiftOptions } from "../src/model/dense_sift.ts";
import { readGenericModelBundle } from "../src/model/generic_model.ts";
import { saveModelBundle } from "../src/model/onnx_model.ts";

const { values } = parseArgs({
  options: { out: { type: "string" }, "front-end": { type: "string", default: "{}" } },
});
const action = "write the generic model with another front end";
if (!values.out) throw invalid(action, "--out", "a folder to create", values.out);
let options: Partial<DenseSiftOptions>;
try {
  options = JSON.parse(values["front-end"]!);
} catch {
  throw invalid(action, "--front-end", "a JSON object of front-end options", values["front-end"]);
}
const bundle = await readGenericModelBundle();
const { frontEnd: shipped, ...provenance } = bundle.manifest.provenance!;
const frontEnd: DenseSiftOptions = { ...(shipped as DenseSiftOptions), ...options };
const params = {
  inputWidth: bundle.manifest.input.width,
  inputHeight: bundle.manifest.input.height,
  frontEnd,
  netvlad: vocabularyOf(bundle),
  powerNorm: provenance.powerNorm as boolean,
  pca: null,
};
const onnx = buildDefaultModelGraph(params);
const how = `(the generic vocabulary, front end ${JSON.stringify(frontEnd)})`;
const manifest = await defaultModelManifest(params, onnx, "waymark-generic-front-end", how, provenance);
console.log(await saveModelBundle(values.out, { manifest, onnx }));
