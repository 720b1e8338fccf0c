#!/usr/bin/env node
// Interop driver for the versioned agents domain of the CURRENT Mastra release (@mastra/pg 1.27.1 AgentsPG,
// @mastra/core 1.71.0): runs a list of agents-domain calls against PostgreSQL and prints their results as JSON.
//
//   node v1_agents_io.mjs < request.json > result.json
//
// request: {"cacheDir": "<interop cache dir>", "connectionString": "...", "schemaName": "...",
//           "ops": [{"method": "<JS name>", "args": [<positional arguments>]}, ...]}
// The packages are imported from <cacheDir>/v1/node_modules (installed by tests/interop/harness.py). The store is
// used without init(), on the schema our PostgresStore created.
// Output: {"results": [<result or {"$error": message}> per op]}; Dates are printed as ISO strings, undefined
// results as {"$undefined": true}.
import { openStore } from './v1_common.mjs';

const { request, store } = await openStore('interop-v1-agents');
const results = [];
try {
  const agents = await store.getStore('agents');
  for (const op of request.ops) {
    try {
      const out = await agents[op.method](...(op.args ?? []));
      results.push(out === undefined ? { $undefined: true } : out);
    } catch (error) {
      results.push({ $error: String(error?.message ?? error), id: error?.id, category: error?.category });
    }
  }
} finally {
  await store.close?.();
}
process.stdout.write(JSON.stringify({ results }));
