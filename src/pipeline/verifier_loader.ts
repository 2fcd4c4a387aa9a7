/**
 * The `--verify` passthrough of the streaming commands: the pipeline's geometric verifier
 * (`geometric_verifier.ts`, over `src/verify/`), imported lazily so that commands without `--verify` start fast.
 *
 * @module
 */
import type { GeometricVerifierOptions } from "./geometric_verifier.ts";
import type { Verifier } from "./verification_hook.ts";

/** Load the pipeline verifier (see {@link GeometricVerifierOptions}). */
export async function loadPipelineVerifier(options: GeometricVerifierOptions = {}): Promise<Verifier> {
  const { createGeometricVerifier } = await import("./geometric_verifier.ts");
  return createGeometricVerifier(options);
}
