import assert from "node:assert/strict";
import { LruCache } from "../src/_lru.ts";

Deno.test("LruCache evicts the least recently used entry, and get() counts as a use", () => {
  const c = new LruCache<number, string>(2);
  c.set(1, "a");
  c.set(2, "b");
  assert.equal(c.get(1), "a"); // 2 is now the oldest
  c.set(3, "c");
  assert.equal(c.size, 2);
  assert.equal(c.get(2), undefined);
  assert.equal(c.get(1), "a");
  assert.equal(c.get(3), "c");
});

Deno.test("LruCache set() of a held key replaces it without growing", () => {
  const c = new LruCache<string, number>(2);
  c.set("x", 1);
  c.set("x", 2);
  assert.equal(c.size, 1);
  assert.equal(c.get("x"), 2);
});
