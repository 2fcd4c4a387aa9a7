/**
 * The raw pixel encodings Waymark accepts (ROS `sensor_msgs/Image` names) and their sizes: one table for the
 * raw decoder (`decode.ts`) and the sources that check raw frames on arrival (`src/io`). No sharp import, so
 * that the sources can use it without loading the image codec.
 *
 * @module
 */
import type { RawEncoding } from "../types.ts";

/** Bytes per pixel of each accepted raw encoding. */
export const RAW_BYTES_PER_PIXEL: Readonly<Record<RawEncoding, number>> = {
  rgb8: 3,
  bgr8: 3,
  rgba8: 4,
  bgra8: 4,
  mono8: 1,
  mono16: 2,
};
