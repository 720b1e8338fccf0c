#!/usr/bin/env node
// Performance anchor for @mastra/pg 1.0.0-beta.13 + @mastra/core 1.0.0-beta.21: the workloads of harness.mjs
// (shared/bench/mastra_pg/mastra_pg_bench.mjs plus C1, init_existing and the check lines) on PostgreSQL.
//
// Usage:
//   DATABASE_URL=postgresql://bench:bench@127.0.0.1:5432/bench_ts SCALE=1 node mastra_pg_bench.mjs
//
// Env:
//   DATABASE_URL  target database (default postgresql://bench:bench@127.0.0.1:5432/bench_ts)
//   SCALE         multiplies every workload size (default 1 = sizes from the brief; 0.1 for a smoke run)
//   BENCH_RESET   'database' (default): DROP/CREATE the database named in DATABASE_URL via the
//                 'postgres' maintenance DB (role needs CREATEDB);
//                 'schema': DROP SCHEMA $BENCH_SCHEMA CASCADE + CREATE, store gets schemaName;
//                 'none': use as is (re-running on old data skews results).
//   BENCH_SCHEMA  schema name for BENCH_RESET=schema (default mastra_bench)
//   BENCH_SEED    PRNG seed (default 42)
//   BENCH_CHECKS  1: print the untimed checks' results to stderr
//
// pool max is the PostgresStore default (20).
import { PostgresStore } from '@mastra/pg';
import pg from 'pg';
import { main, runBench } from './harness.mjs';

const DATABASE_URL = process.env.DATABASE_URL || 'postgresql://bench:bench@127.0.0.1:5432/bench_ts';
const RESET = process.env.BENCH_RESET || 'database';
const SCHEMA = process.env.BENCH_SCHEMA || 'mastra_bench';
const assert = (cond, msg) => {
  if (!cond) throw new Error(`assertion failed: ${msg}`);
};

async function resetTarget() {
  if (RESET === 'database') {
    const url = new URL(DATABASE_URL);
    const dbName = decodeURIComponent(url.pathname.replace(/^\//, ''));
    assert(/^[A-Za-z_][A-Za-z0-9_]*$/.test(dbName), `unsafe db name ${dbName}`);
    const admin = new URL(DATABASE_URL);
    admin.pathname = '/postgres';
    const c = new pg.Client({ connectionString: admin.toString() });
    await c.connect();
    await c.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
    await c.query(`CREATE DATABASE "${dbName}"`);
    await c.end();
    return {};
  }
  if (RESET === 'schema') {
    assert(/^[A-Za-z_][A-Za-z0-9_]*$/.test(SCHEMA), `unsafe schema ${SCHEMA}`);
    const c = new pg.Client({ connectionString: DATABASE_URL });
    await c.connect();
    await c.query(`DROP SCHEMA IF EXISTS "${SCHEMA}" CASCADE`);
    await c.query(`CREATE SCHEMA "${SCHEMA}"`);
    await c.end();
    return { schemaName: SCHEMA };
  }
  return RESET === 'none' ? {} : (() => { throw new Error(`bad BENCH_RESET ${RESET}`); })();
}

main(async () => {
  let storeOpts = {};
  await runBench({
    reset: async () => {
      storeOpts = await resetTarget();
    },
    makeStore: (id) => new PostgresStore({ id, connectionString: DATABASE_URL, ...storeOpts }),
    info: async () => ({ reset: RESET, pg: '1.0.0-beta.13' }),
  });
});
