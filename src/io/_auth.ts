/**
 * Bearer-token check of a WebSocket upgrade request (`Authorization: Bearer <token>` or `?token=<token>`),
 * in constant time. Private helper of the WebSocket sink and test doubles.
 * @module
 */
import { timingSafeEqual } from "node:crypto";
import { Buffer } from "node:buffer";
import type { IncomingMessage } from "node:http";

/** The token a request presents, or null. */
export function presentedToken(req: IncomingMessage): string | null {
  const auth = req.headers?.authorization;
  if (typeof auth === "string") {
    const m = /^Bearer\s+(.+)$/i.exec(auth.trim());
    if (m) return m[1];
  }
  try {
    const url = new URL(req.url ?? "/", "http://localhost");
    return url.searchParams.get("token");
  } catch {
    return null;
  }
}

/** True when the request presents exactly `token`. */
export function tokenMatches(req: IncomingMessage, token: string): boolean {
  const got = presentedToken(req);
  if (got === null) return false;
  const a = Buffer.from(got);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}
