#!/usr/bin/env node
// Schema interop driver for the CURRENT Mastra release: @mastra/pg 1.27.1 with @mastra/core 1.71.0.
// Run from <cache>/v1/ (tests/interop/test_v1_interop.py copies it there) so that the bare imports resolve
// to v1/node_modules, the harness's install of the current release.
//
//   node v1_schema.mjs < request.json > result.json
//
// request: {"connectionString", "schemaName",
//           "threads": [StorageThreadType]?                 -> memory.saveThread({thread})
//           "workflowSnapshots": [{workflowName, runId, resourceId?, snapshot}]?
//                                                           -> workflows.persistWorkflowSnapshot(...)
//           "readThreadIds": [id]?, "readRuns": [{workflowName, runId}]?}
// store.init() runs first (CREATE/ALTER ... IF NOT EXISTS, and the beta -> 1.x agents rebuild). Date strings in
// a thread's createdAt/updatedAt become JS Dates. Output: {"threads": {id: getThreadById},
// "runs": [loadWorkflowSnapshot]} with Dates as ISO strings.
import { PostgresStore } from '@mastra/pg';

for (const level of ['log', 'info', 'debug', 'warn', 'trace']) console[level] = (...args) => console.error(...args);

const readStdin = async () => {
  const chunks = [];
  for await (const c of process.stdin) chunks.push(c);
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
};

const dated = (t) => ({
  ...t,
  ...(t.createdAt ? { createdAt: new Date(t.createdAt) } : {}),
  ...(t.updatedAt ? { updatedAt: new Date(t.updatedAt) } : {}),
});

async function main() {
  const req = await readStdin();
  const store = new PostgresStore({ id: 'v1-interop', connectionString: req.connectionString, schemaName: req.schemaName });
  try {
    await store.init();
    const memory = await store.getStore('memory');
    const workflows = await store.getStore('workflows');
    for (const t of req.threads ?? []) await memory.saveThread({ thread: dated(t) });
    for (const w of req.workflowSnapshots ?? []) await workflows.persistWorkflowSnapshot(w);
    const out = { threads: {}, runs: [] };
    for (const id of req.readThreadIds ?? []) out.threads[id] = (await memory.getThreadById({ threadId: id })) ?? null;
    for (const r of req.readRuns ?? []) out.runs.push((await workflows.loadWorkflowSnapshot(r)) ?? null);
    process.stdout.write(JSON.stringify(out) + '\n');
  } finally {
    await store.close();
  }
}

main().catch((err) => {
  console.error(err?.stack ?? String(err));
  if (err?.details) console.error(JSON.stringify(err.details));
  if (err?.cause) console.error(err.cause?.stack ?? String(err.cause));
  process.exit(1);
});
