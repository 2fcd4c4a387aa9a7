import assert from "node:assert/strict";
import { FragmentAssembler } from "../../src/io/fragment_assembler.ts";

const frag = (data: string, num: number, total: number, id: unknown = 0) => ({
  op: "fragment",
  id,
  data,
  num,
  total,
});

Deno.test("FragmentAssembler joins fragments in any order, taking floor(total)", () => {
  const a = new FragmentAssembler();
  assert.equal(a.add(frag("c", 2, 3.7)).complete, undefined);
  assert.equal(a.add(frag("a", 0, 3.7)).complete, undefined);
  assert.equal(a.add(frag("b", 1, 3.7)).complete, "abc");
  assert.equal(a.pending, 0);
  assert.equal(a.add(frag("solo", 0, 1.2)).complete, "solo");
});

Deno.test("FragmentAssembler reports a set superseded by a new message with the same id", () => {
  const a = new FragmentAssembler();
  a.add(frag("a", 0, 3));
  const r = a.add(frag("x", 0, 2));
  assert.equal(r.errors.length, 1);
  assert.match(r.errors[0].message, /1 of 3 fragments/);
  assert.equal(a.add(frag("y", 1, 2)).complete, "xy");
});

Deno.test("FragmentAssembler drops incomplete sets after the time-out and bounds memory and set count", () => {
  let now = 0;
  const a = new FragmentAssembler({ timeoutMs: 100, now: () => now, maxBytes: 10, maxPending: 2 });
  a.add(frag("aaa", 0, 2, 1));
  assert.equal(a.nextDeadline(), 100);
  now = 101;
  const errs = a.sweep();
  assert.equal(errs.length, 1);
  assert.match(errs[0].message, /incomplete for more than 100 ms/);
  assert.equal(a.pending, 0);
  a.add(frag("a", 0, 2, 1));
  a.add(frag("b", 0, 2, 2));
  const r = a.add(frag("c", 0, 2, 3));
  assert.equal(r.errors.length, 1);
  assert.equal(a.pending, 2);
  const big = a.add(frag("0123456789", 1, 2, 2));
  assert.ok(big.errors.some((e) => /hold more than 10 characters/.test(e.message)));
});

Deno.test("FragmentAssembler rejects fragments with bad fields without throwing", () => {
  const a = new FragmentAssembler();
  for (
    const f of [
      frag("a", 3, 2),
      frag("a", -1, 2),
      frag("a", 0, 0),
      { id: 0, data: 5, num: 0, total: 2 },
      frag("a", 0, NaN),
    ]
  ) {
    const r = a.add(f as Record<string, unknown>);
    assert.equal(r.errors.length, 1);
    assert.equal(r.errors[0].name, "BridgeProtocolError");
  }
  assert.equal(a.pending, 0);
});
