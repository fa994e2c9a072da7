#!/usr/bin/env node
// Peer benchmark: BullMQ job queueing on a given Redis.
//
// Adds N jobs with random priorities (1..10) in bulk while W workers (each its own Redis
// connections, concurrency C) take and complete them; the processor does nothing. Measures end
// to end, from the first add to the last completion, and the Redis CPU per job (INFO cpu before
// and after). See README.md.
//
// Usage: node bench.mjs --redis HOST:PORT --jobs N --workers W --concurrency C [--json]
//                       [--chunk 1000] [--keep-completed] [--stall-timeout 30]

import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import { Queue, Worker } from 'bullmq';

const require = createRequire(import.meta.url);
// ioredis is bullmq's own dependency: resolve it from there so the versions always match.
const Redis = createRequire(require.resolve('bullmq'))('ioredis');
const BULLMQ_VERSION = createRequire(require.resolve('bullmq'))('../../package.json').version;

const USAGE =
  'usage: node bench.mjs --redis HOST:PORT --jobs N --workers W --concurrency C [--json]\n' +
  '                      [--chunk 1000] [--keep-completed] [--stall-timeout SECONDS]\n' +
  '  --redis            Redis address (default 127.0.0.1:6379)\n' +
  '  --jobs             jobs to add and complete (default 10000)\n' +
  '  --workers          Worker instances, each with its own connections (default 1)\n' +
  '  --concurrency      jobs in flight per worker (default 50)\n' +
  '  --chunk            jobs per addBulk call (default 1000)\n' +
  '  --keep-completed   keep completed jobs in Redis (BullMQ default); by default they are\n' +
  '                     removed on completion (removeOnComplete: true)\n' +
  '  --stall-timeout    give up if no job completes for this many seconds (default 30)\n' +
  '  --json             print one JSON object as the last line of stdout (the human summary\n' +
  '                     goes to stderr)\n';

function die(msg, code = 1) {
  process.stderr.write(`bench.mjs: ${msg}\n`);
  process.exit(code);
}

function parseArgs(argv) {
  const o = {
    redis: '127.0.0.1:6379', jobs: 10000, workers: 1, concurrency: 50, chunk: 1000,
    json: false, keepCompleted: false, stallTimeout: 30,
  };
  const ints = { '--jobs': 'jobs', '--workers': 'workers', '--concurrency': 'concurrency',
                 '--chunk': 'chunk', '--stall-timeout': 'stallTimeout' };
  for (let i = 0; i < argv.length; i++) {
    let a = argv[i];
    let v;
    const eq = a.indexOf('=');
    if (a.startsWith('--') && eq > 0) { v = a.slice(eq + 1); a = a.slice(0, eq); }
    const next = () => {
      if (v !== undefined) return v;
      if (i + 1 >= argv.length) die(`${a} needs a value\n${USAGE}`, 2);
      return argv[++i];
    };
    if (a === '--help' || a === '-h') { process.stdout.write(USAGE); process.exit(0); }
    else if (a === '--json') o.json = true;
    else if (a === '--keep-completed') o.keepCompleted = true;
    else if (a === '--redis') o.redis = next();
    else if (ints[a]) {
      const s = next();
      const n = Number(s);
      if (!/^\d+$/.test(s) || !Number.isSafeInteger(n) || n < 1) die(`${a} needs a positive integer, got '${s}'`, 2);
      o[ints[a]] = n;
    } else die(`unknown argument '${a}'\n${USAGE}`, 2);
  }
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(o.redis);
  if (!m) die(`--redis must be HOST:PORT, got '${o.redis}'`, 2);
  o.host = m[1] || m[2];
  o.port = Number(m[3]);
  return o;
}

function parseInfo(text) {
  const r = {};
  for (const line of text.split('\r\n')) {
    const c = line.indexOf(':');
    if (c > 0 && line[0] !== '#') r[line.slice(0, c)] = line.slice(c + 1);
  }
  return r;
}

async function redisCpu(conn) {
  const i = parseInfo(await conn.info('cpu'));
  const num = (k) => (i[k] === undefined ? null : Number(i[k]));
  const sys = num('used_cpu_sys'), user = num('used_cpu_user');
  const msys = num('used_cpu_sys_main_thread'), muser = num('used_cpu_user_main_thread');
  return {
    total: sys + user,
    main: msys === null || muser === null ? null : msys + muser,
  };
}

