// Calls RateLimit, Cache and AudioQueue with nothing but the .proto files in ../../protos, loaded at run
// time by @grpc/proto-loader (no generated code). Exits 0 when every call worked, 1 otherwise.
//
//   npm ci && node sample.js
//
// Environment: RATELIMIT_ADDRESS, CACHE_ADDRESS, AUDIOQUEUE_ADDRESS (host:port or http://host:port;
// https:// uses TLS), PLATFORM_API_KEY (sent as `authorization: Bearer <key>`), RATELIMIT_POLICY,
// CACHE_NAMESPACE.
'use strict';

const path = require('node:path');
const crypto = require('node:crypto');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const PROTOS = path.resolve(__dirname, '../../protos');
const config = {
  ratelimit: process.env.RATELIMIT_ADDRESS || 'localhost:5101',
  cache: process.env.CACHE_ADDRESS || 'localhost:5102',
  audioqueue: process.env.AUDIOQUEUE_ADDRESS || 'localhost:5103',
  apiKey: process.env.PLATFORM_API_KEY || '',
  policy: process.env.RATELIMIT_POLICY || 'chat',
  namespace: process.env.CACHE_NAMESPACE || 'samples',
};
const CALL_TIMEOUT_MS = 10_000;
const WATCH_TIMEOUT_MS = 60_000;
const FINAL_STATES = ['JOB_STATE_SUCCEEDED', 'JOB_STATE_FAILED', 'JOB_STATE_CANCELLED', 'JOB_STATE_DEAD'];

// The well-known types (google/protobuf/duration.proto, timestamp.proto) come with proto-loader.
const definition = protoLoader.loadSync(['ratelimit.proto', 'cache.proto', 'audioqueue.proto'], {
  includeDirs: [PROTOS],
  keepCase: true, // field names as written in the .proto: job_id, retry_after
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
});
const api = grpc.loadPackageDefinition(definition).platform;

// "localhost:5101", "http://127.0.0.1:5101/" or "https://ratelimit.example:443".
function client(Service, address) {
  const url = /^[a-z]+:\/\//i.test(address) ? new URL(address) : new URL(`http://${address}`);
  const credentials = url.protocol === 'https:' ? grpc.credentials.createSsl() : grpc.credentials.createInsecure();
  return new Service(url.host, credentials);
}

// Every call carries the key and a deadline.
function metadata() {
  const md = new grpc.Metadata();
  if (config.apiKey) md.set('authorization', `Bearer ${config.apiKey}`);
  return md;
}
const deadline = (ms = CALL_TIMEOUT_MS) => ({ deadline: new Date(Date.now() + ms) });

function unary(service, method, request) {
  return new Promise((resolve, reject) =>
    service[method](request, metadata(), deadline(), (error, response) => (error ? reject(error) : resolve(response))));
}

const seconds = (d) => (d ? Number(d.seconds) + d.nanos / 1e9 : 0);

// 16-bit PCM mono WAV: a sine tone, made here so the sample needs no audio file.
function sineWav({ rate = 16000, durationSeconds = 0.5, frequency = 440 } = {}) {
  const samples = Math.round(rate * durationSeconds);
  const wav = Buffer.alloc(44 + samples * 2);
  wav.write('RIFF', 0);
  wav.writeUInt32LE(36 + samples * 2, 4);
  wav.write('WAVE', 8);
  wav.write('fmt ', 12);
  wav.writeUInt32LE(16, 16); // fmt chunk size
  wav.writeUInt16LE(1, 20); // PCM
  wav.writeUInt16LE(1, 22); // mono
  wav.writeUInt32LE(rate, 24);
  wav.writeUInt32LE(rate * 2, 28); // bytes per second
  wav.writeUInt16LE(2, 32); // bytes per frame
  wav.writeUInt16LE(16, 34); // bits per sample
  wav.write('data', 36);
  wav.writeUInt32LE(samples * 2, 40);
  for (let i = 0; i < samples; i++) {
    wav.writeInt16LE(Math.round(0.5 * 32767 * Math.sin((2 * Math.PI * frequency * i) / rate)), 44 + i * 2);
  }
  return wav;
}

