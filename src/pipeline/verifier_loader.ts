/**
 * The `--verify` passthrough of the streaming commands: the pipeline's geometric verifier
 * (`geometric_verifier.ts`, over `src/verify/`), imported lazily so that commands without `--verify` start fast.
 *
 * With a prior map, map candidates are verified against the local features the map stores (`features/`, read
 * lazily, no image decoding, no extraction). A map built before features were stored (or with
 * `--no-local-features`), or one whose stored features were extracted otherwise than queries now are (its
 * manifest's `localFeatures.extraction`, e.g. `dense-sift` maps from before the keypoint-first front end), still
 * works: its candidates' features are re-extracted from its images, found under the folder the map was built
 * from, and one notice says so.
 *
 * @module
 */
import type { MapManifest } from "../map/format.ts";
import type { LocalFeatureExtraction } from "../map/format.ts";
import type { GeometricVerifierOptions, MapFeatureSource } from "./geometric_verifier.ts";
import type { Verifier } from "./verification_hook.ts";

/** What the loader needs of a prior map (a `LoadedMap` fits). */
export interface VerifierMapRef {
  /** Map folder. */
  dir: string;
  manifest: MapManifest;
  /** The map's stored features when already opened (`LoadedMap.localFeatures`); else opened from `dir`. */
  localFeatures?: MapFeatureSource;
}

/** Options of {@link loadPipelineVerifier}. */
export interface PipelineVerifierOptions extends GeometricVerifierOptions {
  /** The prior map whose stored features verify map candidates. Default none. */
  map?: VerifierMapRef;
  /** Where the one-line notice goes (map without stored features). Default: stderr, `waymark: ` prefixed. */
  onNotice?: (line: string) => void;
}

const stderrNotice = (line: string) => console.error(`waymark: ${line}`);

/** The map's stored features when queries extracted as `query` can use them; else why not. */
async function mapFeaturesOf(
  map: VerifierMapRef,
  query: LocalFeatureExtraction,
): Promise<{ features: MapFeatureSource } | { why: string }> {
  const { MapLocalFeatures } = await import("../map/local_features.ts");
  const { mapFeaturesMismatch } = await import("./geometric_verifier.ts");
  const features = map.localFeatures ?? MapLocalFeatures.open(map.dir, map.manifest);
  if (!features) {
    return { why: "stores no local features (built before they were stored, or with --no-local-features)" };
  }
  const mismatch = mapFeaturesMismatch(features, query);
  if (mismatch) {
    return { why: `stores local features extracted otherwise than queries now are (${mismatch})` };
  }
  return { features };
}

function fallbackNotice(map: VerifierMapRef, why: string, imageRoot: string | undefined): string {
  return `map ${map.dir} ${why}: verification re-extracts them from the map's images${
    imageRoot ? ` under ${imageRoot}` : ""
  } (about 40 ms per candidate); rebuild the map to store them`;
}

/**
 * Load the pipeline verifier (see {@link GeometricVerifierOptions}); with `map`, it uses the map's stored
 * features, or falls back to the map's images with a notice.
 *
 * @example
 * ```ts ignore
 * const map = await loadMap("maps/office");
 * const verifier = await loadPipelineVerifier({ map });
 * ```
 */
export async function loadPipelineVerifier(options: PipelineVerifierOptions = {}): Promise<Verifier> {
  const { map, onNotice, ...rest } = options;
  const { createGeometricVerifier } = await import("./geometric_verifier.ts");
  const verifier = createGeometricVerifier(rest);
  if (map && !rest.mapFeatures) {
    const got = await mapFeaturesOf(map, verifier.extraction);
    if ("features" in got) verifier.useMapFeatures(got.features);
    else {
      const builtFrom = map.manifest.build?.source;
      const imageRoot = rest.imageRoot ?? (typeof builtFrom === "string" ? builtFrom : undefined);
      (onNotice ?? stderrNotice)(fallbackNotice(map, got.why, imageRoot));
      if (imageRoot !== rest.imageRoot) return createGeometricVerifier({ ...rest, imageRoot });
    }
  }
  return verifier;
}

/**
 * Point an already created pipeline verifier at a map's stored features (e.g. a map an evaluation has just
 * built). Returns true when the map has features extracted as the verifier's queries are and the verifier took
 * them; otherwise the verifier keeps re-extracting from the candidates' images, and (for a map without usable
 * features) one notice says so.
 */
export async function useMapFeatures(
  verifier: Verifier,
  map: VerifierMapRef,
  onNotice: (line: string) => void = stderrNotice,
): Promise<boolean> {
  const target = verifier as Verifier & {
    useMapFeatures?: (f: MapFeatureSource | undefined) => void;
    extraction?: LocalFeatureExtraction;
  };
  if (typeof target.useMapFeatures !== "function") return false;
  const { DEFAULT_LOCAL_FEATURE_EXTRACTION } = await import("../map/local_features_writer.ts");
  const got = await mapFeaturesOf(map, target.extraction ?? DEFAULT_LOCAL_FEATURE_EXTRACTION);
  if (!("features" in got)) {
    onNotice(fallbackNotice(map, got.why, undefined));
    return false;
  }
  target.useMapFeatures(got.features);
  return true;
}
