// The W1-W8 + C1 + init_existing workloads of mastra_store's reference harnesses, shared by the @mastra/pg driver
// (mastra_pg_bench.mjs) and the @mastra/libsql driver (bench/reference_libsql/mastra_libsql_bench.mjs). Imports
// no package: each driver passes its store class in, so this file works from any install folder.
//
// Workloads are those of shared/bench/mastra_pg/mastra_pg_bench.mjs. Changes (W1-W8 untouched):
//   - C1: 32 concurrent tasks, each turn = a W3-style listMessages + a 2-message saveMessages
//     (sz(2000) calls in all), after W8; its draws come after all W1-W8 draws.
//   - init_existing: init() of a second store on the already-initialised database.
//   - the total line also carries `draws` (PRNG draws consumed), to check the Python port draws alike;
//   - BENCH_CHECKS=1 prints the results of the untimed checks to stderr (bench/compare.py --check).
//   - before each timed op, a full garbage collection outside the timer when node runs with --expose-gc
//     (bench/compare.py passes it), as the Python harness does with gc.collect(): the previous op's
//     garbage and the harness's freshly generated input are not collected on the next op's clock.
//
// Output: one JSON line per workload {op, n, seconds, ops_per_sec}, then a summary line
// {op:'total', seconds, peak_rss_mb, ...}. All calls are sequential (one in flight) except C1.

const SCALE = Number(process.env.SCALE ?? '1');
let seed = Number(process.env.BENCH_SEED ?? '42') >>> 0;
let draws = 0;
const CHECKS = process.env.BENCH_CHECKS === '1';
const check = (name, value) => {
  if (CHECKS) console.error(JSON.stringify({ check: name, ...value }));
};