const opts = parseArgs(process.argv.slice(2));
const log = (s) => process.stderr.write(s + '\n');
const seenErrors = new Map();
const logError = (who, e) => {  // each distinct message once, then every 100th
  const msg = `${who}: ${(e && e.message) || e}`;
  const n = (seenErrors.get(msg) || 0) + 1;
  seenErrors.set(msg, n);
  if (n === 1 || n % 100 === 0) log(n === 1 ? msg : `${msg} (x${n})`);
};
const where = `${opts.host}:${opts.port}`;

// Preflight: fail fast with a clear message rather than letting ioredis retry forever.
const ctl = new Redis({
  host: opts.host, port: opts.port, lazyConnect: true, connectTimeout: 3000,
  maxRetriesPerRequest: 1, retryStrategy: () => null, enableOfflineQueue: false,
});
let ctlError = null;
ctl.on('error', (e) => { ctlError = e; }); // reported below
try {
  await ctl.connect();
  await ctl.ping();
} catch (e) {
  const cause = ctlError || e;
  die(`cannot reach Redis at ${where}: ${cause.code || cause.message || cause}` +
      `${cause.code && cause.message ? ` (${cause.message})` : ''}`, 1);
}
ctl.on('error', (e) => logError(`redis ${where}`, e));
const server = parseInfo(await ctl.info('server'));

// Connection options for BullMQ: every Queue/Worker makes its own connections from these.
const connection = { host: opts.host, port: opts.port, maxRetriesPerRequest: null };
const queueName = `ccbench-${Date.now().toString(36)}-${process.pid}-${randomBytes(3).toString('hex')}`;
const removeOnComplete = !opts.keepCompleted;

let completed = 0, failed = 0, added = 0, lastProgress = 0;
let done;
const allDone = new Promise((resolve) => { done = resolve; });
const queue = new Queue(queueName, { connection });
queue.on('error', (e) => logError('queue error', e));
const workers = [];
let progressTimer = null, stallTimer = null;
let stopping = false, adding = Promise.resolve();

// Bounded: if Redis went away, BullMQ's connections retry forever; give up after a while.
function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`${what} timed out`)), ms); }),
  ]).finally(() => clearTimeout(timer));
}

let cleanedUp = false;
async function cleanup() {
  if (cleanedUp) return;
  cleanedUp = true;
  stopping = true;  // the producer stops after its chunk in flight, before the obliterate
  if (progressTimer) clearInterval(progressTimer);
  if (stallTimer) clearInterval(stallTimer);
  try {
    await withTimeout(Promise.allSettled([adding, ...workers.map((w) => w.close(true))]), 10000,
                      'stopping the producer and the workers');
    if (ctl.status !== 'ready') throw new Error(`lost the connection to Redis at ${where}`);
    await withTimeout(queue.obliterate({ force: true }), 60000, 'obliterate');
  } catch (e) {
    log(`warning: could not obliterate queue ${queueName} (keys ${queue.qualifiedName}:*): ${e.message || e}`);
  }
  await withTimeout(Promise.allSettled([queue.close()]), 2000, 'closing the queue').catch(() => {});
}

let interrupted = false;
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, async () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    log(`${sig}: cleaning up queue ${queueName}`);
    await cleanup();
    ctl.disconnect();
    process.exit(130);
  });
}

