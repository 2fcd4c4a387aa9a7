/**
 * The `VectorIndex` contract: nearest neighbours by inner product over L2-normalised vectors
 * (i.e. cosine similarity). Implementations: `HnswIndex` (approximate, hnswlib-node) and
 * `BruteForceIndex` (exact). One contract test suite runs against both (`test/index/`).
 *
 * @module
 */

/** One search hit. */
export interface SearchHit {
  /** The id given to `add`. */
  id: number;
  /** Inner product with the query (cosine similarity for L2-normalised vectors), higher is closer. */
  similarity: number;
}

/** Options of a search. */
export interface SearchOptions {
  /** Only ids for which this returns true are returned (e.g. exclude a recent time window). Default: all. */
  filter?: (id: number) => boolean;
}

/** A nearest-neighbour index over fixed-dimension float vectors. */
export interface VectorIndex {
  /** Vector dimension. */
  readonly dim: number;
  /** Number of vectors added. */
  readonly size: number;
  /** Add one vector under a non-negative integer id (ids need not be contiguous; re-adding an id replaces it). */
  add(id: number, vector: Float32Array): void;
  /** The k nearest ids, most similar first (fewer when the index holds fewer). */
  search(query: Float32Array, k: number, options?: SearchOptions): SearchHit[];
  /** Write the index to a file (atomically: temp file then rename). */
  save(path: string): Promise<void>;
}
export { checkVector } from "./_validate.ts";