const sz = (n) => Math.max(1, Math.round(n * SCALE));
// mulberry32: deterministic PRNG so every run picks the same "random" ids
function rand() {
  draws++;
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const pick = (arr) => arr[Math.floor(rand() * arr.length)];
const assert = (cond, msg) => {
  if (!cond) throw new Error(`assertion failed: ${msg}`);
};

const results = [];
function emit(op, n, seconds, extra = {}) {
  const rec = { op, n, seconds: +seconds.toFixed(4), ops_per_sec: +(n / seconds).toFixed(1), ...extra };
  results.push(rec);
  console.log(JSON.stringify(rec));
}
async function timed(op, n, fn, extra) {
  if (globalThis.gc) globalThis.gc();
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  await fn();
  const s = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(c0); // the whole process (every thread), µs: robust to a busy machine
  emit(op, n, s, { ...extra, cpu_s: +((cpu.user + cpu.system) / 1e6).toFixed(4) });
  return s;
}

// ---------- data generators ----------
const LOREM =
  'Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua. ';
function text(len) {
  let s = '';
  while (s.length < len) s += LOREM;
  return s.slice(0, len);
}

function makeSnapshot(runId, i) {
  // WorkflowRunState-shaped, ~5 KB once JSON.stringified
  const steps = {};
  for (let k = 0; k < 8; k++) {
    steps[`step-${k}`] = {
      status: 'success',
      payload: { q: text(120), k },
      output: { answer: text(230), tokens: 100 + k },
      startedAt: 1_700_000_000_000 + i * 1000 + k,
      endedAt: 1_700_000_000_000 + i * 1000 + k + 5,
    };
  }
  return {
    runId,
    status: i % 10 === 0 ? 'failed' : 'success',
    value: {},
    result: { ok: true, summary: text(200) },
    context: { input: { question: text(200), n: i }, ...steps },
    serializedStepGraph: Array.from({ length: 8 }, (_, k) => ({
      type: 'step',
      step: { id: `step-${k}`, description: `bench step ${k}` },
    })),
    activePaths: [],
    activeStepsPath: {},
    suspendedPaths: {},
    resumeLabels: {},
    waitingPaths: {},
    requestContext: { userId: `user-${i % 50}` },
    timestamp: 1_700_000_000_000 + i,
  };
}

function makeSpan(traceId, spanIdx, t0) {
  const isRoot = spanIdx === 0;
  const startedAt = new Date(t0 + spanIdx * 10);
  return {
    traceId,
    spanId: `${traceId}-s${spanIdx}`,
    parentSpanId: isRoot ? null : `${traceId}-s0`,
    name: isRoot ? 'agent run' : `tool call ${spanIdx}`,
    spanType: isRoot ? 'agent_run' : 'tool_call',
    isEvent: false,
    startedAt,
    endedAt: new Date(startedAt.getTime() + 5),
    // createdAt/updatedAt are omitted (CreateSpanRecord type); @mastra/pg fills "createdAt" itself.
    entityType: isRoot ? 'agent' : 'tool',
    entityId: isRoot ? 'bench-agent' : `tool-${spanIdx}`,
    entityName: isRoot ? 'Bench Agent' : `Tool ${spanIdx}`,
    resourceId: `resource-${spanIdx % 20}`,
    threadId: null,
    runId: `${traceId}-run`,
    environment: 'bench',
    attributes: { model: 'gpt-x', usage: { inputTokens: 120, outputTokens: 80 } },
    metadata: { bench: true, spanIdx },
    tags: ['bench'],
    input: { messages: [{ role: 'user', content: text(150) }] },
    output: { text: text(150) },
  };
}

function makeScore(i, runId) {
  return {
    scorerId: `scorer-${i % 5}`,
    entityId: 'bench-agent',
    entityType: 'AGENT',
    runId,
    input: { inputMessages: [{ role: 'user', content: text(120) }] },
    output: { text: text(200) },
    score: (i % 100) / 100,
    reason: text(80),
    scorer: { id: `scorer-${i % 5}`, name: `Scorer ${i % 5}`, description: 'bench scorer' },
    entity: { id: 'bench-agent', name: 'Bench Agent' },
    source: 'LIVE',
    metadata: { i },
  };
}

// ---------- main ----------
/**
 * Run every workload once and print the JSON lines.
 * @param {object} o
 * @param {() => Promise<void>} o.reset  prepares an empty target (before the clock starts)
 * @param {(id: string) => object} o.makeStore  a new, not yet initialised store (`init`, `getStore`, `close`)
 * @param {() => Promise<object>} o.info  extra fields of the total line (versions, settings), asked at the end
 */
export async function runBench({ reset, makeStore, info }) {
  const tStart = performance.now();
  await reset();

  const store = makeStore('bench');
  await timed('init', 1, () => store.init());
  const memory = await store.getStore('memory');
  const workflows = await store.getStore('workflows');
  const observability = await store.getStore('observability');
  const scores = await store.getStore('scores');
  assert(memory && workflows && observability && scores, 'all domain stores present');

  // W1: threads
  const nThreads = sz(200);
  const nResources = Math.max(1, Math.min(nThreads, sz(20)));
  const baseT = Date.UTC(2025, 0, 1);
  const threads = Array.from({ length: nThreads }, (_, i) => ({
    id: `thread-${i}`,
    resourceId: `resource-${i % nResources}`,
    title: `Bench thread ${i}`,
    metadata: { i, tag: i % 3 === 0 ? 'a' : 'b' },
    createdAt: new Date(baseT + i * 1000),
    updatedAt: new Date(baseT + i * 1000),
  }));
  await timed('W1_saveThread', nThreads, async () => {
    for (const thread of threads) await memory.saveThread({ thread });
  });

  // W2: messages. Messages are generated thread by thread (nMsgs/nThreads each, strictly increasing
  // createdAt), then sent in order in batches of 100, so with the default sizes each batch spans 2
  // threads. NB: PG saveMessages looks up / bumps updatedAt only for messages[0].threadId.
  const nMsgs = sz(10_000);
  const perThread = Math.max(1, Math.floor(nMsgs / nThreads));
  const messages = [];
  for (let t = 0; t < nThreads && messages.length < nMsgs; t++) {
    for (let k = 0; k < perThread && messages.length < nMsgs; k++) {
      const idx = messages.length;
      messages.push({
        id: `msg-${idx}`,
        threadId: threads[t].id,
        resourceId: threads[t].resourceId,
        role: k % 2 === 0 ? 'user' : 'assistant',
        type: 'v2',
        createdAt: new Date(baseT + 3_600_000 + t * 100_000 + k * 1000),
        content: { format: 2, parts: [{ type: 'text', text: `${idx}: ${text(160 + (idx % 5) * 40)}` }] },
      });
    }
  }
  const BATCH = 100;
  await timed('W2_saveMessages', messages.length, async () => {
    for (let i = 0; i < messages.length; i += BATCH) {
      await memory.saveMessages({ messages: messages.slice(i, i + BATCH) });
    }
  }, { batch: BATCH, batches: Math.ceil(messages.length / BATCH) });

  // W3: last 40 messages of a thread
  const nW3 = sz(500);
  {
    const r = await memory.listMessages({ threadId: threads[0].id, perPage: 40, page: 0, orderBy: { field: 'createdAt', direction: 'DESC' } });
    assert(r.messages.length === Math.min(40, perThread), `W3 got ${r.messages.length}`);
    assert(r.total === perThread, `W3 total ${r.total}`);
    check('W3', { total: r.total, ids: r.messages.map((m) => m.id) });
  }
  await timed('W3_listMessages_last40', nW3, async () => {
    for (let i = 0; i < nW3; i++) {
      const th = pick(threads);
      await memory.listMessages({ threadId: th.id, perPage: 40, page: 0, orderBy: { field: 'createdAt', direction: 'DESC' } });
    }
  });

  // W4: include 5 random messages +-2 neighbours (how semantic recall calls it: perPage 0)
  const nW4 = sz(300);
  const mkInclude = () => {
    const picks = Array.from({ length: 5 }, () => pick(messages));
    return {
      threadId: picks[0].threadId,
      resourceId: picks[0].resourceId,
      perPage: 0,
      include: picks.map((m) => ({ id: m.id, threadId: m.threadId, withPreviousMessages: 2, withNextMessages: 2 })),
    };
  };
  {
    const r = await memory.listMessages(mkInclude());
    assert(r.messages.length >= 5 && r.messages.length <= 25, `W4 got ${r.messages.length}`);
    check('W4', { ids: r.messages.map((m) => m.id) });
  }
  await timed('W4_listMessages_include5x2', nW4, async () => {
    for (let i = 0; i < nW4; i++) await memory.listMessages(mkInclude());
  });

  // W5: threads of a resource, first page of 20
  const nW5 = sz(500);
  {
    const r = await memory.listThreadsByResourceId({ resourceId: 'resource-0', page: 0, perPage: 20 });
    assert(r.threads.length === Math.min(20, Math.ceil(nThreads / nResources)), `W5 got ${r.threads.length}`);
    check('W5', { total: r.total, ids: r.threads.map((t) => t.id) });
  }
  await timed('W5_listThreadsByResourceId', nW5, async () => {
    for (let i = 0; i < nW5; i++) {
      await memory.listThreadsByResourceId({ resourceId: `resource-${Math.floor(rand() * nResources)}`, page: 0, perPage: 20 });
    }
  });

  // W6: workflow snapshots
  const nRuns = sz(1000);
  const runs = Array.from({ length: nRuns }, (_, i) => ({
    workflowName: `bench-workflow-${i % 5}`,
    runId: `run-${i}`,
    resourceId: `resource-${i % nResources}`,
  }));
  const snapBytes = Buffer.byteLength(JSON.stringify(makeSnapshot('run-0', 0)));
  await timed('W6a_persistWorkflowSnapshot', nRuns, async () => {
    for (let i = 0; i < nRuns; i++) {
      const r = runs[i];
      await workflows.persistWorkflowSnapshot({ ...r, snapshot: makeSnapshot(r.runId, i), createdAt: new Date(baseT + i * 1000) });
    }
  }, { snapshot_bytes: snapBytes });
  {
    const s = await workflows.loadWorkflowSnapshot({ workflowName: runs[0].workflowName, runId: runs[0].runId });
    assert(s && s.runId === 'run-0', 'W6 load');
    check('W6b', { runId: s.runId, status: s.status, bytes: Buffer.byteLength(JSON.stringify(s)) });
  }
  const nLoads = sz(1000);
  await timed('W6b_loadWorkflowSnapshot', nLoads, async () => {
    for (let i = 0; i < nLoads; i++) {
      const r = pick(runs);
      await workflows.loadWorkflowSnapshot({ workflowName: r.workflowName, runId: r.runId });
    }
  });
  const nList = sz(200);
  const pages = Math.max(1, Math.ceil(nRuns / 50));
  {
    const r = await workflows.listWorkflowRuns({ page: 0, perPage: 50 });
    assert(r.runs.length === Math.min(50, nRuns) && r.total === nRuns, `W6c got ${r.runs.length}/${r.total}`);
    check('W6c', { total: r.total, ids: r.runs.map((x) => x.runId) });
  }
  await timed('W6c_listWorkflowRuns_perPage50', nList, async () => {
    for (let i = 0; i < nList; i++) await workflows.listWorkflowRuns({ page: i % pages, perPage: 50 });
  });

  // W7: spans (10 per trace), batchCreateSpans in batches of 100, then getTrace
  const nSpans = sz(5000);
  const SPANS_PER_TRACE = 10;
  const nTraces = Math.ceil(nSpans / SPANS_PER_TRACE);
  const traceIds = Array.from({ length: nTraces }, (_, i) => `trace-${String(i).padStart(6, '0')}`);
  const spans = [];
  for (let t = 0; t < nTraces && spans.length < nSpans; t++) {
    for (let k = 0; k < SPANS_PER_TRACE && spans.length < nSpans; k++) spans.push(makeSpan(traceIds[t], k, baseT + t * 60_000));
  }
  await timed('W7a_batchCreateSpans', spans.length, async () => {
    for (let i = 0; i < spans.length; i += BATCH) await observability.batchCreateSpans({ records: spans.slice(i, i + BATCH) });
  }, { batch: BATCH, batches: Math.ceil(spans.length / BATCH) });
  {
    const r = await observability.getTrace({ traceId: traceIds[0] });
    assert(r && r.spans.length === Math.min(SPANS_PER_TRACE, nSpans), `W7 getTrace ${r?.spans?.length}`);
    check('W7b', { ids: r.spans.map((x) => x.spanId) });
  }
  const nGetTrace = sz(500);
  await timed('W7b_getTrace', nGetTrace, async () => {
    for (let i = 0; i < nGetTrace; i++) await observability.getTrace({ traceId: pick(traceIds) });
  });

  // W8: scores (10 per runId), then listScoresByRunId
  const nScores = sz(2000);
  const scoreRunIds = Array.from({ length: Math.max(1, Math.ceil(nScores / 10)) }, (_, i) => `score-run-${i}`);
  await timed('W8a_saveScore', nScores, async () => {
    for (let i = 0; i < nScores; i++) await scores.saveScore(makeScore(i, scoreRunIds[i % scoreRunIds.length]));
  });
  {
    const r = await scores.listScoresByRunId({ runId: scoreRunIds[0], pagination: { page: 0, perPage: 20 } });
    assert(r.scores.length === Math.min(10, nScores), `W8 got ${r.scores.length}`);
    check('W8b', { total: r.pagination.total, scores: r.scores.map((x) => x.score).sort((a, b) => a - b) });
  }
  const nListScores = sz(500);
  await timed('W8b_listScoresByRunId', nListScores, async () => {
    for (let i = 0; i < nListScores; i++) {
      await scores.listScoresByRunId({ runId: pick(scoreRunIds), pagination: { page: 0, perPage: 20 } });
    }
  });

  // C1: 32 concurrent agent turns. Each turn reads the last 40 messages of a thread (as W3) and saves the
  // turn's 2 new messages (user + assistant); tasks take turns w, w+32, w+64, ... n counts calls (2 per turn).
  const C1_TASKS = 32;
  const nTurns = Math.max(1, Math.round(sz(2000) / 2));
  const turns = Array.from({ length: nTurns }, (_, i) => {
    const th = pick(threads);
    const msgs = [0, 1].map((j) => ({
      id: `c1-msg-${i}-${j}`,
      threadId: th.id,
      resourceId: th.resourceId,
      role: j === 0 ? 'user' : 'assistant',
      type: 'v2',
      createdAt: new Date(baseT + 86_400_000 + i * 1000 + j),
      content: { format: 2, parts: [{ type: 'text', text: `c1 ${i}.${j}: ${text(160 + j * 80)}` }] },
    }));
    return { threadId: th.id, messages: msgs };
  });
  await timed('C1_concurrent_turns', 2 * nTurns, async () => {
    await Promise.all(
      Array.from({ length: C1_TASKS }, async (_, w) => {
        for (let i = w; i < nTurns; i += C1_TASKS) {
          const t = turns[i];
          await memory.listMessages({ threadId: t.threadId, perPage: 40, page: 0, orderBy: { field: 'createdAt', direction: 'DESC' } });
          await memory.saveMessages({ messages: t.messages });
        }
      }),
    );
  }, { tasks: C1_TASKS, turns: nTurns });
  {
    const r = await memory.listMessages({ threadId: turns[0].threadId, perPage: 40, page: 0, orderBy: { field: 'createdAt', direction: 'DESC' } });
    const ids = r.messages.map((m) => m.id);
    assert(ids.includes('c1-msg-0-0') && ids.includes('c1-msg-0-1'), 'C1 messages saved');
    check('C1', { total: r.total, ids });
  }

  await store.close?.(); // LibSQLStore has no close(): its driver closes the client it made

  // init() on the already-initialised database (store object built before the timer)
  {
    const again = makeStore('bench-again');
    await timed('init_existing', 1, () => again.init());
    await again.close?.();
  }

  const total = (performance.now() - tStart) / 1000;
  const peakRssMb = process.resourceUsage().maxRSS / 1024; // maxRSS is in KiB
  console.log(
    JSON.stringify({
      op: 'total',
      seconds: +total.toFixed(3),
      peak_rss_mb: +peakRssMb.toFixed(1),
      scale: SCALE,
      draws,
      node: process.version,
      core: '1.0.0-beta.21',
      ...(await info()),
    }),
  );
}

/** Run ``fn`` and exit 1 with the error (and its cause) on failure. */
export function main(fn) {
  fn().catch((err) => {
    console.error(err?.stack || err);
    if (err?.cause) console.error('cause:', err.cause?.stack || err.cause);
    process.exit(1);
  });
}
