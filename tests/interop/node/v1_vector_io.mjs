#!/usr/bin/env node
// Interop driver for the REAL @mastra/pg PgVector and @mastra/memory Memory (1.x: core 1.71.0, pg 1.27.1,
// memory 1.31.0). The Python test copies this file into <cache>/v1/ so that its imports resolve from
// v1/node_modules.
//
//   node vector_io.mjs < request.json > result.json
//
// request: {"connectionString", "schemaName"?, "dimension", "steps": [step, ...]}; steps run in order:
//   {"op": "createIndex", "indexName", "dimension", "metric"?, "indexConfig"?, "metadataIndexes"?, "vectorType"?}
//   {"op": "upsert", "indexName", "vectors", "ids"?, "metadata"?, "namespace"?}
//   {"op": "query", "indexName", "queryVector"? | "queryText"?, "topK"?, "filter"?, "namespace"?}
//   {"op": "embed", "texts"}                                  -> the vectors of the hash embedder
//   {"op": "saveThreads", "threads"}                          -> into the in-memory storage (no vectors)
//   {"op": "saveMessages", "messages", "embed": bool}         -> Memory.saveMessages (embed: semantic recall on)
//                                                                or the storage's own saveMessages (no vectors)
//   {"op": "recall", "threadId", "resourceId", "query", "threadConfig"}  -> Memory.recall ids (+ raw hits)
//   {"op": "deleteThread", "threadId"} / {"op": "deleteMessages", "ids"}  -> Memory methods (vector cleanup awaited)
// Output: {"results": [one entry per step]}.
//
// The embedder is the hashed bag of words of mastra_store.recall.embedders.hash_embed, written again here:
// words [a-z0-9]+ of the lower-cased text, FNV-1a 32 of their UTF-8 bytes, +-1 at hash % dimension (sign from
// the top bit), L2-normalised; a text without words is the unit vector e0.
import { PgVector } from '@mastra/pg';
import { Memory } from '@mastra/memory';
import { InMemoryStore } from '@mastra/core/storage';

function fnv1a32(bytes) {
  let h = 0x811c9dc5;
  for (const b of bytes) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

function hashEmbed(text, dimension) {
  const vec = new Array(dimension).fill(0);
  const words = text.toLowerCase().match(/[a-z0-9]+/g) || [];
  const enc = new TextEncoder();
  for (const w of words) {
    const h = fnv1a32(enc.encode(w));
    vec[h % dimension] += (h & 0x80000000) ? -1 : 1;
  }
  let norm = 0;
  for (const x of vec) norm += x * x;
  norm = Math.sqrt(norm);
  if (norm === 0) {
    vec[0] = 1;
    return vec;
  }
  return vec.map((x) => x / norm);
}

function embedderModel(dimension) {
  return {
    specificationVersion: 'v2',
    provider: 'mastra-store-test',
    modelId: `hash-${dimension}`,
    maxEmbeddingsPerCall: 2048,
    supportsParallelCalls: true,
    async doEmbed({ values }) {
      return { embeddings: values.map((v) => hashEmbed(v, dimension)) };
    },
  };
}

const DATE_KEYS = ['createdAt', 'updatedAt'];
function withDates(record) {
  const out = { ...record };
  for (const k of DATE_KEYS) if (typeof out[k] === 'string') out[k] = new Date(out[k]);
  return out;
}

async function readStdin() {
  const chunks = [];
  for await (const c of process.stdin) chunks.push(c);
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

async function main() {
  const req = await readStdin();
  const dimension = req.dimension ?? 64;
  const vector = new PgVector({ id: 'interop', connectionString: req.connectionString,
    ...(req.schemaName ? { schemaName: req.schemaName } : {}) });
  const storage = new InMemoryStore({ id: 'interop-storage' });
  const memory = new Memory({ storage, vector, embedder: embedderModel(dimension),
    options: req.memoryOptions ?? { lastMessages: 10, semanticRecall: { topK: 4, messageRange: 1 } } });
  const results = [];
  try {
    for (const step of req.steps) {
      switch (step.op) {
        case 'createIndex':
          await vector.createIndex({ indexName: step.indexName, dimension: step.dimension,
            ...(step.metric ? { metric: step.metric } : {}), ...(step.indexConfig ? { indexConfig: step.indexConfig } : {}),
            ...(step.metadataIndexes ? { metadataIndexes: step.metadataIndexes } : {}),
            ...(step.vectorType ? { vectorType: step.vectorType } : {}) });
          results.push(true);
          break;
        case 'upsert':
          results.push(await vector.upsert({ indexName: step.indexName, vectors: step.vectors, ids: step.ids,
            metadata: step.metadata, ...(step.namespace ? { namespace: step.namespace } : {}) }));
          break;
        case 'query': {
          const queryVector = step.queryText !== undefined ? hashEmbed(step.queryText, dimension) : step.queryVector;
          results.push(await vector.query({ indexName: step.indexName, queryVector, topK: step.topK ?? 10,
            filter: step.filter, ...(step.namespace ? { namespace: step.namespace } : {}) }));
          break;
        }
        case 'embed':
          results.push(step.texts.map((t) => hashEmbed(t, dimension)));
          break;
        case 'saveThreads': {
          const store = await storage.getStore('memory');
          for (const t of step.threads) await store.saveThread({ thread: withDates(t) });
          results.push(step.threads.length);
          break;
        }
        case 'saveMessages': {
          const messages = step.messages.map(withDates);
          if (step.embed) {
            await memory.saveMessages({ messages });
          } else {
            await (await storage.getStore('memory')).saveMessages({ messages });
          }
          results.push(messages.length);
          break;
        }
        case 'recall': {
          const out = await memory.recall({ threadId: step.threadId, resourceId: step.resourceId,
            vectorSearchString: step.query, threadConfig: step.threadConfig });
          results.push({ ids: out.messages.map((m) => m.id) });
          break;
        }
        case 'deleteThread':
          await memory.deleteThread(step.threadId);
          await memory.deleteThreadVectors(step.threadId);
          results.push(true);
          break;
        case 'deleteMessages':
          await memory.deleteMessages(step.ids);
          await memory.deleteMessageVectors(step.ids);
          results.push(true);
          break;
        default:
          throw new Error(`unknown op ${step.op}`);
      }
    }
  } finally {
    await vector.disconnect();
  }
  process.stdout.write(JSON.stringify({ results }));
}

main().catch((err) => {
  console.error(err?.stack || String(err));
  if (err?.cause) console.error('cause:', err.cause?.stack || String(err.cause));
  process.exit(1);
});
