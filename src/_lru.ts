/**
 * A bounded least-recently-used cache over a `Map` (insertion order = recency): the one used by the feature
 * stores and the verifier's extracted-feature cache.
 * @module
 */

/** Least-recently-used cache holding at most `capacity` entries. */
export class LruCache<K, V> {
  readonly #map = new Map<K, V>();
  constructor(readonly capacity: number) {}

  /** Number of entries held. */
  get size(): number {
    return this.#map.size;
  }

  /** The value for `key`, marking it most recently used; undefined when absent. */
  get(key: K): V | undefined {
    const hit = this.#map.get(key);
    if (hit !== undefined) {
      this.#map.delete(key);
      this.#map.set(key, hit);
    }
    return hit;
  }

  /** Store `value` as most recently used, evicting the least recently used entry beyond capacity. */
  set(key: K, value: V): void {
    this.#map.delete(key);
    this.#map.set(key, value);
    if (this.#map.size > this.capacity) this.#map.delete(this.#map.keys().next().value!);
  }
}
