#!/usr/bin/env node
// Interop driver for the REAL Mastra TypeScript storage adapters.
//
//   node mastra_io.mjs <pg|dynamodb> <init|write|read>  < request.json  > result.json
//
// Versions (pinned): package.json has @mastra/pg 1.0.0-beta.13 + @mastra/core 1.0.0-beta.21;
// dynamodb/package.json has @mastra/dynamodb 1.0.0 + @mastra/core 1.0.4 (see loadStoreClass).
//
// Store config comes from the request:
//   pg:       {"connectionString": "postgresql://...", "schemaName": "my_schema"}
//   dynamodb: {"tableName": "...", "endpoint": "http://127.0.0.1:PORT", "region": "us-east-1"}
//             (credentials fixed to test/test; the table must already exist, it is never created here)
//
// Common request options:
//   "init": bool       call store.init() first. Default: true for write, false for read.
//                      (pg init() runs CREATE TABLE/ALTER TABLE/CREATE INDEX IF NOT EXISTS; dynamodb init()
//                      is a DescribeTable only.) The init action always inits.
//   "tagDates": bool   serialise JS Date objects as {"$date": "<iso>"} instead of a plain ISO string, so a
//                      caller can tell a Date from a string. Default false.
//
// write request (every key optional; executed in this order):
//   threads:           [StorageThreadType]            -> memory.saveThread({thread})
//   resources:         [StorageResourceType]          -> memory.saveResource({resource})
//   resourceUpdates:   [{resourceId, workingMemory?, metadata?}] -> memory.updateResource(...)
//   messages:          [MastraDBMessage]              -> ONE memory.saveMessages({messages}) call
//   messageBatches:    [[MastraDBMessage]]            -> one saveMessages call per inner list
//   workflowSnapshots: [{workflowName, runId, resourceId?, snapshot, createdAt?, updatedAt?}]
//                                                     -> workflows.persistWorkflowSnapshot(...)
//   scores:            [SaveScorePayload]             -> scores.saveScore(payload)   (one call each)
//   spans:             [CreateSpanRecord]             -> ONE observability.batchCreateSpans({records})
//   createSpans:       [CreateSpanRecord]             -> observability.createSpan({span}) each
// ISO date strings in the top-level date fields of each record (createdAt, updatedAt, startedAt, endedAt,
// lastMessageAt) are turned into JS Date objects; nested values (snapshot, metadata, ...) are left as is.
// Output: {"threads":[saved], "resources":[saved], "resourceUpdates":[updated],
//          "messages":[saved from all calls], "workflowSnapshots":n, "scores":[saved score], "spans":n,
//          "createSpans":n}
//
// read request (every key optional):
//   threadIds, messageThreadIds, resourceIds, workflowRuns: [{workflowName, runId}], scoreRunIds,
//   scorerIds, traceIds
//   listMessagesArgs: extra args merged into every listMessages call (default {perPage: false})
// Output: {"threads": {id: thread|null}, "messages": {threadId: listMessages result},
//          "resources": {id: resource|null},
//          "workflowRuns": [{workflowName, runId, snapshot: loadWorkflowSnapshot, run: getWorkflowRunById}],
//          "scoresByRunId": {runId: result}, "scoresByScorerId": {scorerId: result},
//          "traces": {traceId: getTrace result|null}}
//
// Errors: message + stack (and MastraError details/cause) on stderr, exit code 1.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// @mastra/pg (with @mastra/core 1.0.0-beta.21) lives in ./node_modules. @mastra/dynamodb 1.0.0 imports
// MastraCompositeStore, which core 1.0.0-beta.21 does not export, so it has its own install in
// ./dynamodb/node_modules with @mastra/core 1.0.4. Each backend loads only its own tree.
async function loadStoreClass(backend) {
  if (backend === 'pg') return (await import('@mastra/pg')).PostgresStore;
  const entry = new URL('./dynamodb/node_modules/@mastra/dynamodb/dist/index.js', import.meta.url);
  if (!existsSync(fileURLToPath(entry))) {
    throw new Error(`@mastra/dynamodb is not installed (missing ${fileURLToPath(entry)}); run npm ci in ./dynamodb`);
  }
  return (await import(entry.href)).DynamoDBStore;
}

