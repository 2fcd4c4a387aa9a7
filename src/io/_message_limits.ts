/**
 * Limits that keep the memory a single incoming message costs in proportion to its size. Text (JSON) and CBOR
 * messages are parsed into JavaScript values, and a JavaScript value costs far more than its encoding: an array
 * of one-digit numbers takes two characters per value as JSON but eight or more bytes per value once parsed.
 * Byte data (images) must therefore come as base64 text, a CBOR byte string or typed array, or a binary message;
 * a `data` array of numbers is accepted only up to `MAX_JSON_BYTE_ARRAY` bytes, and a message with more values
 * than that is refused before it is parsed.
 *
 * @module
 */

/** Largest `data` accepted as an array of numbers (JSON or CBOR), in bytes. */
export const MAX_JSON_BYTE_ARRAY = 65536;

/** Most values (counted by their separating commas) a JSON text message may hold. */
export const MAX_JSON_VALUES = 2 * MAX_JSON_BYTE_ARRAY;

/** Most CBOR data items a binary message may hold (`decodeCbor`'s `maxItems`). */
export const MAX_CBOR_ITEMS = 2 * MAX_JSON_BYTE_ARRAY;

/**
 * `JSON.parse(text)`, refusing first (with `fail(message)`) a text that holds more than `MAX_JSON_VALUES`
 * values, so that parsing never builds millions of values from one message. Counting is one pass of
 * `indexOf` over texts long enough to hold that many values; base64 text has no commas.
 */
export function parseJsonMessage(text: string, fail: (message: string) => Error): unknown {
  if (text.length > 2 * MAX_JSON_VALUES) {
    let commas = 0;
    for (let i = text.indexOf(","); i >= 0; i = text.indexOf(",", i + 1)) {
      if (++commas >= MAX_JSON_VALUES) {
        throw fail(
          `it holds more than ${MAX_JSON_VALUES} JSON values (${text.length} characters): send byte data as ` +
            "base64 text, CBOR or a binary message, not as an array of numbers",
        );
      }
    }
  }
  return JSON.parse(text);
}
