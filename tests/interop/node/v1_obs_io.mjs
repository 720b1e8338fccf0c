#!/usr/bin/env node
// Interop driver for the CURRENT Mastra release (@mastra/pg 1.27.1 + @mastra/core 1.71.0): runs a list of
// scores/observability domain calls (and raw SELECTs, to compare stored rows column by column) against
// PostgreSQL and prints their results as JSON.
//
//   node v1_obs_io.mjs < request.json > result.json
//
// request: {"cacheDir": "<interop cache dir>", "connectionString": "...", "schemaName": "...",
//           "ops": [{"domain": "scores"|"observability", "method": "<JS name>", "args": {...}}
//                   | {"sql": "SELECT ...", "params": [...]}, ...]}
// The packages are imported from <cacheDir>/v1/node_modules (installed by tests/interop/harness.py). The store
// is used without init(), on the schema PostgresStore (Python) created. Date-named keys of args (startedAt,
// endedAt, createdAt, updatedAt, start, end) holding ISO strings become JS Dates, at any depth.
// Output: {"results": [<result or {"$error": message}> per op]}; Dates are printed as ISO strings.
import { openStore, reviver } from './v1_common.mjs';

const revive = reviver(['startedAt', 'endedAt', 'createdAt', 'updatedAt', 'start', 'end']);

const { request, store } = await openStore('interop-v1-obs');
const results = [];
try {
  for (const op of request.ops) {
    try {
      if (op.sql !== undefined) {
        results.push(await store.db.any(op.sql, op.params ?? []));
        continue;
      }
      const domain = await store.getStore(op.domain);
      const out = await domain[op.method](revive(op.args ?? {}));
      results.push(out === undefined ? { $undefined: true } : out);
    } catch (error) {
      results.push({ $error: String(error?.message ?? error), id: error?.id, category: error?.category });
    }
  }
} finally {
  await store.close?.();
}
process.stdout.write(JSON.stringify({ results }));
