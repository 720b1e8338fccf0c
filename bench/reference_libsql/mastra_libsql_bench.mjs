#!/usr/bin/env node
// Embedded reference for SqliteStore: @mastra/libsql 1.0.0-beta.11 + @mastra/core 1.0.0-beta.21 on a SQLite file,
// the workloads of bench/reference/harness.mjs (copied next to this file by bench/compare.py).
//
// Usage:
//   BENCH_SQLITE_PATH=/tmp/bench.sqlite SCALE=1 node mastra_libsql_bench.mjs
//
// Env:
//   BENCH_SQLITE_PATH  the database file (default bench.sqlite in the current folder)
//   BENCH_RESET        'database'/'schema' (default): delete the file (and its -wal/-shm) first; 'none': use as is
//   SCALE, BENCH_SEED, BENCH_CHECKS as in harness.mjs
//
// One @libsql/client per store, opened here with the same settings as SqliteStore's connections (WAL,
// synchronous=NORMAL; busy_timeout 5000 as LibSQLStore sets for a file URL) and handed to LibSQLStore as
// `client`, so the settings are in place before the first statement. LibSQLStore itself would set WAL without
// waiting for it and leave synchronous at the default (FULL) until its workflows domain sets NORMAL. None of the
// timed calls uses client.transaction() (which swaps the client's connection for a fresh one without them); the
// total line reports both settings as read back at the end of the run.
import { rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createClient } from '@libsql/client';
import { LibSQLStore } from '@mastra/libsql';
import { main, runBench } from './harness.mjs';

const PATH = resolve(process.env.BENCH_SQLITE_PATH || 'bench.sqlite');
const RESET = process.env.BENCH_RESET || 'database';
const URL_ = pathToFileURL(PATH).href; // file:///abs/path

const clients = [];
function openClient() {
  const client = createClient({ url: URL_ });
  clients.push(client);
  return client;
}
async function configure(client) {
  await client.execute('PRAGMA journal_mode=WAL');
  await client.execute('PRAGMA synchronous=NORMAL');
  await client.execute('PRAGMA busy_timeout=5000');
}

main(async () => {
  const ready = new Map(); // store id -> its client, configured before the store is built
  await runBench({
    reset: async () => {
      if (RESET === 'database' || RESET === 'schema') {
        for (const suffix of ['', '-wal', '-shm', '-journal']) rmSync(PATH + suffix, { force: true });
      } else if (RESET !== 'none') {
        throw new Error(`bad BENCH_RESET ${RESET}`);
      }
      for (const id of ['bench', 'bench-again']) {
        const client = openClient();
        await configure(client);
        ready.set(id, client);
      }
    },
    makeStore: (id) => new LibSQLStore({ id, client: ready.get(id) }),
    info: async () => {
      // Read back on the client the timed calls used: the settings the whole run had.
      const c = ready.get('bench');
      const jm = (await c.execute('PRAGMA journal_mode')).rows[0][0];
      const sync = (await c.execute('PRAGMA synchronous')).rows[0][0];
      const sqlite = (await c.execute('SELECT sqlite_version()')).rows[0][0];
      return { reset: RESET, libsql: '1.0.0-beta.11', sqlite, journal_mode: jm, synchronous: Number(sync) };
    },
  });
  for (const c of clients) c.close();
});
