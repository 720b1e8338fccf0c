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
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';

for (const level of ['log', 'info', 'debug', 'warn', 'trace']) console[level] = (...args) => console.error(...args);

const DATE_KEYS = new Set(['startedAt', 'endedAt', 'createdAt', 'updatedAt', 'start', 'end']);
const ISO_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/;

function revive(value, key) {
  if (typeof value === 'string' && DATE_KEYS.has(key) && ISO_RE.test(value)) return new Date(value);
  if (Array.isArray(value)) return value.map((v) => revive(v, undefined));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, revive(v, k)]));
  }
  return value;
}

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const request = JSON.parse(Buffer.concat(chunks).toString('utf8'));
const entry = join(request.cacheDir, 'v1', 'node_modules', '@mastra', 'pg', 'dist', 'index.js');
const { PostgresStore } = await import(pathToFileURL(entry).href);
const store = new PostgresStore({
  id: 'interop-v1-obs',
  connectionString: request.connectionString,
  schemaName: request.schemaName,
});
const results = [];
try {
  for (const op of request.ops) {
    try {
      if (op.sql !== undefined) {
        results.push(await store.db.any(op.sql, op.params ?? []));
        continue;
      }
      const domain = await store.getStore(op.domain);
      const out = await domain[op.method](revive(op.args ?? {}, undefined));
      results.push(out === undefined ? { $undefined: true } : out);
    } catch (error) {
      results.push({ $error: String(error?.message ?? error), id: error?.id, category: error?.category });
    }
  }
} finally {
  await store.close?.();
}
process.stdout.write(JSON.stringify({ results }));
