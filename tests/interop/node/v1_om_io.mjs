#!/usr/bin/env node
// Interop driver for observational memory and thread state of the CURRENT Mastra release (@mastra/pg 1.27.1
// MemoryPG / ThreadStatePG, @mastra/core 1.71.0): runs a list of calls against PostgreSQL and prints their
// results as JSON.
//
//   node v1_om_io.mjs < request.json > result.json
//
// request: {"cacheDir": "<interop cache dir>", "connectionString": "...", "schemaName": "...",
//           "ops": [{"domain": "memory"|"threadState", "method": "<JS name>", "args": [<positional arguments>]}]}
// The packages are imported from <cacheDir>/v1/node_modules (installed by tests/interop/harness.py); the store is
// used without init() (on the schema our PostgresStore created) unless the request says "init": true.
// Arguments of memory calls: ISO strings under the Date-typed keys of the observational-memory inputs
// (createdAt, updatedAt, lastObservedAt, lastBufferedAtTime, from, to) become JS Dates, at any depth.
// {"$ref": i, "path": ["id"]} is replaced by the (JS) result of op i, or by the value at that path in it: a state
// machine started here (random record ids) can go on, and `currentRecord` is the record getObservationalMemory
// really returned, as in Mastra's own processor. Thread-state values are passed as they are.
// Output: {"results": [<result or {"$error": message}> per op]}; Dates are printed as ISO strings, undefined
// results as {"$undefined": true}.
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';

for (const level of ['log', 'info', 'debug', 'warn', 'trace']) console[level] = (...args) => console.error(...args);

const DATE_KEYS = new Set(['createdAt', 'updatedAt', 'lastObservedAt', 'lastBufferedAtTime', 'from', 'to']);
const ISO_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/;

function revive(value, key) {
  if (typeof value === 'string' && DATE_KEYS.has(key) && ISO_RE.test(value)) return new Date(value);
  if (Array.isArray(value)) return value.map((v) => revive(v, undefined));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, revive(v, k)]));
  }
  return value;
}

function resolveRefs(value, raw) {
  if (Array.isArray(value)) return value.map((v) => resolveRefs(v, raw));
  if (value && typeof value === 'object' && !(value instanceof Date)) {
    if ('$ref' in value) {
      if (!(value.$ref >= 0 && value.$ref < raw.length)) throw new Error(`bad $ref ${value.$ref}`);
      return (value.path ?? []).reduce((at, key) => at?.[key], raw[value.$ref]);
    }
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveRefs(v, raw)]));
  }
  return value;
}

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const request = JSON.parse(Buffer.concat(chunks).toString('utf8'));
const entry = join(request.cacheDir, 'v1', 'node_modules', '@mastra', 'pg', 'dist', 'index.js');
const { PostgresStore } = await import(pathToFileURL(entry).href);
const store = new PostgresStore({
  id: 'interop-v1-om',
  connectionString: request.connectionString,
  schemaName: request.schemaName,
});
const raw = [];
const results = [];
try {
  if (request.init) await store.init();
  for (const op of request.ops) {
    try {
      const domain = await store.getStore(op.domain);
      let args = op.args ?? [];
      if (op.domain === 'memory') args = revive(args, undefined);
      const out = await domain[op.method](...resolveRefs(args, raw));
      raw.push(out);
      results.push(out === undefined ? { $undefined: true } : out);
    } catch (error) {
      raw.push(undefined);
      results.push({ $error: String(error?.message ?? error), id: error?.id, category: error?.category });
    }
  }
} finally {
  await store.close?.();
}
process.stdout.write(JSON.stringify({ results }));
