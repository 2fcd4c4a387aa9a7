import assert from "node:assert/strict";
import { parseCsv } from "../../src/dataset/csv.ts";
import { DatasetError } from "../../src/errors.ts";

Deno.test("parseCsv() reads a header, quoted fields with commas, escaped quotes and line breaks", () => {
  const t = parseCsv('image,stamp\n"a,b.jpg",1\n"say ""hi"".jpg",2\n"two\nlines.jpg",3\n', { file: "f.csv" });
  assert.deepEqual(t.header, ["image", "stamp"]);
  assert.deepEqual(t.rows.map((r) => r.fields[0]), ["a,b.jpg", 'say "hi".jpg', "two\nlines.jpg"]);
  assert.deepEqual(t.rows.map((r) => r.line), [2, 3, 4]);
});

Deno.test("parseCsv() strips a BOM, accepts CRLF, skips blank lines and counts lines across them", () => {
  const t = parseCsv("\uFEFF image , x\r\n\r\na.jpg, 1\r\n   \r\nb.jpg,2", { file: "f.csv" });
  assert.deepEqual(t.header, ["image", "x"]);
  assert.deepEqual(t.rows, [{ line: 3, fields: ["a.jpg", "1"] }, { line: 5, fields: ["b.jpg", "2"] }]);
});

Deno.test("parseCsv() rejects a row with the wrong field count, naming file and line", () => {
  assert.throws(
    () => parseCsv("image,stamp\na.jpg,1\nb.jpg\n", { file: "db.csv" }),
    (e) => e instanceof DatasetError && /^db\.csv:3: expected 2 fields/.test(e.message),
  );
});

Deno.test("parseCsv() rejects an unterminated quote, a stray quote and text after a closing quote", () => {
  const bad = (text: string, re: RegExp) =>
    assert.throws(
      () => parseCsv(text, { file: "q.csv" }),
      (e) => e instanceof DatasetError && re.test(e.message),
    );
  bad('image\n"a.jpg\n', /q\.csv:2: unterminated quoted field/);
  bad('image\na"b.jpg\n', /q\.csv:2: a double quote inside an unquoted field/);
  bad('image\n"a"x\n', /q\.csv:2: unexpected character "x" after a closing quote/);
});

Deno.test("parseCsv() rejects an empty file, empty or duplicate column names", () => {
  assert.throws(() => parseCsv("\n\n", { file: "e.csv" }), /e\.csv:1: the file is empty/);
  assert.throws(() => parseCsv("image,,x\n", { file: "e.csv" }), /e\.csv:1: empty column name/);
  assert.throws(() => parseCsv("image,image\n", { file: "e.csv" }), /e\.csv:1: duplicate column 'image'/);
});

Deno.test("parseCsv() keeps empty fields and a trailing empty field", () => {
  const t = parseCsv("a,b,c\n1,,\n", { file: "f.csv" });
  assert.deepEqual(t.rows[0].fields, ["1", "", ""]);
});
