/**
 * Private file-system helpers for maps: fsync, SHA-256 of files, recursive listing.
 * @module
 */
import { createHash } from "node:crypto";

/** fsync a file (data and metadata). */
export async function fsyncFile(path: string): Promise<void> {
  const f = await Deno.open(path, { read: true, write: true });
  try {
    await f.sync();
  } finally {
    f.close();
  }
}

/** fsync a directory so that renames and creations inside it are durable (no-op where unsupported). */
export async function fsyncDir(path: string): Promise<void> {
  let f: Deno.FsFile | undefined;
  try {
    f = await Deno.open(path, { read: true });
    await f.sync();
  } catch {
    // Some platforms cannot open or sync directories; the renames are still atomic there.
  } finally {
    f?.close();
  }
}

/** Hex SHA-256 and size of a file, streamed in 1 MiB chunks. */
export async function sha256File(path: string): Promise<{ sha256: string; size: number }> {
  const hash = createHash("sha256");
  const f = await Deno.open(path, { read: true });
  const buf = new Uint8Array(1 << 20);
  let size = 0;
  try {
    for (;;) {
      const n = await f.read(buf);
      if (n === null) break;
      hash.update(buf.subarray(0, n));
      size += n;
    }
  } finally {
    f.close();
  }
  return { sha256: hash.digest("hex"), size };
}

/** Every file under `dir`, as sorted `/`-separated relative paths. */
export async function listFiles(dir: string, prefix = ""): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory) out.push(...await listFiles(`${dir}/${e.name}`, rel));
    else if (e.isFile) out.push(rel);
  }
  return out.sort();
}

/** True when `path` exists (any kind). */
export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}

/** Write all bytes to a new file and fsync it. */
export async function writeFileSynced(path: string, data: Uint8Array): Promise<void> {
  const f = await Deno.open(path, { write: true, create: true, truncate: true });
  try {
    let off = 0;
    while (off < data.length) off += await f.write(data.subarray(off));
    await f.sync();
  } finally {
    f.close();
  }
}

/** Float32 rows as little-endian bytes (a view on little-endian hosts, a copy otherwise). */
export function f32ToLeBytes(v: Float32Array): Uint8Array {
  if (LITTLE_ENDIAN) return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  const out = new Uint8Array(v.length * 4);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < v.length; i++) dv.setFloat32(i * 4, v[i], true);
  return out;
}

/** Little-endian bytes to Float32 rows (copied, aligned). */
export function leBytesToF32(bytes: Uint8Array): Float32Array {
  const n = bytes.length >>> 2;
  if (LITTLE_ENDIAN) return new Float32Array(bytes.slice(0, n * 4).buffer);
  const out = new Float32Array(n);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < n; i++) out[i] = dv.getFloat32(i * 4, true);
  return out;
}

/** True on little-endian hosts. */
export const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Copy a folder tree (files and sub-folders). */
export async function copyTree(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const e of Deno.readDir(from)) {
    if (e.isDirectory) await copyTree(`${from}/${e.name}`, `${to}/${e.name}`);
    else if (e.isFile) await Deno.copyFile(`${from}/${e.name}`, `${to}/${e.name}`);
  }
}
