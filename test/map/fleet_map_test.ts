import assert from "node:assert/strict";
import { IndexError, MapFormatError } from "../../src/errors.ts";
import { type PgConnection, PGliteConnection, type PgQueryable } from "../../src/index/pg_connection.ts";
import { GaussianMixture, randomUnitVectors } from "../../src/index/_synthetic.ts";
import { type FleetEvent, FleetMap, type FleetMapOptions } from "../../src/map/fleet_map.ts";

const DIM = 16;
const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A database the test can stop, restart and slow down. Robots connect through `connect()`: each gets a handle
 * that forwards to the database running when it connected (so a restart breaks old handles, as a server
 * restart breaks old sessions) and whose close() leaves the database alone.
 */
class TestDatabase {
  db: PGliteConnection | null = null;
  delayMs = 0;
  /** A database in `dataDir`, or (`shared`) a table of its own on a database shared by several tests. */
  constructor(
    readonly dataDir: string | null,
    readonly table = "waymark_places",
    private readonly shared?: PGliteConnection,
  ) {}
  async start(): Promise<void> {
    this.db = this.shared ?? await PGliteConnection.open(this.dataDir);
  }
  async stop(): Promise<void> {
    if (!this.shared) await this.db?.close();
    this.db = null;
  }
  connect = (): Promise<PgConnection> => {
    const db = this.db;
    if (db === null) return Promise.reject(new Error("connection refused (database stopped)"));
    const slow = async () => {
      if (this.delayMs > 0) await delay(this.delayMs);
      if (this.db !== db) throw new Error("connection lost (database stopped or restarted)");
    };
    const handle: PgConnection = {
      target: db.target,
      query: async <T>(sql: string, params?: unknown[]) => {
        await slow();
        return db.query<T>(sql, params);
      },
      transaction: async <T>(fn: (tx: PgQueryable) => Promise<T>) => {
        await slow();
        return db.transaction(fn);
      },
      close: () => Promise.resolve(),
    };
    return Promise.resolve(handle);
  };
  async rows(table = this.table) {
    const { rows } = await this.db!.query<
      { id: number; robot: string; session: string; seq: number; stamp: number }
    >(`SELECT id::float8 AS id, robot, session, seq::float8 AS seq, stamp FROM ${table} ORDER BY robot, seq`);
    return rows.map((r) => ({ ...r, id: Number(r.id), seq: Number(r.seq) }));
  }
}

// One in-memory PGlite for the tests that need no restart of the database itself (each gets its own table).
const sharedDb = await PGliteConnection.open(null);
let tables = 0;
const memoryDb = () => new TestDatabase(null, `fleet_${tables++}`, sharedDb);

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "waymark_fleet_test_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function robotOptions(dir: string, db: TestDatabase, robot: string, extra: Partial<FleetMapOptions> = {}) {
  return {
    dir: `${dir}/${robot}`,
    robot,
    session: `${robot}-s1`,
    dim: DIM,
    modelId: "test-model",
    connect: db.connect,
    table: db.table,
    refreshMs: 0,
    timeoutMs: 5000,
    efConstruction: 32,
    ...extra,
  };
}

const vectors = (n: number, seed: number) => {
  const data = new GaussianMixture({ dim: DIM, clusters: 6, spread: [0.5, 1], seed }).sample(n);
  return Array.from({ length: n }, (_, i) => data.slice(i * DIM, (i + 1) * DIM));
};

Deno.test("FleetMap: four robots writing at once on one database lose no place; every robot sees all", async () => {
  await withDir(async (dir) => {
    const db = memoryDb();
    await db.start();
    try {
      const names = ["r1", "r2", "r3", "r4"];
      const maps = await Promise.all(names.map((r) => FleetMap.open(robotOptions(dir, db, r))));
      const perRobot = 40;
      const data = names.map((_, i) => vectors(perRobot, 10 + i));
      // Each robot adds its places and syncs every few places; the four loops interleave on the database.
      await Promise.all(maps.map(async (m, r) => {
        for (let i = 0; i < perRobot; i++) {
          m.addPlace(data[r][i], 1000 * r + i);
          if (i % 7 === 3) await m.sync();
          else await delay(0);
        }
        await m.sync();
      }));
      await Promise.all(maps.map((m) => m.sync()));

      const rows = await db.rows();
      assert.equal(rows.length, names.length * perRobot);
      assert.equal(new Set(rows.map((r) => r.id)).size, rows.length, "database ids are unique");
      for (const [r, name] of names.entries()) {
        const mine = rows.filter((x) => x.robot === name);
        assert.deepEqual(mine.map((x) => x.seq), Array.from({ length: perRobot }, (_, i) => i));
        assert.ok(mine.every((x) => x.session === `${name}-s1`));
        assert.deepEqual(mine.map((x) => x.stamp), Array.from({ length: perRobot }, (_, i) => 1000 * r + i));
      }
      for (const m of maps) {
        const s = m.stats();
        assert.equal(s.state, "online");
        assert.equal(s.queued, 0);
        assert.equal(s.cacheSize, names.length * perRobot, `${m.robot} caches every place`);
        // Another robot's place is found in the local cache with where it came from.
        const [hit] = m.search(data[2][17], 1);
        assert.deepEqual({ robot: hit.robot, seq: hit.seq, stamp: hit.stamp, session: hit.session }, {
          robot: "r3",
          seq: 17,
          stamp: 2017,
          session: "r3-s1",
        });
      }
      const onlyOthers = maps[0].search(data[0][5], 3, (p) => p.robot !== "r1");
      assert.ok(onlyOthers.every((h) => h.robot !== "r1"));
      await Promise.all(maps.map((m) => m.close()));
    } finally {
      await db.stop();
    }
  });
});

