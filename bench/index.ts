/**
 * `npm run bench`: what waiting costs. N calculation workflows (default 200) run on the local SLURM cluster of
 * scripts/local-cluster.sh through the real code path (ssh2 → sshd, prepare, idempotent submit, then the
 * checkJob activity retried by Temporal and answered from the worker's per-cluster status cache). Their jobs
 * run a stand-in that only sleeps, so on this 2-core node 2 run and the rest stay PENDING: N jobs waiting at
 * once. During a measuring window (default 60 s) it counts squeue and scontrol commands, checkJob looks, SSH
 * connections opened, in-flight activities (worker slots held), and samples the worker's RSS. Then it cancels
 * every workflow (the workflows' cancellation runs scancel) and checks that no job is left.
 *
 *   npm run bench                                     # 200 jobs, 60 s window
 *   BENCH_JOBS=50 BENCH_WINDOW_SECONDS=30 npm run bench
 *
 * It starts its own Temporal dev server (temporary DB) and an in-process worker; the local cluster is started
 * when it is not running (root). Targets: one squeue per poll interval, one SSH connection per cluster.
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { schedulerMetrics } from '../src/activities/scheduler/index.ts';
import { closeAllTransports, sshConnectionsOpened } from '../src/activities/transport/index.ts';
import { startCalculation } from '../src/client.ts';
import { startDevServer } from '../src/devserver.ts';
import { builtinStructure } from '../src/domain/structure/index.ts';
import { sleep } from '../src/process.ts';
import { REPO_ROOT, type Settings } from '../src/settings.ts';
import { createWorker } from '../src/worker.ts';

const JOBS = Number(process.env.BENCH_JOBS ?? 200);
const WINDOW_SECONDS = Number(process.env.BENCH_WINDOW_SECONDS ?? 60);
/** Workflow executions the worker keeps in memory (the SDK's sticky cache); evicted ones replay their short history. */
const MAX_CACHED = process.env.BENCH_MAX_CACHED_WORKFLOWS === undefined ? undefined : Number(process.env.BENCH_MAX_CACHED_WORKFLOWS);
const STATE = process.env.CRYSTALMATH_CLUSTER_STATE ?? '/tmp/crystalmath-local-cluster';
const CLUSTER = 'bench-slurm';
const SLURM_ENV = { ...process.env, SLURM_CONF: join(STATE, 'slurm', 'slurm.conf') };

