/**
 * One stream of everything a live run reports: a frame source's connection states and rejected messages
 * merged with the pipeline's events.
 * @module
 */
import { Observable } from "rxjs";
import type { WaymarkEvent } from "../types.ts";
import { ErrorTally } from "./error_tally.ts";

/**
 * Merge `source.events()` (connection states, malformed-message errors) into the pipeline's `events$`; the
 * result completes when `events$` does. The source's error events (cause `source` when they name none) are
 * added to every later stats event's `errors` and `errorsByCause`, so that the merged stream's stats count
 * exactly the error events it carried.
 *
 * @example
 * ```ts ignore
 * const source = websocketSource("ws://127.0.0.1:9000/camera");
 * const { events$ } = localize(source.frames(), { model, map });
 * withSourceEvents(source, events$).subscribe((e) => console.log(e.kind));
 * ```
 */
export function withSourceEvents(
  // Only `events()` of a FrameSource (src/io/frame_source.ts) is needed: typed structurally, so that the
  // pipeline does not depend on the I/O area above it.
  source: { events(): Observable<WaymarkEvent> },
  events$: Observable<WaymarkEvent>,
): Observable<WaymarkEvent> {
  return new Observable<WaymarkEvent>((sub) => {
    const tally = new ErrorTally();
    const a = source.events().subscribe((e) => {
      if (e.kind === "error") {
        if (e.cause === undefined) e = { ...e, cause: "source" };
        tally.add(e);
      }
      sub.next(e);
    });
    const b = events$.subscribe({
      next: (e) => sub.next(e.kind === "stats" ? tally.addTo(e) : e),
      error: (err) => sub.error(err),
      complete: () => sub.complete(),
    });
    return () => {
      b.unsubscribe();
      a.unsubscribe();
    };
  });
}
