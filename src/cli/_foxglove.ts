/**
 * `--foxglove URL` of `localize` and `slam`: open the Foxglove live view (`src/io/foxglove_sink.ts`) on the
 * address of URL (`ws://127.0.0.1:8765`; port 0: any free). An interface that is not loopback needs a token, read
 * from the `WAYMARK_TOKEN` environment variable (as for --publish).
 * @module
 */
import { FoxgloveSink } from "../io/foxglove_sink.ts";
import { parsePublishUrl } from "../io/websocket_sink.ts";
import type { PlaceMeta } from "../types.ts";
import { TOKEN_ENV } from "./cmd_localize.ts";

/** Open the live view for `--foxglove URL` (undefined: none) and print where it serves. */
export async function openFoxglove(
  url: string | undefined,
  places: PlaceMeta[],
): Promise<FoxgloveSink | undefined> {
  if (url === undefined) return undefined;
  const { host, port } = parsePublishUrl(url);
  let token: string | undefined;
  try {
    token = Deno.env.get(TOKEN_ENV) || undefined;
  } catch { /* no env permission */ }
  const sink = await FoxgloveSink.listen({ host, port, token, places });
  console.error(
    `waymark: Foxglove live view on ${sink.url} (Foxglove: Open connection > Foxglove WebSocket)`,
  );
  return sink;
}
