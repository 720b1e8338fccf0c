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
import { openStore, reviver } from './v1_common.mjs';

const revive = reviver(['createdAt', 'updatedAt', 'lastObservedAt', 'lastBufferedAtTime', 'from', 'to']);

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

const { request, store } = await openStore('interop-v1-om');
const raw = [];
const results = [];
try {
  if (request.init) await store.init();
  for (const op of request.ops) {
    try {
      const domain = await store.getStore(op.domain);
      let args = op.args ?? [];
      if (op.domain === 'memory') args = revive(args);
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
