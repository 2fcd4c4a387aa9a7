/**
 * One stream of everything a live run reports: a frame source's connection states and rejected messages
 * merged with the pipeline's events.
 * @module
 */
import { Observable } from "rxjs";
import type { StatsEvent, WaymarkEvent } from "../types.ts";
import { ErrorTally } from "./error_tally.ts";

/**
 * Merge `source.events()` (connection states, malformed-message errors) into the pipeline's `events$`; the
 * result completes when `events$` does. The source's error events (cause `source` when they name none) are
 * added to every later stats event's `errors` and `errorsByCause`, so that the merged stream's stats count
 * exactly the error events it carried, warnings (cause `warning`: nothing was rejected) apart. A source that can
 * tell frames lost before they reached it (`counters.lostUpstream`) has that count in `lostUpstream`.
 *
 * @example
 * ```ts ignore
 * const source = websocketSource("ws://127.0.0.1:9000/camera");
 * const { events$ } = localize(source.frames(), { model, map });
 * withSourceEvents(source, events$).subscribe((e) => console.log(e.kind));
 * ```
 */
export function withSourceEvents(
  // Only `events()` and `counters` of a FrameSource (src/io/frame_source.ts) are needed: typed structurally, so that the
  // pipeline does not depend on the I/O area above it.
  source: { events(): Observable<WaymarkEvent>; counters: { lostUpstream?: number } },
  events$: Observable<WaymarkEvent>,
): Observable<WaymarkEvent> {
  return new Observable<WaymarkEvent>((sub) => {
    const tally = new ErrorTally();
    const a = source.events().subscribe((e) => {
      if (e.kind === "error") {
        if (e.cause === undefined) e = { ...e, cause: "source" };
        if (e.cause !== "warning") tally.add(e);
      }
      sub.next(e);
    });
    const b = events$.subscribe({
      next: (e) => sub.next(e.kind === "stats" ? withLostUpstream(tally.addTo(e), source) : e),
      error: (err) => sub.error(err),
      complete: () => sub.complete(),
    });
    return () => {
      b.unsubscribe();
      a.unsubscribe();
    };
  });
}

function withLostUpstream(stats: StatsEvent, source: { counters: { lostUpstream?: number } }): StatsEvent {
  const lost = source.counters.lostUpstream;
  return lost === undefined ? stats : { ...stats, lostUpstream: lost };
}
