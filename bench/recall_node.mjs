#!/usr/bin/env node
// The Node side of bench/recall.py: @mastra/pg 1.27.1 PostgresStore + PgVector and @mastra/memory 1.31.0 Memory
// on the pgvector server. Copied by recall.py into <cache>/v1/ so that its imports resolve from v1/node_modules.
// stdin: {"connectionString", "dimension", "threads", "messages", "queries": [{threadId, resourceId, text}],
//         "memoryOptions", "batch", "vectorsOnly": {"ids", "vectors"}}
// stdout: {"save_s", "upsert_s", "recall_ms": [..], "vector_ms": [..], "recall_ids": [[..]]}
import { PostgresStore, PgVector } from '@mastra/pg';
import { Memory } from '@mastra/memory';

function fnv1a32(bytes) {
  let h = 0x811c9dc5;
  for (const b of bytes) { h ^= b; h = Math.imul(h, 0x01000193) >>> 0; }
  return h >>> 0;
}
const enc = new TextEncoder();
function hashEmbed(text, dimension) {
  const vec = new Array(dimension).fill(0);
  for (const w of text.toLowerCase().match(/[a-z0-9]+/g) || []) {
    const h = fnv1a32(enc.encode(w));
    vec[h % dimension] += (h & 0x80000000) ? -1 : 1;
  }
  let norm = 0;
  for (const x of vec) norm += x * x;
  norm = Math.sqrt(norm);
  if (norm === 0) { vec[0] = 1; return vec; }
  return vec.map((x) => x / norm);
}
const embedder = (dimension) => ({
  specificationVersion: 'v2', provider: 'bench', modelId: `hash-${dimension}`, maxEmbeddingsPerCall: 4096,
  supportsParallelCalls: true,
  async doEmbed({ values }) { return { embeddings: values.map((v) => hashEmbed(v, dimension)) }; },
});

async function readStdin() {
  const chunks = [];
  for await (const c of process.stdin) chunks.push(c);
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

const req = await readStdin();
const storage = new PostgresStore({ id: 'bench-node', connectionString: req.connectionString, schemaName: 'node_store' });
await storage.init();
const vector = new PgVector({ id: 'bench-node-vec', connectionString: req.connectionString, schemaName: 'node_vec' });
const memory = new Memory({ storage, vector, embedder: embedder(req.dimension), options: req.memoryOptions });
const store = await storage.getStore('memory');
for (const t of req.threads) await store.saveThread({ thread: { ...t, createdAt: new Date(t.createdAt), updatedAt: new Date(t.updatedAt) } });
let t0 = performance.now();
for (let i = 0; i < req.messages.length; i += req.batch) {
  const batch = req.messages.slice(i, i + req.batch).map((m) => ({ ...m, createdAt: new Date(m.createdAt) }));
  await memory.saveMessages({ messages: batch });
}
const save_s = (performance.now() - t0) / 1000;
await vector.createIndex({ indexName: 'bench_upsert', dimension: req.dimension, indexConfig: { type: 'hnsw' } });
t0 = performance.now();
const { ids, vectors } = req.vectorsOnly;
for (let i = 0; i < ids.length; i += req.batch) {
  await vector.upsert({ indexName: 'bench_upsert', ids: ids.slice(i, i + req.batch), vectors: vectors.slice(i, i + req.batch) });
}
const upsert_s = (performance.now() - t0) / 1000;
const indexName = req.dimension === 1536 ? 'memory_messages' : `memory_messages_${req.dimension}`;
await vector.pool.query(`ANALYZE node_vec."${indexName}"`);
const recall_ms = [];
const vector_ms = [];
const recall_ids = [];
for (const [i, q] of req.queries.entries()) {
  const start = performance.now();
  const out = await memory.recall({ threadId: q.threadId, resourceId: q.resourceId, vectorSearchString: q.text });
  const ms = performance.now() - start;
  if (i >= req.warmup) recall_ms.push(ms);
  recall_ids.push(out.messages.map((m) => m.id));
  const v0 = performance.now();
  await vector.query({ indexName, queryVector: hashEmbed(q.text, req.dimension), topK: req.memoryOptions.semanticRecall.topK,
    filter: { resource_id: q.resourceId } });
  if (i >= req.warmup) vector_ms.push(performance.now() - v0);
}
await vector.disconnect();
await storage.close?.();
process.stdout.write(JSON.stringify({ save_s, upsert_s, recall_ms, vector_ms, recall_ids }));
process.exit(0);
