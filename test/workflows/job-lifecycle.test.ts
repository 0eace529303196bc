/**
 * What the calculation workflow does around a job when things go wrong (issue 22, items 2 and 8), with the
 * job activities faked (the tests are about orchestration; the real executors are tested in test/activities
 * and test/integration):
 * - a job whose wait fails is stopped (cancelJob), locally and on SLURM, instead of left running;
 * - a wait on a cluster no worker serves any more ends with ClusterUnreachable after its unreachableTimeout
 *   (scheduleToStart, per attempt), and does not try to stop a job it cannot reach;
 * - staging a parent's files gets a heartbeat timeout and time to match the job; a run without a parent keeps
 *   the short prepare and no patch marker.
 */
import { ApplicationFailure, ApplicationFailureCategory } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PreparedCalculation, PrepareRequest } from '../../src/activities/calculation.ts';
import { startCalculation } from '../../src/client.ts';
import type { CalculationInput } from '../../src/domain/calculation.ts';
import { CLUSTER_UNREACHABLE, clusterTaskQueue, type JobHandle, type JobSpec } from '../../src/domain/jobs.ts';
import { builtinStructure } from '../../src/domain/structure/index.ts';
import { PATCHES } from '../../src/workflows/patches.ts';
import { patchIds } from '../support/histories.ts';
import { connectTestEnv, testSettings, workflowBundle } from '../support/temporal.ts';

const WALLTIME = 7200;