// Keep stdout for the JSON result only: Mastra/ElectroDB loggers write through console.*.
const writeStdout = (text) => new Promise((resolve) => process.stdout.write(text, resolve));
for (const level of ['log', 'info', 'debug', 'warn', 'trace']) console[level] = (...args) => console.error(...args);

const DATE_KEYS = new Set(['createdAt', 'updatedAt', 'startedAt', 'endedAt', 'lastMessageAt']);
const ISO_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/;

function reviveDates(record) {
  if (!record || typeof record !== 'object' || Array.isArray(record)) return record;
  const out = { ...record };
  for (const key of Object.keys(out)) {
    const v = out[key];
    if (DATE_KEYS.has(key) && typeof v === 'string' && ISO_RE.test(v)) {
      const d = new Date(v);
      if (Number.isNaN(d.getTime())) throw new Error(`invalid date in ${key}: ${v}`);
      out[key] = d;
    }
  }
  return out;
}

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  const text = Buffer.concat(chunks).toString('utf8').trim();
  return text ? JSON.parse(text) : {};
}

async function makeStore(backend, req) {
  const StoreClass = await loadStoreClass(backend);
  if (backend === 'pg') {
    if (!req.connectionString) throw new Error('pg request needs connectionString');
    const cfg = { id: 'mastra-interop', connectionString: req.connectionString };
    if (req.schemaName) cfg.schemaName = req.schemaName;
    return new StoreClass(cfg);
  }
  if (backend === 'dynamodb') {
    if (!req.tableName) throw new Error('dynamodb request needs tableName');
    return new StoreClass({
      name: 'mastra-interop',
      config: {
        id: 'mastra-interop',
        tableName: req.tableName,
        endpoint: req.endpoint,
        region: req.region || 'us-east-1',
        credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      },
    });
  }
  throw new Error(`unknown backend ${backend} (expected pg|dynamodb)`);
}

async function domain(store, name, required) {
  const d = await store.getStore(name);
  if (!d && required) throw new Error(`store has no '${name}' domain`);
  return d;
}

async function doWrite(store, req) {
  const out = {};
  const has = (k) => Array.isArray(req[k]) && req[k].length > 0;
  const memoryNeeded = ['threads', 'resources', 'resourceUpdates', 'messages', 'messageBatches'].some(has);
  const memory = memoryNeeded ? await domain(store, 'memory', true) : null;

  if (has('threads')) {
    out.threads = [];
    for (const t of req.threads) out.threads.push(await memory.saveThread({ thread: reviveDates(t) }));
  }
  if (has('resources')) {
    out.resources = [];
    for (const r of req.resources) out.resources.push(await memory.saveResource({ resource: reviveDates(r) }));
  }
  if (has('resourceUpdates')) {
    out.resourceUpdates = [];
    for (const u of req.resourceUpdates) out.resourceUpdates.push(await memory.updateResource(u));
  }
  const batches = [];
  if (has('messages')) batches.push(req.messages);
  if (has('messageBatches')) batches.push(...req.messageBatches);
  if (batches.length) {
    out.messages = [];
    for (const batch of batches) {
      const res = await memory.saveMessages({ messages: batch.map(reviveDates) });
      out.messages.push(...(res?.messages ?? []));
    }
  }
  if (has('workflowSnapshots')) {
    const workflows = await domain(store, 'workflows', true);
    for (const w of req.workflowSnapshots) await workflows.persistWorkflowSnapshot(reviveDates(w));
    out.workflowSnapshots = req.workflowSnapshots.length;
  }
  if (has('scores')) {
    const scores = await domain(store, 'scores', true);
    out.scores = [];
    for (const s of req.scores) {
      const res = await scores.saveScore(reviveDates(s));
      out.scores.push(res?.score ?? res);
    }
  }
  if (has('spans') || has('createSpans')) {
    const observability = await domain(store, 'observability', false);
    if (!observability) throw new Error('this backend has no observability domain (spans unsupported)');
    if (has('spans')) {
      await observability.batchCreateSpans({ records: req.spans.map(reviveDates) });
      out.spans = req.spans.length;
    }
    if (has('createSpans')) {
      for (const s of req.createSpans) await observability.createSpan({ span: reviveDates(s) });
      out.createSpans = req.createSpans.length;
    }
  }
  return out;
}