let exitCode = 0;
try {
  for (let w = 0; w < opts.workers; w++) {
    const worker = new Worker(queueName, async () => {}, {
      connection, concurrency: opts.concurrency,
    });
    worker.on('completed', () => {
      completed++;
      if (completed + failed === opts.jobs) done();
    });
    worker.on('failed', (job, err) => {
      failed++;
      if (failed <= 5) log(`job ${job && job.id} failed: ${err && err.message}`);
      if (completed + failed === opts.jobs) done();
    });
    worker.on('error', (e) => logError(`worker ${w} error`, e));
    workers.push(worker);
  }
  await Promise.all([queue.waitUntilReady(), ...workers.map((w) => w.waitUntilReady())]);

  const cpu0 = await redisCpu(ctl);
  const ncpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const elapsed = () => Number(process.hrtime.bigint() - t0) / 1e9;

  let lastCompleted = 0;
  progressTimer = setInterval(() => {
    const t = elapsed();
    log(`[${t.toFixed(1)}s] added ${added}/${opts.jobs}, completed ${completed}` +
        `${failed ? `, failed ${failed}` : ''}, ${completed - lastCompleted} jobs/s in the last second`);
    lastCompleted = completed;
  }, 1000);
  let stallSeen = 0;
  lastProgress = Date.now();
  stallTimer = setInterval(() => {
    if (completed + failed !== stallSeen) { stallSeen = completed + failed; lastProgress = Date.now(); }
    else if (Date.now() - lastProgress > opts.stallTimeout * 1000) {
      done(new Error(`no job completed for ${opts.stallTimeout} s (added ${added}, completed ${completed}, failed ${failed})`));
    }
  }, 500);

  // Producer: addBulk in chunks, one chunk in flight at a time, while the workers run.
  adding = (async () => {
    while (added < opts.jobs && !stopping) {
      const n = Math.min(opts.chunk, opts.jobs - added);
      const batch = new Array(n);
      for (let k = 0; k < n; k++) {
        batch[k] = {
          name: 'call',
          data: { i: added + k },
          opts: { priority: 1 + Math.floor(Math.random() * 10), removeOnComplete, removeOnFail: false },
        };
      }
      await queue.addBulk(batch);
      added += n;
    }
  })();
  adding.catch((e) => done(e));

  const err = await allDone;
  if (err) throw err;
  await adding;
  const seconds = elapsed();
  const cpu1 = await redisCpu(ctl);
  const ncpu = process.cpuUsage(ncpu0);
  clearInterval(progressTimer); progressTimer = null;
  clearInterval(stallTimer); stallTimer = null;

  const usPerJob = ((cpu1.total - cpu0.total) * 1e6) / opts.jobs;
  const mainUsPerJob = cpu0.main === null || cpu1.main === null ? null : ((cpu1.main - cpu0.main) * 1e6) / opts.jobs;
  const clientUsPerJob = (ncpu.user + ncpu.system) / opts.jobs;
  const jobsPerS = opts.jobs / seconds;
  const summary =
    `bullmq ${BULLMQ_VERSION} on Redis ${server.redis_version || '?'} at ${where}: ${opts.jobs} jobs ` +
    `(priorities 1..10, addBulk ${opts.chunk}), ${opts.workers} worker(s) x concurrency ${opts.concurrency}` +
    `${removeOnComplete ? '' : ', completed jobs kept'}: ${seconds.toFixed(3)} s, ` +
    `${Math.round(jobsPerS)} jobs/s end to end, Redis CPU ${usPerJob.toFixed(1)} us/job` +
    (mainUsPerJob === null ? '' : ` (main thread ${mainUsPerJob.toFixed(1)} us/job)`) +
    `, this Node process ${clientUsPerJob.toFixed(1)} us/job` +
    (failed ? `, ${failed} FAILED` : '');
  if (opts.json) {
    log(summary);
  } else {
    process.stdout.write(summary + '\n');
  }
  if (failed) exitCode = 1;

  await cleanup();
  if (opts.json) {
    const r2 = (x) => (x === null ? null : Math.round(x * 100) / 100);
    process.stdout.write(JSON.stringify({
      jobs: opts.jobs,
      seconds: Math.round(seconds * 1e6) / 1e6,
      jobs_per_s: Math.round(jobsPerS * 10) / 10,
      redis_cpu_us_per_job: r2(usPerJob),
      redis_cpu_main_thread_us_per_job: r2(mainUsPerJob),
      client_cpu_us_per_job: r2(clientUsPerJob),
      workers: opts.workers,
      concurrency: opts.concurrency,
      failed,
      bullmq: BULLMQ_VERSION,
      redis: server.redis_version || null,
    }) + '\n');
  }
} catch (e) {
  log(`bench.mjs: run failed: ${e && e.message ? e.message : e}`);
  await cleanup();
  exitCode = 1;
}
ctl.disconnect();
process.exit(exitCode);
