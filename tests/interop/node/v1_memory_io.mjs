#!/usr/bin/env node
// Interop driver for the CURRENT Mastra release (@mastra/pg 1.27.1 + @mastra/core 1.71.0): runs a list of
// memory/workflows domain calls against PostgreSQL and prints their results as JSON.
//
//   node v1_memory_io.mjs < request.json > result.json
//
// request: {"cacheDir": "<interop cache dir>", "connectionString": "...", "schemaName": "...",
//           "init": false, "ops": [{"domain": "memory"|"workflows", "method": "<JS name>", "args": {...},
//                                    "mergeResult": {...}?}, ...]}
// The packages are imported from <cacheDir>/v1/node_modules (installed by tests/interop/harness.py).
// "init": true runs PostgresStore.init() first (by default the store is used without it, so it never alters
// the schema). Date-named keys of args (createdAt, updatedAt, start, end, startDate, endDate, fromDate, toDate)
// holding ISO strings become JS Dates, at any depth. updateThreadMetadata's `update` callback is built from
// "mergeResult": it returns that object (or, for {"$increment": key}, {key: metadata[key] + 1}).
// Output: {"results": [<result or {"$error": message}> per op]}; Dates are printed as ISO strings.
import { openStore, reviver } from './v1_common.mjs';

const revive = reviver(['createdAt', 'updatedAt', 'start', 'end', 'startDate', 'endDate', 'fromDate', 'toDate']);

function callback(mergeResult) {
  if (mergeResult && typeof mergeResult === 'object' && '$increment' in mergeResult) {
    const key = mergeResult.$increment;
    return (thread) => ({ [key]: (thread.metadata?.[key] ?? 0) + 1 });
  }
  return () => mergeResult ?? undefined;
}

const { request, store } = await openStore('interop-v1');
const results = [];
try {
  if (request.init) await store.init();
  for (const op of request.ops) {
    const domain = await store.getStore(op.domain);
    const args = revive(op.args ?? {});
    if (op.method === 'updateThreadMetadata') args.update = callback(op.mergeResult);
    try {
      const out = await domain[op.method](args);
      results.push(out === undefined ? { $undefined: true } : out);
    } catch (error) {
      results.push({ $error: String(error?.message ?? error), id: error?.id, category: error?.category });
    }
  }
} finally {
  await store.close?.();
}
process.stdout.write(JSON.stringify({ results }));
