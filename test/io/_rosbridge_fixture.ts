/**
 * Loader of the recorded rosbridge transcript (`../shared/fixtures/rosbridge/`): frames a real rosbridge 0.11.17
 * server sent, per scenario.
 * @module
 */
import { decodeBase64 } from "../../src/io/base64.ts";
import { sharedPath } from "../_shared.ts";

/** One recorded WebSocket frame. */
export interface RecordedFrame {
  scenario: string;
  dir: "c2s" | "s2c";
  kind: "text" | "binary";
  /** Text, or the binary frame's bytes. */
  payload: string | Uint8Array;
}

/** Scenario names of the transcript. */
export const SCENARIOS = {
  none: "subscribe compressed none",
  cbor: "subscribe compressed cbor",
  cborRaw: "subscribe compressed cbor-raw",
  png: "subscribe compressed png",
  raw: "subscribe raw Image none",
  fragments: "subscribe compressed fragment_size=500",
} as const;

/** All recorded frames in order. */
export function loadTranscript(): RecordedFrame[] {
  const text = Deno.readTextFileSync(
    sharedPath("fixtures/rosbridge/rosbridge-ros1-0.11.17-transcript.jsonl"),
  );
  return text.split("\n").filter((l) => l.trim()).map((l) => {
    const o = JSON.parse(l) as {
      scenario: string;
      dir: "c2s" | "s2c";
      kind: "text" | "binary";
      data: string;
    };
    return {
      scenario: o.scenario,
      dir: o.dir,
      kind: o.kind,
      payload: o.kind === "binary" ? decodeBase64(o.data) : o.data,
    };
  });
}

/** Server-to-client frames of one scenario. */
export function serverFrames(scenario: string): (string | Uint8Array)[] {
  return loadTranscript().filter((f) => f.scenario === scenario && f.dir === "s2c").map((f) => f.payload);
}

/** The client's subscribe op of one scenario. */
export function subscribeOp(scenario: string): Record<string, unknown> {
  const f = loadTranscript().find((f) => f.scenario === scenario && f.dir === "c2s");
  return JSON.parse(f!.payload as string);
}

/** The published JPEG's bytes. */
export function tinyJpeg(): Uint8Array {
  return Deno.readFileSync(sharedPath("fixtures/rosbridge/tiny-64x48.jpg"));
}
