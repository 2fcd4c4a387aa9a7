/**
 * One stream of everything a live run reports: a frame source's connection states and rejected messages
 * merged with the pipeline's events.
 * @module
 */
import { Observable } from "rxjs";
import type { WaymarkEvent } from "../types.ts";

/**
 * Merge `source.events()` (connection states, malformed-message errors) into the pipeline's `events$`; the
 * result completes when `events$` does.
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
    const a = source.events().subscribe((e) => sub.next(e));
    const b = events$.subscribe(sub);
    return () => {
      b.unsubscribe();
      a.unsubscribe();
    };
  });
}