async function doRead(store, req) {
  const out = {};
  const has = (k) => Array.isArray(req[k]) && req[k].length > 0;
  const memoryNeeded = ['threadIds', 'messageThreadIds', 'resourceIds'].some(has);
  const memory = memoryNeeded ? await domain(store, 'memory', true) : null;

  if (has('threadIds')) {
    out.threads = {};
    for (const id of req.threadIds) out.threads[id] = await memory.getThreadById({ threadId: id });
  }
  if (has('messageThreadIds')) {
    out.messages = {};
    const extra = req.listMessagesArgs || {};
    for (const threadId of req.messageThreadIds) {
      out.messages[threadId] = await memory.listMessages({ perPage: false, ...extra, threadId });
    }
  }
  if (has('resourceIds')) {
    out.resources = {};
    for (const id of req.resourceIds) out.resources[id] = await memory.getResourceById({ resourceId: id });
  }
  if (has('workflowRuns')) {
    const workflows = await domain(store, 'workflows', true);
    out.workflowRuns = [];
    for (const { workflowName, runId } of req.workflowRuns) {
      const snapshot = await workflows.loadWorkflowSnapshot({ workflowName, runId });
      const run = await workflows.getWorkflowRunById({ runId, workflowName });
      out.workflowRuns.push({ workflowName, runId, snapshot, run });
    }
  }
  if (has('scoreRunIds') || has('scorerIds')) {
    const scores = await domain(store, 'scores', true);
    const pagination = { page: 0, perPage: false };
    if (has('scoreRunIds')) {
      out.scoresByRunId = {};
      for (const runId of req.scoreRunIds) out.scoresByRunId[runId] = await scores.listScoresByRunId({ runId, pagination });
    }
    if (has('scorerIds')) {
      out.scoresByScorerId = {};
      for (const scorerId of req.scorerIds) {
        out.scoresByScorerId[scorerId] = await scores.listScoresByScorerId({ scorerId, pagination });
      }
    }
  }
  if (has('traceIds')) {
    const observability = await domain(store, 'observability', false);
    if (!observability) throw new Error('this backend has no observability domain (traces unsupported)');
    out.traces = {};
    for (const traceId of req.traceIds) out.traces[traceId] = await observability.getTrace({ traceId });
  }
  return out;
}

function serialise(value, tagDates) {
  return JSON.stringify(value, function replacer(key, v) {
    // `this[key]` is the raw value before Date.prototype.toJSON ran.
    const raw = this[key];
    if (raw instanceof Date) {
      const iso = Number.isNaN(raw.getTime()) ? null : raw.toISOString();
      return tagDates ? { $date: iso } : iso;
    }
    if (typeof raw === 'bigint') return raw.toString();
    return v;
  });
}

function describeError(err) {
  const lines = [String(err?.stack || err)];
  if (err?.id) lines.push(`mastra error id: ${err.id}`);
  if (err?.details) lines.push(`details: ${JSON.stringify(err.details)}`);
  let cause = err?.cause;
  for (let depth = 0; cause && depth < 5; depth++, cause = cause.cause) {
    lines.push(`cause: ${cause?.stack || cause}`);
  }
  return lines.join('\n');
}

async function main() {
  const [backend, action] = process.argv.slice(2);
  if (!['pg', 'dynamodb'].includes(backend) || !['init', 'write', 'read'].includes(action)) {
    throw new Error('usage: node mastra_io.mjs <pg|dynamodb> <init|write|read>  (JSON request on stdin)');
  }
  const req = await readStdin();
  const store = await makeStore(backend, req);
  let result;
  try {
    const doInit = action === 'init' || (req.init ?? action === 'write');
    if (doInit) await store.init();
    if (action === 'init') result = { ok: true };
    else if (action === 'write') result = await doWrite(store, req);
    else result = await doRead(store, req);
  } finally {
    await store.close?.();
  }
  await writeStdout(serialise(result, Boolean(req.tagDates)) + '\n');
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(describeError(err) + '\n');
    process.exit(1);
  },
);
