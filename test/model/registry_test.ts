import assert from "node:assert/strict";
import { DEFAULT_PRESET, getPreset, listPresets } from "../../src/model/registry.ts";
import { UnknownNameError } from "../../src/errors.ts";

Deno.test("getPreset() returns complete presets and rejects an unknown name listing the known ones", () => {
  assert.ok(listPresets().includes(DEFAULT_PRESET));
  for (const name of listPresets()) {
    const p = getPreset(name);
    assert.equal(p.name, name);
    assert.ok((p.fit.clusters ?? 0) > 0 && p.fit.frontEnd);
  }
  assert.throws(
    () => getPreset("netvlad-resnet"),
    (e: unknown) =>
      e instanceof UnknownNameError && listPresets().every((n) => (e as Error).message.includes(n)),
  );
  assert.throws(() => getPreset("toString"), UnknownNameError);
});