describe('calculation workflow: jobs are stopped when their wait fails, waits end when their cluster is gone', () => {
  const settings = testSettings('job-lifecycle');
  let env: TestWorkflowEnvironment;
  const running: { worker: Worker; done: Promise<void> }[] = [];
  const cancelled: JobHandle[] = [];
  const prepared: PrepareRequest[] = [];
  /** What checkJob / waitForJob do, per workflow id. */
  const waits = new Map<string, () => Promise<never>>();

  const fakeActivities = {
    async localHostTaskQueue(): Promise<string | null> {
      return null; // one host: local jobs stay on the workflow's queue
    },
    async prepareCalculation(req: PrepareRequest): Promise<PreparedCalculation> {
      prepared.push(req);
      const slurm = req.input.executor.kind === 'slurm' ? { executor: 'slurm' as const, cluster: req.input.executor.cluster } : {};
      const job: JobSpec = { jobName: `cm-${req.workflowId}`, step: req.step, workDir: `/work/${req.workflowId}`, command: ['pw.x'], stdoutFile: 'pw.out', stderrFile: 'pw.err', resources: req.resources, ...slurm };
      return { job, inputSummary: { kMesh: [1, 1, 1], kOffset: [0, 0, 0], ecutwfc: 30, ecutrho: 240 }, parameters: {} };
    },
    async startJob(spec: JobSpec): Promise<JobHandle> {
      return { executor: spec.executor ?? 'local', jobName: spec.jobName, workDir: spec.workDir, jobId: '4242', ...(spec.cluster ? { cluster: spec.cluster, pollIntervalSeconds: 1, unreachableTimeoutSeconds: 3 } : {}) };
    },
    async waitForJob(h: JobHandle): Promise<never> {
      return waits.get(h.workDir.split('/').pop()!)!();
    },
    async checkJob(h: JobHandle): Promise<never> {
      return waits.get(h.workDir.split('/').pop()!)!();
    },
    async cancelJob(h: JobHandle): Promise<void> {
      cancelled.push(h);
    },
  };
  const serve = async (taskQueue: string, withWorkflows: boolean) => {
    const worker = await Worker.create({
      connection: env.nativeConnection,
      namespace: settings.namespace,
      taskQueue,
      ...(withWorkflows ? { workflowBundle: await workflowBundle() } : {}),
      activities: fakeActivities,
    });
    const entry = { worker, done: worker.run() };
    running.push(entry);
    return entry;
  };
  const stopServing = async (entry: { worker: Worker; done: Promise<void> }) => {
    entry.worker.shutdown();
    await entry.done;
    running.splice(running.indexOf(entry), 1);
  };

  beforeAll(async () => {
    env = await connectTestEnv();
    await serve(settings.taskQueue, true);
  });
  afterAll(async () => {
    for (const entry of [...running]) await stopServing(entry);
    await env?.teardown();
  });

  const start = (id: string, input: Partial<CalculationInput>) =>
    startCalculation(
      env.client,
      { code: 'qe-pw', structure: builtinStructure('Si')!, calculation: 'scf', protocol: 'fast', resources: { walltimeSeconds: WALLTIME, mpiRanks: 1 }, ...input },
      { taskQueue: settings.taskQueue, workflowId: `${id}-${Math.random().toString(36).slice(2, 8)}` },
    );
  const failWith = (type: string) => () => Promise.reject(ApplicationFailure.nonRetryable(`the wait failed (${type})`, type));
  const prepareOptions = async (handle: Awaited<ReturnType<typeof start>>) =>
    ((await handle.fetchHistory()).events ?? []).flatMap((e) => {
      const a = e.activityTaskScheduledEventAttributes;
      return a?.activityType?.name === 'prepareCalculation' ? [{ startToClose: Number(a.startToCloseTimeout?.seconds), heartbeat: Number(a.heartbeatTimeout?.seconds ?? 0) }] : [];
    });

  it('local: a wait that fails stops the job (by its pid), behind its patch', async () => {
    const handle = await start('local-wait-fails', {});
    waits.set(handle.workflowId, failWith('WatcherBroke'));
    await expect(handle.result()).rejects.toThrow();
    expect(cancelled.filter((h) => h.workDir.endsWith(handle.workflowId))).toEqual([expect.objectContaining({ executor: 'local', jobId: '4242' })]);
    const markers = patchIds(await handle.fetchHistory());
    expect(markers).toContain(PATCHES.stopJobOnFailure);
    // No parent to stage: the short prepare, and no staging marker.
    expect(await prepareOptions(handle)).toEqual([{ startToClose: 300, heartbeat: 0 }]);
    expect(markers).not.toContain(PATCHES.stagingScalesWithJob);
  });

  it('SLURM: a check that fails for good scancels the job', async () => {
    const cluster = 'fake-hpc';
    const queue = await serve(clusterTaskQueue(settings.taskQueue, cluster), false);
    try {
      const handle = await start('slurm-check-fails', { executor: { kind: 'slurm', cluster } });
      waits.set(handle.workflowId, failWith('ClusterProfileError'));
      await expect(handle.result()).rejects.toThrow();
      expect(cancelled.filter((h) => h.workDir.endsWith(handle.workflowId))).toEqual([expect.objectContaining({ executor: 'slurm', cluster, jobId: '4242' })]);
      expect(patchIds(await handle.fetchHistory())).toContain(PATCHES.stopJobOnFailure);
    } finally {
      await stopServing(queue);
    }
  });

  it("a wait on a cluster whose worker is gone ends after its unreachableTimeout with ClusterUnreachable, and leaves the job alone", async () => {
    const cluster = 'decommissioned';
    const queue = await serve(clusterTaskQueue(settings.taskQueue, cluster), false);
    let looked!: () => void;
    const firstLook = new Promise<void>((resolve) => (looked = resolve));
    const handle = await start('cluster-gone', { executor: { kind: 'slurm', cluster } });
    waits.set(handle.workflowId, () => {
      looked();
      return Promise.reject(ApplicationFailure.create({ message: 'queued', type: 'JobStillRunning', category: ApplicationFailureCategory.BENIGN }));
    });
    await firstLook;
    await stopServing(queue); // the cluster's worker goes away while the job waits in the queue
    const started = Date.now();
    const err = await handle.result().catch((e: unknown) => e);
    const cause = (err as { cause?: ApplicationFailure }).cause;
    expect(cause).toBeInstanceOf(ApplicationFailure);
    expect(cause!.type).toBe(CLUSTER_UNREACHABLE);
    expect(cause!.message).toMatch(/no worker of cluster decommissioned took the checks of job 4242 .* for 0-00:00:03 \(its unreachableTimeout\)/);
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(cancelled.filter((h) => h.workDir.endsWith(handle.workflowId))).toEqual([]);
    // scheduleToClose stays longer than scheduleToStart: Temporal would cut scheduleToStart down to it otherwise.
    const check = ((await handle.fetchHistory()).events ?? []).find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'checkJob')!;
    const a = check.activityTaskScheduledEventAttributes!;
    expect([Number(a.scheduleToStartTimeout?.seconds), Number(a.scheduleToCloseTimeout?.seconds)]).toEqual([3, WALLTIME + 86_400 + 3]);
  });

  it("staging a parent's files: a heartbeat timeout and the job's walltime to do it, behind its patch", async () => {
    const handle = await start('staging', { parent: { workDir: '/work/parent-scf', kind: 'charge-density' } });
    waits.set(handle.workflowId, failWith('WatcherBroke'));
    await expect(handle.result()).rejects.toThrow();
    expect(prepared.find((r) => r.workflowId === handle.workflowId)?.restart).toEqual({ fromWorkDir: '/work/parent-scf', kind: 'charge-density' });
    expect(await prepareOptions(handle)).toEqual([{ startToClose: WALLTIME + 600, heartbeat: 30 }]);
    expect(patchIds(await handle.fetchHistory())).toEqual(expect.arrayContaining([PATCHES.stagingScalesWithJob, PATCHES.stopJobOnFailure]));
  });
});
