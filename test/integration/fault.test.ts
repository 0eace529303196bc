/**
 * Faults on the real stack (Temporal dev server, worker, ssh2 → sshd → SLURM): each test asserts the workflow
 * ends as it should AND that SLURM ran exactly the jobs it should (counted by job name in slurmctld and in the
 * jobcomp file).
 *
 * The walltime test is started first and awaited last: SLURM's smallest time limit is one minute (and
 * slurmctld enforces limits every ~30 s), so it runs alongside the others instead of after them.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ActivityFailure, ApplicationFailure, WorkflowFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { closeAllTransports } from '../../src/activities/transport/index.ts';
import { CalculationFailedError, calculationResult, startCalculation } from '../../src/client.ts';
import type { CalculationInput } from '../../src/domain/calculation.ts';
import { jobDirParts, jobNameFor, type ExecutorSpec } from '../../src/domain/jobs.ts';
import { builtinStructure } from '../../src/domain/structure/index.ts';
import { alive, killGroup, sleep } from '../../src/process.ts';
import { REPO_ROOT } from '../../src/settings.ts';
import { createWorker } from '../../src/worker.ts';
import { PATCHES } from '../../src/workflows/patches.ts';
import {
  describeCluster,
  ed25519Blob,
  jobsNamed,
  restartMissingDaemons,
  scontrolJob,
  slurmCommand,
  slurmctldPid,
  startLocalCluster,
  stopSshd,
  writeProfileVariant,
  writeStandIn,
  type LocalCluster,
} from '../support/cluster.ts';
import { waitUntil } from '../support/cli.ts';
import { patchIds, recordHistory } from '../support/histories.ts';
import { connectTestEnv, testSettings, workflowBundle } from '../support/temporal.ts';

const Si = builtinStructure('Si')!;

describeCluster('faults on the SLURM path', () => {
  let cluster: LocalCluster;
  let env: TestWorkflowEnvironment;
  let stopWorker: () => Promise<void>;
  const settings = testSettings('fault');
  const profilesDir = mkdtempSync(join(tmpdir(), 'crystalmath-fault-profiles-'));
  const processes: ChildProcess[] = [];
  /** A profile variant of the local cluster, served by this file's worker on the local-slurm queue. */
  const on = (cluster: string): ExecutorSpec => ({ kind: 'slurm', cluster, taskQueue: `${settings.taskQueue}-local-slurm` });
  const scf = (executor: ExecutorSpec, extra: Partial<CalculationInput> = {}): CalculationInput => ({
    code: 'qe-pw',
    structure: Si,
    calculation: 'scf',
    protocol: 'fast',
    executor,
    ...extra,
  });
  let walltime: { workflowId: string; result: Promise<unknown>; started: number } | undefined;

  beforeAll(async () => {
    [cluster, env] = await Promise.all([startLocalCluster(), connectTestEnv()]);
    // pw.x after a pause: gives the faults below a running job to hit.
    const slow = writeStandIn('pw.x-after-a-4s-pause', 'sleep 4\nexec pw.x "$@"');
    writeProfileVariant(cluster, profilesDir, 'local-slurm-slow', (p) => {
      p.executables = { 'qe-pw': { executable: slow, mpi: false } };
    });
    // Starts like pw.x, then sleeps far past any walltime: only SLURM's time limit ends it.
    const overrun = writeStandIn(
      'pw.x-stand-in-that-sleeps-past-its-walltime',
      'echo "     Program PWSCF v.6.7MaX starts on (stand-in: sleeping past the walltime)"\nexec sleep 600',
    );
    writeProfileVariant(cluster, profilesDir, 'local-slurm-overrun', (p) => {
      p.executables = { 'qe-pw': { executable: overrun, mpi: false } };
    });
    writeProfileVariant(cluster, profilesDir, 'local-slurm-wrong-key', (p) => {
      delete p.knownHostsFile;
      p.hostKeys = [`[127.0.0.1]:${cluster.profile.port} ssh-ed25519 ${ed25519Blob().toString('base64')}`];
    });
    writeProfileVariant(cluster, profilesDir, 'local-slurm-bad', (p) => {
      (p.partitions as Record<string, unknown>[])[0]!.coresPerNode = -4;
    });
    const { worker } = await createWorker({
      settings,
      connection: env.nativeConnection,
      workflowBundle: await workflowBundle(),
      clusters: ['local', 'local-slurm'],
      clusterDirs: [profilesDir, join(cluster.stateDir, 'clusters')],
    });
    const running = worker.run();
    stopWorker = async () => {
      worker.shutdown();
      await running;
    };

    const handle = await startCalculation(
      env.client,
      scf(on('local-slurm-overrun'), { resources: { walltimeSeconds: 60, mpiRanks: 1 }, recovery: { strategy: 'fail_fast' }, analysis: 'walltime' }),
      { taskQueue: settings.taskQueue },
    );
    const result = calculationResult(handle);
    result.catch(() => undefined);
    walltime = { workflowId: handle.workflowId, result, started: Date.now() };
  });

  afterAll(async () => {
    for (const p of processes) if (p.pid && alive(p.pid)) killGroup(p.pid, 'SIGKILL');
    await restartMissingDaemons(); // whatever a failed test left stopped
    await stopWorker?.();
    await closeAllTransports();
    await env?.teardown();
    rmSync(profilesDir, { recursive: true, force: true });
  });

  it('a wrong host key: a clear, non-retryable error, at once', async () => {
    const started = Date.now();
    const handle = await startCalculation(env.client, scf(on('local-slurm-wrong-key'), { analysis: 'hostkey' }), { taskQueue: settings.taskQueue });
    const err = await handle.result().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const activity = (err as WorkflowFailedError).cause as ActivityFailure;
    expect(activity).toBeInstanceOf(ActivityFailure);
    const cause = activity.cause as ApplicationFailure;
    expect(cause.type).toBe('HostKeyError');
    expect(cause.nonRetryable).toBe(true);
    expect(cause.message).toMatch(/HOST KEY CHANGED for 127\.0\.0\.1 port \d+ \(cluster local-slurm-wrong-key\)/);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(jobsNamed(jobNameFor(handle.workflowId, 'pw', 1)).ids).toHaveLength(0);
  });

  it('a profile with a bad field: an error naming the field', async () => {
    const handle = await startCalculation(env.client, scf(on('local-slurm-bad'), { analysis: 'badprofile' }), { taskQueue: settings.taskQueue });
    const err = await handle.result().catch((e: unknown) => e);
    const cause = ((err as WorkflowFailedError).cause as ActivityFailure).cause as ApplicationFailure;
    expect(cause.type).toBe('ClusterProfileError');
    expect(cause.nonRetryable).toBe(true);
    expect(cause.message).toContain(join(profilesDir, 'local-slurm-bad.yaml'));
    expect(cause.message).toMatch(/partitions\[0\]\.coresPerNode: .*(>0|positive|too small)/i);
  });

  it('slurmctld restarted while the job runs: the workflow completes, one job', async () => {
    const handle = await startCalculation(env.client, scf(on('local-slurm-slow'), { analysis: 'slurmctld' }), { taskQueue: settings.taskQueue });
    const name = jobNameFor(handle.workflowId, 'pw', 1);
    await waitUntil('the job to run', () => jobsNamed(name).ids.some((id) => scontrolJob(id).JobState === 'RUNNING'));
    const pid = slurmctldPid();
    process.kill(pid, 'SIGTERM');
    await waitUntil('slurmctld to stop', () => !alive(pid), 20_000);
    await sleep(2000);
    await restartMissingDaemons();
    const result = await calculationResult(handle);
    expect(result.ok).toBe(true);
    expect(result.attempts[0]!.job.state).toBe('completed');
    expect(jobsNamed(name).ids).toHaveLength(1);
  });

  it('sshd killed while jobs wait, restarted later: the workflows complete, one job each', async () => {
    const handles = await Promise.all(
      ['sshd-a', 'sshd-b'].map((analysis) => startCalculation(env.client, scf(on('local-slurm-slow'), { analysis }), { taskQueue: settings.taskQueue })),
    );
    const names = handles.map((h) => jobNameFor(h.workflowId, 'pw', 1));
    await waitUntil('both jobs to be submitted', () => names.every((n) => jobsNamed(n).ids.length === 1));
    stopSshd();
    await sleep(5000); // the workflows keep polling (and failing, retryably) while the login node is gone
    await restartMissingDaemons();
    const results = await Promise.all(handles.map((h) => calculationResult(h)));
    for (const r of results) expect(r.ok).toBe(true);
    for (const n of names) expect(jobsNamed(n).ids).toHaveLength(1);
  });

  it('sshd gone for longer than the profile’s unreachableTimeout: the wait ends with ClusterUnreachable naming the cluster, the job is left alone', async () => {
    writeProfileVariant(cluster, profilesDir, 'local-slurm-short-reach', (p) => {
      p.executables = { 'qe-pw': { executable: writeStandIn('pw.x-after-a-4s-pause', 'sleep 4\nexec pw.x "$@"'), mpi: false } };
      p.unreachableTimeout = '0-00:00:08';
    });
    const handle = await startCalculation(env.client, scf(on('local-slurm-short-reach'), { analysis: 'unreachable' }), { taskQueue: settings.taskQueue });
    const name = jobNameFor(handle.workflowId, 'pw', 1);
    await waitUntil('the job to be submitted', () => jobsNamed(name).ids.length === 1);
    const [jobId] = jobsNamed(name).ids;
    stopSshd();
    try {
      const err = await handle.result().catch((e: unknown) => e);
      const cause = ((err as WorkflowFailedError).cause as ActivityFailure).cause as ApplicationFailure;
      expect(cause.type).toBe('ClusterUnreachable');
      expect(cause.nonRetryable).toBe(true);
      expect(cause.message).toMatch(/^cluster local-slurm-short-reach has not answered since .* unreachableTimeout, 0-00:00:08\); giving up on its jobs/);
    } finally {
      await restartMissingDaemons();
    }
    // Nothing reached the cluster to cancel it: the job runs to its end there.
    await waitUntil('the job to finish on its own', () => scontrolJob(jobId!).JobState === 'COMPLETED', 120_000);
    expect(jobsNamed(name).ids).toHaveLength(1);
  });

  it('the worker SIGKILLed right after sbatch, before the job id is recorded: one job', async () => {
    const base = `test-fault-crash-${Math.random().toString(36).slice(2, 8)}`;
    const workerProcess = (tag: string, extraEnv: Record<string, string> = {}) => {
      const log = openSync(join(settings.dataDir, `worker-${tag}.log`), 'a');
      const child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'src', 'worker.ts')], {
        cwd: REPO_ROOT,
        detached: true,
        stdio: ['ignore', log, log],
        env: {
          ...process.env,
          TEMPORAL_ADDRESS: settings.temporalAddress,
          CRYSTALMATH_TASK_QUEUE: base,
          CRYSTALMATH_HOME: settings.dataDir,
          // The default: the worker serves its own queue plus every profile found here (local-slurm).
          CRYSTALMATH_CLUSTERS_DIR: join(cluster.stateDir, 'clusters'),
          ...extraEnv,
        },
      });
      processes.push(child);
      return child;
    };
    const exited = (child: ChildProcess) => new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));

    const first = workerProcess('crash-after-sbatch', { CRYSTALMATH_TEST_CRASH_AFTER_SBATCH: '1' });
    const firstExit = exited(first);
    const handle = await startCalculation(env.client, scf({ kind: 'slurm', cluster: 'local-slurm' }, { analysis: 'crash' }), { taskQueue: base });
    const name = jobNameFor(handle.workflowId, 'pw', 1);
    expect(await firstExit).toBe('SIGKILL');
    // sbatch had accepted the job; nobody recorded its id.
    const jobDir = join(cluster.profile.workDir, ...jobDirParts(handle.workflowId, 'pw', 1));
    expect(jobsNamed(name).ids).toHaveLength(1);
    expect(() => readFileSync(join(jobDir, '.crystalmath', 'sbatch_job_id'))).toThrow();

    workerProcess('second');
    const result = await calculationResult(handle);
    expect(result.ok).toBe(true);
    const jobs = jobsNamed(name);
    expect(jobs.ids).toHaveLength(1);
    await waitUntil('the jobcomp line', () => jobsNamed(name).completions === 1, 10_000);
    expect(readFileSync(join(jobDir, '.crystalmath', 'sbatch_job_id'), 'utf8').trim()).toBe(jobs.ids[0]);
    expect(readFileSync(join(jobDir, 'pw.out'), 'utf8').match(/Program PWSCF/g)).toHaveLength(1);
    // The submit ran twice (the first attempt died with its worker); the second found the job.
    const history = await handle.fetchHistory();
    const retried = (history.events ?? []).filter((e) => (e.activityTaskStartedEventAttributes?.attempt ?? 0) > 1);
    expect(retried.length).toBeGreaterThan(0);
  });

  it("the cluster's work directory full (ENOSPC on a small tmpfs), then freed: the calculation resumes and completes, one job", async () => {
    // A 32 MB tmpfs as the profile's workDir, filled to the last byte: every write there fails with ENOSPC,
    // which sftp-server reports as "Failure". The prepare must be retried (it was a permanent error) until
    // the space is freed.
    const disk = join(cluster.stateDir, 'small-disk');
    mkdirSync(disk, { recursive: true });
    const mount = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=32m', 'tmpfs', disk], { encoding: 'utf8' });
    expect(mount.status, `mount a tmpfs (needs root): ${mount.stderr}`).toBe(0);
    try {
      writeProfileVariant(cluster, profilesDir, 'local-slurm-small-disk', (p) => {
        p.workDir = disk;
      });
      const filler = join(disk, 'filler');
      const fill = spawnSync('dd', ['if=/dev/zero', `of=${filler}`, 'bs=1M'], { encoding: 'utf8' });
      expect(fill.stderr).toMatch(/No space left on device/);

      const handle = await startCalculation(env.client, scf(on('local-slurm-small-disk'), { analysis: 'enospc' }), { taskQueue: settings.taskQueue });
      let lastFailure = '';
      await waitUntil('a retried prepare that failed on the full disk', async () => {
        const prepare = ((await handle.describe()).raw.pendingActivities ?? []).find((a) => a.activityType?.name === 'prepareCalculation');
        lastFailure = prepare?.lastFailure?.message ?? '';
        return (prepare?.attempt ?? 0) >= 2 && lastFailure.includes(disk);
      });
      expect(lastFailure).toMatch(/SFTP status 4 \(Failure; the server names no errno: a full disk/);
      rmSync(filler);

      const result = await calculationResult(handle);
      expect(result.ok).toBe(true);
      expect(result.remoteFolder.path.startsWith(`${disk}/`)).toBe(true);
      expect(jobsNamed(jobNameFor(handle.workflowId, 'pw', 1)).ids).toHaveLength(1);
    } finally {
      spawnSync('umount', ['-l', disk]);
    }
  });

  it('a job past its --time: TIMEOUT reaches the workflow as a typed failure (the parser’s 400)', async () => {
    const err = await walltime!.result.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CalculationFailedError);
    const failed = (err as CalculationFailedError).result;
    expect(failed.attempts).toHaveLength(1);
    expect(failed.attempts[0]!.job).toMatchObject({ state: 'timeout', schedulerState: 'TIMEOUT' });
    expect(failed.exitCode).toBe(400);
    expect(failed.exitName).toBe('ERROR_OUT_OF_WALLTIME');
    const name = jobNameFor(walltime!.workflowId, 'pw', 1);
    const jobs = jobsNamed(name);
    expect(jobs.ids).toHaveLength(1);
    expect(scontrolJob(jobs.ids[0]!)).toMatchObject({ JobState: 'TIMEOUT', TimeLimit: '00:01:00' });
    console.log(`walltime test: the workflow ended ${Math.round((Date.now() - walltime!.started) / 1000)} s after it started`);
    recordHistory('calculation-slurm-walltime-timeout.json', await env.client.workflow.getHandle(walltime!.workflowId).fetchHistory(), walltime!.workflowId);
  });

  // Last: the urgent job needs every core, so it would preempt any other test's running job too.
  it('a job preempted by a higher-priority partition: resubmitted unchanged, the calculation completes', async () => {
    const handle = await startCalculation(env.client, scf(on('local-slurm-slow'), { analysis: 'preempted' }), { taskQueue: settings.taskQueue });
    const first = jobNameFor(handle.workflowId, 'pw', 1);
    await waitUntil('the job to run', () => jobsNamed(first).ids.some((id) => scontrolJob(id).JobState === 'RUNNING'));
    // A job in the "urgent" partition (higher PriorityTier) that needs every core: SLURM cancels ours for it.
    const cores = cluster.profile.partitions[0]!.coresPerNode;
    const urgent = slurmCommand(['sbatch', '--parsable', '-p', 'urgent', '-n', String(cores), '-J', `urgent-${handle.workflowId}`, '-o', '/dev/null', '--wrap', 'sleep 2']);
    expect(urgent.code, urgent.stderr).toBe(0);
    const result = await calculationResult(handle);
    expect(result.ok).toBe(true);
    expect(result.attempts).toHaveLength(2);
    expect(result.attempts[0]!.job).toMatchObject({ state: 'lost', schedulerState: 'PREEMPTED' });
    expect(result.attempts[0]!.decision).toMatchObject({ action: 'restart', handler: 'adaptive_resubmit_lost_job', changes: {} });
    expect(result.attempts[1]!.job.state).toBe('completed');
    expect(scontrolJob(jobsNamed(first).ids[0]!).JobState).toBe('PREEMPTED');
    expect(jobsNamed(jobNameFor(handle.workflowId, 'pw', 2)).ids).toHaveLength(1);
    const history = await handle.fetchHistory();
    // The new behaviour is behind its patch (older histories of a lost job replay their old ending).
    expect(patchIds(history)).toContain(PATCHES.resubmitLostJobs);
    recordHistory('calculation-slurm-preempted-resubmitted.json', history, handle.workflowId);
  });
});
