/**
 * Local jobs stay with their host. Two `crystalmath worker`s share one task queue and one disk but run in separate
 * PID namespaces (two hosts, as docker-compose replicas are): neither sees the other's processes. The worker
 * running a job is SIGKILLed; its host brings a worker back only 20 s later (a supervisor loop inside that
 * namespace). Meanwhile the other host must not take the job's wait (it would find no process and call the job
 * lost while pw.x runs on): the wait stays on the first host's queue, whose returning worker adopts the job.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { calculationResult, startCalculation } from '../../src/client.ts';
import { hostTaskQueue, jobDirParts } from '../../src/domain/jobs.ts';
import { builtinStructure } from '../../src/domain/structure/index.ts';
import { alive, sleep } from '../../src/process.ts';
import { describeWhen } from '../support/describe-when.ts';
import { connectTestEnv, testSettings } from '../support/temporal.ts';
import { startWorkerProcess, type WorkerProcess } from '../support/worker-process.ts';

const isRoot = process.getuid?.() === 0;

/** The pids below `pid` (outer namespace numbers), from /proc's children lists. */
function descendants(pid: number): number[] {
  const file = `/proc/${pid}/task/${pid}/children`;
  if (!existsSync(file)) return [];
  const kids = readFileSync(file, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  return kids.flatMap((k) => [k, ...descendants(k)]);
}
const cmdline = (pid: number) => (existsSync(`/proc/${pid}/cmdline`) ? readFileSync(`/proc/${pid}/cmdline`, 'utf8') : '');

describeWhen(isRoot ? undefined : 'needs root for unshare --pid (run as root, as CI does)', 'local jobs on two hosts (separate PID namespaces)', () => {
  const settings = testSettings('hosts');
  const workers: WorkerProcess[] = [];
  let env: TestWorkflowEnvironment | undefined;
  afterAll(async () => {
    for (const w of workers) w.kill();
    await env?.teardown();
  });

  /** A host: a supervisor (PID 1 of a new PID namespace) that restarts its worker 20 s after it dies. */
  const startHost = (hostId: string) => {
    const w = startWorkerProcess(settings, hostId, {
      env: { CRYSTALMATH_HOST_ID: hostId },
      wrap: ['unshare', '--pid', '--fork', 'sh', '-c', 'while :; do "$@"; sleep 20; done', 'supervisor'],
    });
    workers.push(w);
    return w;
  };
  // (the supervisor's own command line names the worker too: the worker is the node process)
  const workerPidOf = (host: WorkerProcess) => descendants(host.pid).find((p) => cmdline(p).split('\0')[0] === process.execPath);

  it('the wait stays on the job\'s host: the other host never calls it lost; pw.x runs once', async () => {
    // Not pw.x itself: logs each start, waits 20 s (a long job), then runs the real pw.x.
    const standIn = join(settings.dataDir, 'pw-slow-standin.sh');
    const starts = join(settings.dataDir, 'pw-starts');
    writeFileSync(standIn, `#!/bin/sh\necho start >> ${starts}\nsleep 20\nexec pw.x "$@"\n`);
    chmodSync(standIn, 0o755);
    mkdirSync(join(settings.dataDir, 'clusters'), { recursive: true });
    writeFileSync(
      join(settings.dataDir, 'clusters', 'local.yaml'),
      `name: local\nscheduler: local\ntransport: local\nworkDir: ${settings.workRoot}\npartitions: []\nexecutables:\n  qe-pw: ${standIn}\n`,
    );
    env = await connectTestEnv();
    const hostA = startHost('host-a');
    const handle = await startCalculation(
      env.client,
      { code: 'qe-pw', structure: builtinStructure('Si')!, calculation: 'scf', protocol: 'fast' },
      { taskQueue: settings.taskQueue },
    );
    const pidFile = join(settings.workRoot, ...jobDirParts(handle.workflowId, 'pw', 1), '.crystalmath', 'pid');
    for (let i = 0; i < 1200 && !existsSync(pidFile); i++) await sleep(50);
    expect(existsSync(pidFile)).toBe(true);
    startHost('host-b');
    const watching = async () =>
      ((await handle.describe()).raw.pendingActivities ?? []).some((a) => a.activityType?.name === 'waitForJob' && a.state === 2 /* STARTED */);
    for (let i = 0; i < 200 && !(await watching()); i++) await sleep(50);
    expect(await watching()).toBe(true);
    await sleep(2000); // host-b is polling the shared queue by now

    const workerA = workerPidOf(hostA)!;
    expect(workerA).toBeGreaterThan(0);
    process.kill(workerA, 'SIGKILL'); // the worker only: its namespace (and the job in it) lives on
    await sleep(300);
    expect(alive(workerA)).toBe(false);

    const result = await calculationResult(handle);
    expect(result.ok).toBe(true);
    expect(result.attempts).toHaveLength(1);
    expect(result.attempts[0]!.job.state).toBe('completed');
    expect(readFileSync(starts, 'utf8').trim().split('\n')).toHaveLength(1);
    // Every job activity went to host-a's own queue, and the wait was retried there.
    const events = (await handle.fetchHistory()).events ?? [];
    const hostQueue = hostTaskQueue(settings.taskQueue, 'host-a');
    const scheduled = events.flatMap((e) => (e.activityTaskScheduledEventAttributes ? [e.activityTaskScheduledEventAttributes] : []));
    const queueOf = (name: string) => scheduled.filter((a) => a.activityType?.name === name).map((a) => a.taskQueue?.name);
    for (const name of ['prepareCalculation', 'startJob', 'waitForJob', 'parseCalculation']) expect(queueOf(name), name).toEqual([hostQueue]);
    const retriedWait = events.some((e) => e.activityTaskStartedEventAttributes && (e.activityTaskStartedEventAttributes.attempt ?? 1) > 1);
    expect(retriedWait).toBe(true);
  });
});