Deno.test("FleetMap: the database stopped mid-session; places written during the outage arrive after it", async () => {
  await withDir(async (dir) => {
    const db = new TestDatabase(`${dir}/pgdata`);
    await db.start();
    const data = vectors(14, 3);
    const events: FleetEvent[] = [];
    let a = await FleetMap.open(robotOptions(dir, db, "alpha", { timeoutMs: 2000 }));
    a.onEvent((e) => events.push(e));
    for (let i = 0; i < 5; i++) a.addPlace(data[i], i);
    await a.sync();
    assert.equal(a.stats().state, "online");
    assert.equal((await db.rows()).length, 5);

    await db.stop();
    for (let i = 5; i < 10; i++) a.addPlace(data[i], i);
    // The live path keeps answering from the cache while the database is gone.
    assert.equal(a.search(data[7], 1)[0].seq, 7);
    await a.sync();
    let s = a.stats();
    assert.equal(s.state, "offline");
    assert.equal(s.queued, 5);
    assert.equal(s.outages, 1);
    assert.ok(s.lastError && s.lastError.length > 0);
    assert.deepEqual(
      events.filter((e) => e.type === "state").map((e) => e.type === "state" && e.state),
      ["offline"],
      "opened online, then one visible change",
    );

    // The robot restarts during the outage: the outbox queues its places again.
    await a.close();
    a = await FleetMap.open(robotOptions(dir, db, "alpha", { session: "alpha-s2", timeoutMs: 2000 }));
    assert.equal(a.stats().state, "offline");
    assert.equal(a.stats().queued, 5);
    assert.equal(a.stats().cacheSize, 10, "the saved cache answers with the database away");
    assert.equal(a.search(data[2], 1)[0].seq, 2);
    for (let i = 10; i < 14; i++) a.addPlace(data[i], i);
    assert.equal(a.stats().queued, 9);
    assert.equal(a.search(data[12], 1)[0].seq, 12);

    await db.start();
    await a.sync();
    s = a.stats();
    assert.equal(s.state, "online");
    assert.equal(s.queued, 0);
    const rows = await db.rows();
    assert.deepEqual(
      rows.map((r) => r.seq),
      Array.from({ length: 14 }, (_, i) => i),
      "nothing lost, nothing twice",
    );
    assert.deepEqual(rows.map((r) => r.session), [
      ...Array(10).fill("alpha-s1"),
      ...Array(4).fill("alpha-s2"),
    ]);
    assert.equal(s.cacheSize, 14);
    assert.equal((await Deno.readTextFile(`${dir}/alpha/fleet_outbox.jsonl`)).trim().split("\n").length, 1);
    await a.close();
    await db.stop();
  });
});

Deno.test("FleetMap: a slow database is an outage; the late write is not duplicated", async () => {
  await withDir(async (dir) => {
    const db = memoryDb();
    await db.start();
    try {
      const data = vectors(6, 4);
      // Generous margins (timeout 1.5 s, delay 4 s) so that a busy machine's ordinary sync stays "online".
      const m = await FleetMap.open(robotOptions(dir, db, "slowpoke", { timeoutMs: 1500 }));
      m.addPlace(data[0], 0);
      m.addPlace(data[1], 1);
      db.delayMs = 4000;
      await m.sync();
      assert.equal(m.stats().state, "offline");
      assert.match(m.stats().lastError!, /longer than 1500 ms/);
      m.addPlace(data[2], 2);
      assert.equal(m.search(data[2], 1)[0].seq, 2);
      await delay(4500); // let the timed-out attempt finish on its own
      db.delayMs = 0;
      await m.sync();
      assert.equal(m.stats().state, "online");
      assert.deepEqual((await db.rows()).map((r) => r.seq), [0, 1, 2]);
      await m.close();
    } finally {
      await db.stop();
    }
  });
});

Deno.test("FleetMap: a table of another dimension or model id is refused naming both", async () => {
  await withDir(async (dir) => {
    const db = memoryDb();
    await db.start();
    try {
      const m = await FleetMap.open(robotOptions(dir, db, "r1"));
      m.addPlace(randomUnitVectors(1, DIM, 1), 0);
      await m.close();
      await assert.rejects(
        FleetMap.open(robotOptions(dir, db, "r2", { dim: 32 })),
        (e) => e instanceof IndexError && /dimension 16/.test(e.message) && /dimension 32/.test(e.message),
      );
      await assert.rejects(
        FleetMap.open(robotOptions(dir, db, "r3", { modelId: "other-model" })),
        (e) => e instanceof IndexError && /"test-model"/.test(e.message) && /"other-model"/.test(e.message),
      );
      assert.equal((await db.rows()).length, 1);
    } finally {
      await db.stop();
    }
  });
});