const log = (msg: string) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}`);
const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MB`;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (typeof a === 'object' && a ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

function startCluster(): Promise<void> {
  return new Promise((resolve, reject) =>
    execFile('bash', [join(REPO_ROOT, 'scripts', 'local-cluster.sh'), 'start'], { env: { ...process.env, CRYSTALMATH_CLUSTER_STATE: STATE }, timeout: 300_000 }, (err, _o, stderr) =>
      err ? reject(new Error(`scripts/local-cluster.sh start failed: ${stderr}`)) : resolve(),
    ),
  );
}

/** Our jobs SLURM still lists (pending, running, completing). */
function ourJobs(prefix: string): { id: string; name: string; state: string }[] {
  const r = spawnSync('squeue', ['-h', '--me', '-o', '%i %j %T'], { encoding: 'utf8', env: SLURM_ENV });
  return (r.stdout ?? '')
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f.length === 3 && f[1]!.startsWith(prefix))
    .map(([id, name, state]) => ({ id: id!, name: name!, state: state! }));
}

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const work = mkdtempSync(join(tmpdir(), 'crystalmath-bench-'));
  const run = Math.random().toString(36).slice(2, 8);
  const prefix = `cm-bench-${run}-`;
  let cleanup: (() => Promise<void>)[] = [];
  try {
    log('starting the local cluster (scripts/local-cluster.sh start) and a Temporal dev server');
    const [, server] = await Promise.all([
      startCluster(),
      freePort().then((port) => startDevServer({ dbFile: join(work, 'temporal.db'), logFile: join(work, 'temporal.log'), port, startTimeoutSeconds: 60 })),
    ]);
    cleanup.push(() => server.stop());

    // The cluster's profile under another name, its qe-pw a stand-in that only sleeps.
    const profiles = join(work, 'clusters');
    mkdirSync(profiles);
    const standIn = join(STATE, 'stand-ins', 'pw.x-stand-in-for-the-bench-sleeps-1h');
    mkdirSync(join(STATE, 'stand-ins'), { recursive: true });
    writeFileSync(standIn, '#!/bin/sh\n# bench/index.ts: a stand-in for pw.x that only waits\nexec sleep 3600\n', { mode: 0o755 });
    const profile = parseYaml(readFileSync(join(STATE, 'clusters', 'local-slurm.yaml'), 'utf8')) as Record<string, unknown>;
    profile.name = CLUSTER;
    profile.executables = { 'qe-pw': { executable: standIn, mpi: false } };
    writeFileSync(join(profiles, `${CLUSTER}.yaml`), stringifyYaml(profile));
    const poll = Number(profile.pollIntervalSeconds ?? 30);

    const settings: Settings = {
      dataDir: work,
      temporalAddress: server.address,
      namespace: 'default',
      taskQueue: `bench-${run}`,
      pseudoRoot: join(work, 'pseudos'),
      workRoot: join(work, 'work'),
      artifactRoot: join(work, 'artifacts'),
    };
    const nativeConnection = await NativeConnection.connect({ address: server.address });
    cleanup.unshift(() => nativeConnection.close());
    const { worker } = await createWorker({
      settings,
      connection: nativeConnection,
      clusters: ['local', CLUSTER],
      clusterDirs: [profiles],
      workerOptions: { maxConcurrentActivityTaskExecutions: 200, ...(MAX_CACHED !== undefined ? { maxCachedWorkflows: MAX_CACHED } : {}) },
    });
    const running = worker.run();
    cleanup.unshift(async () => {
      worker.shutdown();
      await running;
    });
    await sleep(1000);
    const rssIdle = process.memoryUsage().rss;
    const connection = await Connection.connect({ address: server.address });
    cleanup.unshift(() => connection.close());
    const client = new Client({ connection });

    log(`starting ${JOBS} calculation workflows on ${CLUSTER} (poll interval ${poll} s)`);
    const sshBefore = sshConnectionsOpened();
    const t0 = Date.now();
    const structure = builtinStructure('Si')!;
    const handles = await Promise.all(
      Array.from({ length: JOBS }, (_, i) =>
        startCalculation(
          client,
          { code: 'qe-pw', structure, calculation: 'scf', protocol: 'fast', analysis: 'bench', executor: { kind: 'slurm', cluster: CLUSTER }, recovery: { strategy: 'fail_fast' } },
          { taskQueue: settings.taskQueue, workflowId: `bench-${run}-${i}` },
        ),
      ),
    );
    cleanup.unshift(async () => {
      log(`cancelling ${handles.length} workflows (their cancellation runs scancel)`);
      await Promise.all(handles.map((h) => h.cancel().catch(() => undefined)));
      await Promise.all(handles.map((h) => h.result().catch(() => undefined)));
    });
    for (;;) {
      const n = ourJobs(prefix).length;
      if (n >= JOBS) break;
      if (Date.now() - t0 > 600_000) throw new Error(`only ${n} of ${JOBS} jobs were submitted after 10 minutes`);
      await sleep(1000);
    }
    const submitSeconds = (Date.now() - t0) / 1000;
    const jobs = ourJobs(prefix);
    log(`${jobs.length} jobs in SLURM after ${submitSeconds.toFixed(1)} s (${jobs.filter((j) => j.state === 'RUNNING').length} running, ${jobs.filter((j) => j.state === 'PENDING').length} pending); measuring for ${WINDOW_SECONDS} s`);

    // Let every workflow reach its checkJob loop, then measure.
    await sleep(Math.max(2, poll) * 1000);
    const m0 = schedulerMetrics()[CLUSTER]!;
    const ssh0 = sshConnectionsOpened();
    const w0 = Date.now();
    const rss: number[] = [];
    const inflight: number[] = [];
    const clusterWorker = worker.workers.find((w) => w.cluster === CLUSTER)!.worker;
    while (Date.now() - w0 < WINDOW_SECONDS * 1000) {
      rss.push(process.memoryUsage().rss);
      inflight.push(clusterWorker.getStatus().numInFlightActivities);
      await sleep(250);
    }
    const minutes = (Date.now() - w0) / 60_000;
    const m1 = schedulerMetrics()[CLUSTER]!;
    const waiting = ourJobs(prefix);
    const cached = worker.workers.find((w) => w.cluster === 'local')!.worker.getStatus().numCachedWorkflows;
    const sample = await handles[0]!.fetchHistory();
    const events = sample.events?.length ?? 0;

    const perMin = (n: number) => (n / minutes).toFixed(1);
    const squeue = m1.squeueCalls - m0.squeueCalls;
    const lines = [
      '',
      `CrystalMath waiting benchmark: ${JOBS} calculation workflows on SLURM (${CLUSTER}: ${poll} s poll interval), window ${(minutes * 60).toFixed(0)} s`,
      `  jobs waiting in SLURM during the window  ${waiting.length} (${waiting.filter((j) => j.state === 'RUNNING').length} running, ${waiting.filter((j) => j.state === 'PENDING').length} pending)`,
      `  checkJob looks (activity attempts)       ${m1.lookups - m0.lookups} (${perMin(m1.lookups - m0.lookups)}/min)`,
      `  squeue calls                             ${squeue} (${perMin(squeue)}/min; one per poll interval = ${(60 / poll).toFixed(1)}/min)`,
      `  scontrol commands                        ${m1.scontrolCalls - m0.scontrolCalls} (${m1.scontrolJobs - m0.scontrolJobs} job look-ups)`,
      `  SSH connections opened                   ${sshConnectionsOpened() - ssh0} in the window (${perMin(sshConnectionsOpened() - ssh0)}/min); ${sshConnectionsOpened() - sshBefore} for the whole run`,
      `  activities in flight (worker slots)      max ${Math.max(...inflight)}, mean ${(inflight.reduce((a, b) => a + b, 0) / inflight.length).toFixed(2)} (of ${JOBS} waiting jobs)`,
      `  worker RSS (worker + client process)     max ${mb(Math.max(...rss))}, end ${mb(rss.at(-1)!)}; ${mb(rssIdle)} before any workflow; ${cached} workflows cached${MAX_CACHED !== undefined ? ` (maxCachedWorkflows ${MAX_CACHED})` : ''}`,
      `  history of one waiting workflow          ${events} events`,
      `  submit phase                             ${submitSeconds.toFixed(1)} s for ${JOBS} prepare + sbatch`,
      '',
    ];
    console.log(lines.join('\n'));

    for (const c of cleanup.splice(0)) await c();
    await waitGone(prefix);
  } finally {
    for (const c of cleanup) await c().catch((e: unknown) => log(`cleanup: ${(e as Error).message}`));
    // Belt and braces: nothing of this run may stay queued.
    const left = ourJobs(prefix);
    if (left.length) {
      log(`scancel of ${left.length} jobs the workflows did not cancel`);
      spawnSync('scancel', left.map((j) => j.id), { env: SLURM_ENV });
    }
    await closeAllTransports();
    rmSync(work, { recursive: true, force: true });
  }
}

async function waitGone(prefix: string): Promise<void> {
  for (let i = 0; i < 120; i++) {
    const left = ourJobs(prefix).filter((j) => j.state !== 'COMPLETING');
    if (left.length === 0) {
      log('every job was cancelled by its workflow (scancel); none left in SLURM');
      return;
    }
    await sleep(500);
  }
  log(`${ourJobs(prefix).length} jobs still listed after the workflows were cancelled`);
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);


