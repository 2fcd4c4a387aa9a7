/**
 * `waymark model info [<model-dir>|--preset name|--generic]`: a model's manifest, provider and sizes.
 * @module
 */
import { invalid } from "../errors.ts";
import type { ProviderChoice } from "../types.ts";
import { loadGenericModel } from "../model/generic_model.ts";
import { loadModel, type OnnxDescriptorModel } from "../model/onnx_model.ts";
import { getPreset, listPresets } from "../model/registry.ts";
import { EXIT_OK, parseCommand, runCommand } from "./_common.ts";

/** One-line description for `waymark --help`. */
export const summary = "show a model's manifest, execution provider and descriptor sizes";

const HELP = `waymark model info [<model-dir>|<manifest.json>] [options]

Load a model (checking its sha256 and that the ONNX graph matches its manifest), then print its name, id,
input size and normalisation, outputs (global descriptor size; dense local descriptors with grid stride and
offset), the execution provider in use and the warm-up time. Without a folder: the shipped generic model.

Options:
  --preset NAME       print a named default-model preset instead (known: ${listPresets().join(", ")})
  --generic           the shipped generic model (the default when no folder is given)
  --provider P        auto | cuda | cpu                                   default auto
  --json              print one JSON object (last line of stdout)
  -h, --help          this help
`;

/** Run `waymark model info`. */
export function run(args: string[]): Promise<number> {
  return runCommand(async () => {
    const parsed = parseCommand(args, {
      name: "model info",
      help: HELP,
      positionals: { count: 1, what: "one model folder", optional: true },
      options: {
        preset: { type: "string" },
        generic: { type: "boolean", default: false },
        provider: { type: "string", default: "auto" },
        json: { type: "boolean", default: false },
      },
    });
    if (typeof parsed === "number") return parsed;
    const { values, positionals } = parsed;
    const provider = values.provider as ProviderChoice;
    if (!["auto", "cuda", "cpu"].includes(provider)) {
      throw invalid("show model info", "provider", "one of auto, cuda, cpu", provider);
    }
    if (values.preset !== undefined) {
      const preset = getPreset(values.preset);
      if (values.json) console.log(JSON.stringify({ preset }));
      else {
        console.log(`preset       ${preset.name}`);
        console.log(`description  ${preset.description}`);
        console.log(`fit options  ${JSON.stringify(preset.fit)}`);
        console.log(`(a preset is fitted on a map's images: waymark map build uses it)`);
      }
      return EXIT_OK;
    }
    const model: OnnxDescriptorModel = positionals.length === 1 && !values.generic
      ? await loadModel(positionals[0], { provider })
      : await loadGenericModel({ provider });
    try {
      const m = model.manifest;
      const stats = model.stats();
      const info = {
        source: model.source,
        manifest: m,
        info: model.info,
        provider: stats.provider,
        fallbackReason: stats.fallbackReason ?? null,
        warmupMs: stats.warmupMs ?? null,
      };
      if (values.json) {
        console.log(JSON.stringify(info));
        return EXIT_OK;
      }
      const local = m.outputs.local;
      const lines: [string, string][] = [
        ["name", m.name],
        ["source", model.source],
        ["id (sha256)", model.info.id],
        ["description", m.description],
        ["created", m.created],
        [
          "input",
          `${m.input.name}: ${m.input.layout} ${m.input.channels}x${m.input.height}x${m.input.width}, mean ${
            JSON.stringify(m.input.mean)
          }, std ${JSON.stringify(m.input.std)}`,
        ],
        ["global", `${m.outputs.global.name}: ${m.descriptorDim}-d`],
        [
          "local",
          local
            ? `${local.name}: ${local.dim}-d, ${
              local.layout ?? "NCHW"
            }, grid stride ${local.stride} px, offset ${local.offset} px`
            : "none",
        ],
        [
          "provider",
          `${stats.provider}${stats.fallbackReason ? ` (CUDA unavailable: ${stats.fallbackReason})` : ""}`,
        ],
        ["warm-up", `${(stats.warmupMs ?? 0).toFixed(1)} ms`],
      ];
      if (m.provenance) lines.push(["provenance", JSON.stringify(m.provenance)]);
      for (const [k, v] of lines) console.log(`${k.padEnd(12)} ${v}`);
      return EXIT_OK;
    } finally {
      await model.close();
    }
  });
}