Deno.test("FleetMap: the outbox skips a torn last line and refuses corrupt lines or another robot's", async () => {
  await withDir(async (dir) => {
    const db = memoryDb(); // never started: every attempt is an outage
    const m = await FleetMap.open(robotOptions(dir, db, "r1"));
    assert.equal(m.stats().state, "offline");
    m.addPlace(randomUnitVectors(1, DIM, 1), 0);
    m.addPlace(randomUnitVectors(1, DIM, 2), 1);
    await m.close();
    const path = `${dir}/r1/fleet_outbox.jsonl`;
    const good = await Deno.readTextFile(path);
    await Deno.writeTextFile(path, good + '{"t":"place","robot":"r1","se');
    const again = await FleetMap.open(robotOptions(dir, db, "r1"));
    assert.equal(again.stats().queued, 2);
    const p = again.addPlace(randomUnitVectors(1, DIM, 3), 2);
    assert.equal(p.seq, 2);
    await again.close();

    await Deno.writeTextFile(path, "{oops\n" + good);
    await assert.rejects(
      FleetMap.open(robotOptions(dir, db, "r1")),
      (e) => e instanceof MapFormatError && e.message.includes(path) && /line 1/.test(e.message),
    );
    await Deno.writeTextFile(path, good);
    await assert.rejects(
      FleetMap.open({ ...robotOptions(dir, db, "r2"), dir: `${dir}/r1` }),
      (e) => e instanceof MapFormatError && /robot 'r1', not 'r2'/.test(e.message),
    );
  });
});

Deno.test("FleetMap: a lost outbox resumes after the table's sequence; a clashing outbox is refused, kept", async () => {
  await withDir(async (dir) => {
    const db = memoryDb();
    const v = vectors(4, 8);
    // Two copies of robot "twin" add different places while the database is down: both number theirs 0.
    const a = await FleetMap.open(robotOptions(dir, db, "twin"));
    a.addPlace(v[0], 5);
    const b = await FleetMap.open({ ...robotOptions(dir, db, "twin"), dir: `${dir}/twin-copy` });
    b.addPlace(v[1], 7);
    await db.start();
    try {
      await a.sync();
      assert.equal(a.stats().state, "online");
      await b.sync();
      const s = b.stats();
      assert.equal(s.state, "offline");
      assert.match(s.lastError!, /twin\/0 conflict/);
      assert.equal(s.queued, 1, "the clashing place stays queued");
      assert.deepEqual((await db.rows()).map((r) => r.stamp), [5]);
      await a.close();
      await b.close();

      // A robot whose outbox is gone continues after its last sequence number in the table.
      await Deno.remove(`${dir}/twin`, { recursive: true });
      const c = await FleetMap.open(robotOptions(dir, db, "twin"));
      assert.equal(c.addPlace(v[2], 9).seq, 1);
      await c.sync();
      assert.deepEqual((await db.rows()).map((r) => [r.seq, r.stamp]), [[0, 5], [1, 9]]);
      await c.close();
    } finally {
      await db.stop();
    }
  });
});

Deno.test("FleetMap: a saved cache of another table is set aside with a note and rebuilt", async () => {
  await withDir(async (dir) => {
    const db = memoryDb();
    await db.start();
    const a = await FleetMap.open(robotOptions(dir, db, "r1"));
    a.addPlace(randomUnitVectors(1, DIM, 1), 0);
    await a.close();
    const other = memoryDb();
    await other.start();
    const b = await FleetMap.open({ ...robotOptions(dir, other, "r1"), persistCache: true });
    assert.match(b.stats().cacheNote!, new RegExp(`table '${db.table}'`));
    assert.equal(b.stats().cacheSize, 0, "nothing of the other table");
    await b.close();
  });
});

Deno.test("FleetMap: the scheduled refresh pulls another robot's new places", async () => {
  await withDir(async (dir) => {
    const db = memoryDb();
    await db.start();
    try {
      const a = await FleetMap.open(robotOptions(dir, db, "a"));
      const b = await FleetMap.open(robotOptions(dir, db, "b", { refreshMs: 50 }));
      const pulled = new Promise<void>((resolve) => b.onEvent((e) => e.type === "pulled" && resolve()));
      const v = randomUnitVectors(1, DIM, 5);
      a.addPlace(v, 42);
      await a.sync();
      await pulled;
      const [hit] = b.search(v, 1);
      assert.equal(hit.robot, "a");
      assert.equal(hit.stamp, 42);
      await a.close();
      await b.close();
    } finally {
      await db.stop();
    }
  });
});

Deno.test("FleetMap: close the shared PGlite", async () => {
  await sharedDb.close();
});
