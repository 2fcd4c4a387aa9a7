/**
 * `waymark verify <imageA> <imageB> --out pair.png [--attention-out att.png] [--model dir]`: verify one image
 * pair with DELF-style local features and draw it.
 *
 * @module
 */
import sharp from "sharp";
import { ImageDecodeError, ValidationError } from "../errors.ts";
import { decodeImage } from "../image/decode.ts";
import type { DescriptorModel } from "../types.ts";
import { drawAttention, drawPair, type RgbCanvas } from "../verify/draw.ts";
import { MapFeatureBuilder } from "../verify/eval_hooks.ts";
import {
  type DenseExtractor,
  extractLocalFeatures,
  modelExtractor,
  siftExtractor,
} from "../verify/local_features.ts";
import { type DelfModel, loadDelfModel } from "../verify/delf_contract.ts";
import { inliersNeeded, verificationThreshold, verifyPair } from "../verify/verifier.ts";
import { EXIT_OK, parseCommand } from "./_common.ts";

/** One-line description for `waymark --help`. */
export const summary = "verify an image pair with DELF-style local features and draw the inlier matches";

const HELP = `waymark verify <imageA> <imageB> --out pair.png [options]

Extracts local features of both images (dense descriptors on a 3-scale pyramid, attention-selected
keypoints, PCA fitted on the pair), matches them (mutual nearest neighbours) and verifies the geometry
(RANSAC). Draws A and B side by side with keypoints (size and colour by attention), inliers as green
lines and outliers as red ones, under a banner with the verdict and the inlier count against the threshold
(green: verified, red: not). The attention map (--attention-out) has its colour scale on the right.

Options:
  --out <png>            output picture (required)
  --attention-out <png>  attention heat map of image A over the image
  --model <dir>          descriptor model with a dense local output (default: built-in TypeScript dense SIFT)
  --delf <dir|json>      a learned DELF export fitting the DELF ONNX contract (delf.json: feature map +
                         attention map outputs, stride, offset); wins over --model
  --geometry <m>         affine (default) or homography
  --threshold <px>       RANSAC inlier residual in B's pixels (default 20)
  --max-keypoints <n>    keypoints per image (default 1000)

A pair is verified with at least 150 inliers, more than chance matches would give.
  --json                 print the result as JSON
  -h, --help             this help
`;

async function writePng(path: string, c: RgbCanvas): Promise<void> {
  await sharp(c.data, { raw: { width: c.width, height: c.height, channels: 3 } }).png().toFile(path);
}

/** Run the command. */
export async function run(args: string[]): Promise<number> {
  const parsed = parseCommand(args, {
    name: "verify",
    help: HELP,
    positionals: { count: 2, what: "two images" },
    required: ["out"],
    options: {
      out: { type: "string" },
      "attention-out": { type: "string" },
      model: { type: "string" },
      delf: { type: "string" },
      geometry: { type: "string", default: "affine" },
      threshold: { type: "string", default: "20" },
      "max-keypoints": { type: "string", default: "1000" },
      json: { type: "boolean", default: false },
    },
  });
  if (typeof parsed === "number") return parsed;
  const { values, positionals } = parsed;
  const geometry = values.geometry;
  if (geometry !== "affine" && geometry !== "homography") {
    throw new ValidationError(
      `Cannot verify as 'geometry' must be affine or homography: current value is "${geometry}"`,
    );
  }
  const threshold = Number(values.threshold), maxKeypoints = Number(values["max-keypoints"]);
  if (!(threshold > 0)) {
    throw new ValidationError(
      `Cannot verify as 'threshold' must be a positive number: current value is "${values.threshold}"`,
    );
  }
  if (!Number.isInteger(maxKeypoints) || maxKeypoints < 1) {
    throw new ValidationError(
      `Cannot verify as 'max-keypoints' must be a positive integer: current value is "${
        values["max-keypoints"]
      }"`,
    );
  }
  // The images first: a missing or unreadable one is named before any model loads.
  const images: Uint8Array[] = [];
  for (const path of positionals) {
    try {
      images.push(await Deno.readFile(path));
    } catch (err) {
      const why = err instanceof Deno.errors.NotFound
        ? "not found"
        : err instanceof Deno.errors.IsADirectory
        ? "is a folder"
        : `cannot be read (${(err as Error).message})`;
      throw new ImageDecodeError(`Cannot verify: image ${path} ${why}`, {
        cause: err,
        context: { source: path },
      });
    }
  }
  let model: DescriptorModel | undefined;
  let delf: DelfModel | undefined;
  if (values.delf) delf = await loadDelfModel(values.delf);
  else if (values.model) {
    const { loadModel } = await import("../model/onnx_model.ts");
    model = await loadModel(values.model, { provider: "cpu" });
  }
  try {
    const [pathA, pathB] = positionals;
    const a = await decodeImage(images[0], { source: pathA });
    const b = await decodeImage(images[1], { source: pathB });
    const extractor: DenseExtractor = delf?.extractor ?? (model ? modelExtractor(model) : siftExtractor());
    const builder = new MapFeatureBuilder({ extractor, maxKeypoints });
    await builder.add(0, a);
    await builder.add(1, b);
    let fa, fb;
    try {
      const { features } = builder.finish();
      fa = features.get(0)!, fb = features.get(1)!;
    } catch {
      // Neither image has keypoints (blank): verify the unreduced (empty) features to get the reason.
      fa = await extractLocalFeatures(a, { extractor, maxKeypoints });
      fb = await extractLocalFeatures(b, { extractor, maxKeypoints });
    }
    const t = performance.now();
    const options = { model: geometry, threshold } as const;
    const result = verifyPair(fa, fb, options);
    const ms = performance.now() - t;
    await writePng(
      values.out,
      drawPair(a, b, fa, fb, result, {
        minInliers: inliersNeeded(fa, fb, options),
        threshold: verificationThreshold(fb, options),
      }),
    );
    if (values["attention-out"]) {
      await writePng(values["attention-out"], drawAttention(a, await extractor(a, 1)));
    }
    const { correspondences: _c, ...plain } = result;
    if (values.json) {
      console.log(JSON.stringify({ ...plain, keypoints: [fa.count, fb.count], ms }, null, 2));
    } else {
      console.log(
        `${
          result.ok ? "VERIFIED" : "NOT VERIFIED"
        }: ${result.inliers} inliers of ${result.matches} matches ` +
          `(keypoints ${fa.count} / ${fb.count}, ${ms.toFixed(1)} ms)${
            result.reason ? `: ${result.reason}` : ""
          }`,
      );
      if (result.transform) {
        const m = result.transform.matrix.map((v) => v.toFixed(4));
        console.log(
          `${result.transform.model} A->B: [${m.slice(0, 3).join(" ")}; ${m.slice(3, 6).join(" ")}; ${
            m.slice(6).join(" ")
          }]`,
        );
      }
      console.log(`wrote ${values.out}${values["attention-out"] ? ` and ${values["attention-out"]}` : ""}`);
    }
    return EXIT_OK;
  } finally {
    await model?.close();
    await delf?.close();
  }
}
