// Shared by the current-release drivers (v1_*_io.mjs): stdout carries only the JSON result, the request comes
// on stdin, and @mastra/pg 1.27.1 is imported from <cacheDir>/v1/node_modules (installed by
// tests/interop/harness.py). The store is opened without init() (on the schema our PostgresStore created).
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';

for (const level of ['log', 'info', 'debug', 'warn', 'trace']) console[level] = (...args) => console.error(...args);

const ISO_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/;

/** A reviver turning ISO strings under `dateKeys` (at any depth) into JS Dates. */
export function reviver(dateKeys) {
  const keys = new Set(dateKeys);
  const revive = (value, key) => {
    if (typeof value === 'string' && keys.has(key) && ISO_RE.test(value)) return new Date(value);
    if (Array.isArray(value)) return value.map((v) => revive(v, undefined));
    if (value && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, revive(v, k)]));
    }
    return value;
  };
  return (value) => revive(value, undefined);
}

/** The request read from stdin and a 1.27.1 PostgresStore on its database and schema. */
export async function openStore(id) {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  const request = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  const entry = join(request.cacheDir, 'v1', 'node_modules', '@mastra', 'pg', 'dist', 'index.js');
  const { PostgresStore } = await import(pathToFileURL(entry).href);
  const store = new PostgresStore({ id, connectionString: request.connectionString, schemaName: request.schemaName });
  return { request, store };
}
