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
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';

for (const level of ['log', 'info', 'debug', 'warn', 'trace']) console[level] = (...args) => console.error(...args);

const DATE_KEYS = new Set(['createdAt', 'updatedAt', 'start', 'end', 'startDate', 'endDate', 'fromDate', 'toDate']);
const ISO_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/;

function revive(value, key) {
  if (typeof value === 'string' && DATE_KEYS.has(key) && ISO_RE.test(value)) return new Date(value);
  if (Array.isArray(value)) return value.map((v) => revive(v, undefined));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, revive(v, k)]));
  }
  return value;
}

function callback(mergeResult) {
  if (mergeResult && typeof mergeResult === 'object' && '$increment' in mergeResult) {
    const key = mergeResult.$increment;
    return (thread) => ({ [key]: (thread.metadata?.[key] ?? 0) + 1 });
  }
  return () => mergeResult ?? undefined;
}

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const request = JSON.parse(Buffer.concat(chunks).toString('utf8'));
const entry = join(request.cacheDir, 'v1', 'node_modules', '@mastra', 'pg', 'dist', 'index.js');
const { PostgresStore } = await import(pathToFileURL(entry).href);
const store = new PostgresStore({
  id: 'interop-v1',
  connectionString: request.connectionString,
  schemaName: request.schemaName,
});
const results = [];
try {
  if (request.init) await store.init();
  for (const op of request.ops) {
    const domain = await store.getStore(op.domain);
    const args = revive(op.args ?? {}, undefined);
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