async function checkRateLimit(key) {
  const limiter = client(api.ratelimit.v1.RateLimiter, config.ratelimit);
  const decision = await unary(limiter, 'Check', { policy: config.policy, key });
  // A denial is an answer, not an error: wait retry_after and try again.
  console.log(`ratelimit: Check policy=${decision.policy} key=${key} allowed=${decision.allowed} ` +
    `remaining=${decision.remaining} limit=${decision.limit} retry_after=${seconds(decision.retry_after)}s`);
  limiter.close();
}

async function setAndGet(key) {
  const cache = client(api.cache.v1.Cache, config.cache);
  const value = Buffer.from('hello from the node sample');
  await unary(cache, 'Set', { namespace: config.namespace, key, value, ttl: { seconds: 300 }, tags: ['samples'] });
  console.log(`cache: Set namespace=${config.namespace} key=${key} bytes=${value.length} ttl=300s`);
  const entry = await unary(cache, 'Get', { namespace: config.namespace, key });
  if (!entry.found || !Buffer.from(entry.value).equals(value)) {
    throw new Error(`cache: Get returned found=${entry.found} value=${JSON.stringify(Buffer.from(entry.value).toString())}`);
  }
  console.log(`cache: Get namespace=${config.namespace} key=${key} found=true value="${entry.value}" ttl_remaining=${seconds(entry.ttl_remaining)}s`);
  cache.close();
}

async function enqueueAndWatch(runId) {
  const queue = client(api.audioqueue.v1.AudioQueue, config.audioqueue);
  const audio = sineWav();
  const queued = await unary(queue, 'Enqueue', {
    audio,
    content_type: 'audio/wav',
    priority: 'PRIORITY_NORMAL',
    tenant: 'samples',
    idempotency_key: runId, // a retried Enqueue with the same key returns the same job
    metadata: { source: 'node-sample' },
  });
  console.log(`audioqueue: Enqueue job=${queued.job_id} bytes=${audio.length} position=${queued.position} ` +
    `estimated_wait=${seconds(queued.estimated_wait)}s`);

  const job = await new Promise((resolve, reject) => {
    let last;
    const stream = queue.WatchJob({ job_id: queued.job_id }, metadata(), deadline(WATCH_TIMEOUT_MS));
    stream.on('data', (snapshot) => {
      last = snapshot;
      console.log(`audioqueue: WatchJob job=${snapshot.id} state=${snapshot.state} position=${snapshot.position} ` +
        `progress=${snapshot.progress}`);
    });
    stream.on('error', reject);
    stream.on('end', () => resolve(last));
  });
  queue.close();
  if (!job || !FINAL_STATES.includes(job.state)) {
    throw new Error(`audioqueue: WatchJob ended before the job was final (last state ${job?.state})`);
  }
  if (job.state !== 'JOB_STATE_SUCCEEDED') {
    throw new Error(`audioqueue: job ${job.id} ended ${job.state}: ${job.error}`);
  }
  console.log(`audioqueue: job=${job.id} state=${job.state} result=${job.result}`);
}

async function main() {
  const runId = `node-${crypto.randomUUID()}`;
  await checkRateLimit(runId);
  await setAndGet(runId);
  await enqueueAndWatch(runId);
  console.log('done: all calls succeeded');
}

main().catch((error) => {
  // gRPC errors carry a status code; rich details (BadRequest, RetryInfo, ErrorInfo) are in the
  // grpc-status-details-bin trailer, error.metadata.get('grpc-status-details-bin').
  const code = error.code !== undefined ? ` (${grpc.status[error.code] ?? error.code})` : '';
  console.error(`failed${code}: ${error.details ?? error.message}`);
  process.exitCode = 1;
});
