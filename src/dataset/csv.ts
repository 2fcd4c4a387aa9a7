/**
 * A small RFC 4180 CSV reader for the dataset format: a header row, comma separators, fields optionally in
 * double quotes (`""` escapes a quote; quoted fields may hold commas and line breaks), CRLF or LF line ends,
 * an optional UTF-8 byte-order mark, and blank lines ignored. Anything else is a {@link DatasetError} that
 * names the file and the 1-based line.
 *
 * Pure: text in, table out (see {@link readCsvFile} for the file-reading edge).
 *
 * Kept rather than `csv-parse` (sync API): the library was several times slower on a dataset-sized table
 * (README, "Measured"; its `info`/`raw` options, needed to name the 1-based line a row starts on, cost most of
 * it), and its errors
 * name the line where parsing stopped, not where a multi-line quoted field began. The rules here are the
 * dataset format's (`docs/dataset_format.md`), checked by `test/dataset/csv_test.ts`.
 *
 * @module
 */
import { DatasetError } from "../errors.ts";

/** One data row with the line it starts on (1-based, counting the header as line 1). */
export interface CsvRow {
  line: number;
  fields: string[];
}

/** A parsed CSV file: trimmed header names and the data rows, each with as many fields as the header. */
export interface CsvTable {
  /** File name used in messages. */
  file: string;
  header: string[];
  rows: CsvRow[];
}

/** Options of {@link parseCsv}. */
export interface ParseCsvOptions {
  /** Name used in error messages. Default `"<csv>"`. */
  file?: string;
}

function fail(file: string, line: number, problem: string): DatasetError {
  return new DatasetError(`${file}:${line}: ${problem}`, { context: { file, line } });
}

/**
 * Parse CSV text with a header row. Every row must have as many fields as the header; header names are
 * trimmed and must be non-empty and unique. Unquoted fields are trimmed of surrounding spaces.
 *
 * @example
 * ```ts
 * import { parseCsv } from "./csv.ts";
 * const t = parseCsv('\uFEFFimage,stamp\r\n"a,b.jpg",1.5\r\n\r\nc.jpg,2\r\n', { file: "db.csv" });
 * console.assert(t.header.join("|") === "image|stamp");
 * console.assert(t.rows[0].fields[0] === "a,b.jpg" && t.rows[1].line === 4);
 * ```
 */
export function parseCsv(text: string, options: ParseCsvOptions = {}): CsvTable {
  const file = options.file ?? "<csv>";
  const records = tokenize(text, file);
  if (records.length === 0) throw fail(file, 1, "the file is empty (a header row is required)");
  const [head, ...body] = records;
  const header = head.fields.map((h) => h.trim());
  const seen = new Set<string>();
  for (const h of header) {
    if (h === "") {
      throw fail(file, head.line, `empty column name in header ${JSON.stringify(header.join(","))}`);
    }
    if (seen.has(h)) throw fail(file, head.line, `duplicate column '${h}' in header`);
    seen.add(h);
  }
  for (const row of body) {
    if (row.fields.length !== header.length) {
      throw fail(
        file,
        row.line,
        `expected ${header.length} fields (${header.join(",")}) but found ${row.fields.length}`,
      );
    }
  }
  return { file, header, rows: body };
}

const QUOTE = 34, COMMA = 44, CR = 13, LF = 10;

/** Split text into records; blank lines are dropped. */
function tokenize(text: string, file: string): CsvRow[] {
  const rows: CsvRow[] = [];
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const n = text.length;
  let line = 1;
  while (i < n) {
    const startLine = line;
    const fields: string[] = [];
    let blank = true;
    // one record
    for (;;) {
      // skip leading spaces of an unquoted-or-quoted field
      let j = i;
      while (j < n && (text.charCodeAt(j) === 32 || text.charCodeAt(j) === 9)) j++;
      if (j < n && text.charCodeAt(j) === QUOTE) {
        blank = false;
        const fieldLine = line;
        let value = "";
        let k = j + 1;
        for (;;) {
          const q = text.indexOf('"', k);
          if (q < 0) throw fail(file, fieldLine, "unterminated quoted field");
          const chunk = text.slice(k, q);
          for (let c = 0; c < chunk.length; c++) if (chunk.charCodeAt(c) === LF) line++;
          value += chunk;
          if (text.charCodeAt(q + 1) === QUOTE) {
            value += '"';
            k = q + 2;
            continue;
          }
          k = q + 1;
          break;
        }
        while (k < n && (text.charCodeAt(k) === 32 || text.charCodeAt(k) === 9)) k++;
        const c = k < n ? text.charCodeAt(k) : -1;
        if (c !== -1 && c !== COMMA && c !== CR && c !== LF) {
          throw fail(file, line, `unexpected character ${JSON.stringify(text[k])} after a closing quote`);
        }
        fields.push(value.replace(/\r\n/g, "\n"));
        i = k;
      } else {
        let k = i;
        while (k < n) {
          const c = text.charCodeAt(k);
          if (c === COMMA || c === CR || c === LF) break;
          if (c === QUOTE) {
            throw fail(file, line, "a double quote inside an unquoted field (quote the whole field)");
          }
          k++;
        }
        const value = text.slice(i, k).trim();
        if (value !== "") blank = false;
        fields.push(value);
        i = k;
      }
      // separator or end of record
      if (i >= n) break;
      const c = text.charCodeAt(i);
      if (c === COMMA) {
        blank = false;
        i++;
        continue;
      }
      if (c === CR) {
        i++;
        if (text.charCodeAt(i) === LF) i++;
      } else i++; // LF
      line++;
      break;
    }
    if (!blank) rows.push({ line: startLine, fields });
  }
  return rows;
}

/**
 * Read and parse a CSV file. A missing file is a {@link DatasetError} naming it.
 *
 * @example
 * ```ts ignore
 * const table = await readCsvFile("data/queries.csv");
 * ```
 */
export async function readCsvFile(path: string): Promise<CsvTable> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new DatasetError(`${path}: file not found`, { cause: err, context: { file: path } });
    }
    throw new DatasetError(`${path}: cannot read: ${(err as Error).message}`, {
      cause: err,
      context: { file: path },
    });
  }
  return parseCsv(text, { file: path });
}
