/**
^ * The `--verify` passthrough of the streaming commands: loads the pipeline verifier that the verification
 * module provides (`src/verify/pipeline_verifier.ts`, exporting `createPipelineVerifier(options)` that returns
 * a `Verifier` of `src/pipeline/verification_hook.ts`). Imported lazily so that commands start fast and work
 * without it.
 *
 * @module
 */
import { ValidationError } from "../errors.ts";
import type { Verifier } from "./verification_hook.ts";

/** Load the pipeline verifier; a clear error when the verification module does not provide one. */
export async function loadPipelineVerifier(options: { minInliers?: number } = {}): Promise<Verifier> {
  let mod: { createPipelineVerifier?: (o: { minInliers?: number }) => Verifier | Promise<Verifier> };
  try {
    const specifier = "../verify/pipeline_verifier.ts"; // resolved at run time: optional module
    mod = await import(specifier);
  } catch (err) {
    throw new ValidationError(
      `Cannot use --verify: the pipeline verifier (src/verify/pipeline_verifier.ts) could not be loaded (${
        (err as Error).message.split("\n")[0]
      })`,
      { cause: err },
    );
  }
  if (typeof mod.createPipelineVerifier !== "function") {
    throw new ValidationError(
      "Cannot use --verify: src/verify/pipeline_verifier.ts has no createPipelineVerifier()",
    );
  }
  return await mod.createPipelineVerifier(options);
}
