/**
 * The local executor's start is exactly-once and recoverable (issue 22.8 c), its watcher stops a job only when
 * the workflow asks (not when a worker shuts down), and dos.x / projwfc.x run through it (issue 22.8 b), so a
 * retried post-processing step adopts the tool instead of starting it twice in the same directory. Real
 * processes throughout; each job counts its runs in a file of its work directory.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ActivityCancellationDetails, CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { analysisActivities } from '../../src/activities/analysis.ts';
import { LocalArtifactStore } from '../../src/activities/artifacts.ts';
import { cancelLocalJob, checkLocalJob, startLocalJob } from '../../src/activities/executor/local.ts';
import { jobActivities } from '../../src/activities/jobs.ts';
import { jobDirParts, type JobHandle, type JobOutcome, type JobSpec } from '../../src/domain/jobs.ts';
import { alive, killGroup, sleep } from '../../src/process.ts';

const root = mkdtempSync(join(tmpdir(), 'crystalmath-local-executor-'));
const started: JobHandle[] = [];
afterAll(() => {
  for (const h of started) if (alive(Number(h.jobId))) killGroup(Number(h.jobId), 'SIGKILL');
  rmSync(root, { recursive: true, force: true });
});

let n = 0;
/** A job that appends a line to `runs` in its work directory, then sleeps `seconds`. */
function countingJob(seconds = 0): JobSpec {
  const workDir = join(root, `job-${++n}`);
  mkdirSync(workDir, { recursive: true });
  return {
    jobName: `cm-test-${n}`,
    workDir,
    command: ['sh', '-c', `echo ran >> runs; sleep ${seconds}`],
    stdoutFile: 'out',
    stderrFile: 'err',
    resources: { walltimeSeconds: 60, mpiRanks: 1 },
  };
}
const runs = (spec: JobSpec) => (existsSync(join(spec.workDir, 'runs')) ? readFileSync(join(spec.workDir, 'runs'), 'utf8').split('\n').filter(Boolean).length : 0);
async function outcome(h: JobHandle): Promise<JobOutcome> {
  started.push(h);
  for (let i = 0; i < 600; i++) {
    const o = await checkLocalJob(h);
    if (o) return o;
    await sleep(50);
  }
  throw new Error(`job ${h.jobName} did not end`);
}

describe('local executor: a start is exactly-once and recoverable', () => {
  it('a start cut short after its marker (worker killed before the spawn) starts again, once', async () => {
    const spec = countingJob();
    // What a worker killed between the `started` marker and the spawn leaves: the marker, nothing else.
    mkdirSync(join(spec.workDir, '.crystalmath'));
    writeFileSync(join(spec.workDir, '.crystalmath', 'started'), `${spec.jobName}\n`);
    const h = await startLocalJob(spec);
    expect(await outcome(h)).toMatchObject({ state: 'completed', exitStatus: 0 });
    expect(runs(spec)).toBe(1);
  });

  it('a second wrapper (an earlier start that was slow to run) and concurrent retries run the code once', async () => {
    const spec = countingJob(1);
    const handles = await Promise.all([startLocalJob(spec), startLocalJob(spec), startLocalJob(spec)]);
    expect(new Set(handles.map((h) => h.jobId)).size).toBe(1);
    // The wrapper run once more by hand, as a start whose spawn lagged behind the others would: it exits at its claim.
    const late = spawnSync('/bin/sh', [join(spec.workDir, '.crystalmath', 'run.sh')], { encoding: 'utf8' });
    expect(late.status).toBe(0);
    expect(await outcome(handles[0]!)).toMatchObject({ state: 'completed' });
    expect(runs(spec)).toBe(1);
    // And a start after the end adopts the finished job.
    expect((await startLocalJob(spec)).jobId).toBe(handles[0]!.jobId);
    expect(runs(spec)).toBe(1);
  });

  it('a job cancelled before any wrapper claimed it never runs, and ends cancelled', async () => {
    const spec = countingJob();
    await cancelLocalJob({ executor: 'local', jobName: spec.jobName, workDir: spec.workDir, jobId: '' });
    const h = await startLocalJob(spec);
    expect(await outcome(h)).toMatchObject({ state: 'cancelled' });
    expect(runs(spec)).toBe(0);
  });

  it('cancelling by work directory (no pid known) stops a running job', async () => {
    const spec = countingJob(30);
    const h = await startLocalJob(spec);
    started.push(h);
    await cancelLocalJob({ ...h, jobId: '' });
    expect(alive(Number(h.jobId))).toBe(false);
    expect(await outcome(h)).toMatchObject({ state: 'cancelled' });
  });
});

describe('local executor: watching a job', () => {
  const jobs = jobActivities({ profiles: { dirs: [], localWorkDir: root } });

  it('a worker shutting down leaves the job running for the next attempt to adopt; a cancel the workflow asked for stops it', async () => {
    const spec = countingJob(30);
    const h = await startLocalJob(spec);
    started.push(h);

    const shuttingDown = new MockActivityEnvironment();
    const watched = shuttingDown.run(jobs.waitForJob, h, { pollSeconds: 0.05 });
    await sleep(200);
    shuttingDown.cancel('WORKER_SHUTDOWN', new ActivityCancellationDetails({ workerShutdown: true }));
    await expect(watched).rejects.toBeInstanceOf(CancelledFailure);
    expect(alive(Number(h.jobId))).toBe(true);

    const cancelled = new MockActivityEnvironment();
    const again = cancelled.run(jobs.waitForJob, h, { pollSeconds: 0.05 });
    await sleep(200);
    cancelled.cancel(); // CANCELLED, cancelRequested: the workflow's request
    await expect(again).rejects.toBeInstanceOf(CancelledFailure);
    expect(alive(Number(h.jobId))).toBe(false);
    expect(await checkLocalJob(h)).toMatchObject({ state: 'cancelled' });
    expect(runs(spec)).toBe(1);
  });
});

describe('dos.x / projwfc.x through the local executor', () => {
  it('a retried post-processing step adopts the running tool: one run in its directory', async () => {
    // A stand-in named dos.x (the activity runs the program by name): counts its runs, takes a second.
    const bin = join(root, 'stand-in-dos.x-that-counts-its-runs');
    mkdirSync(bin);
    writeFileSync(join(bin, 'dos.x'), '#!/bin/sh\necho run >> dos-runs\nsleep 1\necho "     JOB DONE."\n');
    chmodSync(join(bin, 'dos.x'), 0o755);
    const path = process.env.PATH;
    process.env.PATH = `${bin}:${path}`;
    try {
      const workRoot = join(root, 'post');
      const activities = analysisActivities({ store: new LocalArtifactStore(join(root, 'artifacts')), workRoot, profiles: { dirs: [], localWorkDir: workRoot } });
      const req = { kind: 'dos' as const, parentWorkDir: join(root, 'nscf'), workflowId: 'wf-post', step: 'dos' };
      // Two attempts at once: the first attempt's worker still running it when the retry starts.
      const attempt = () => new MockActivityEnvironment().run(activities.runPostprocess, req) as Promise<{ workDir: string }>;
      const [a, b] = await Promise.all([attempt(), attempt()]);
      expect(a.workDir).toBe(join(workRoot, ...jobDirParts('wf-post', 'dos', 1)));
      expect(b.workDir).toBe(a.workDir);
      expect(readFileSync(join(a.workDir, 'dos-runs'), 'utf8')).toBe('run\n');
      // A retry after it finished returns at once, without a run.
      await attempt();
      expect(readFileSync(join(a.workDir, 'dos-runs'), 'utf8')).toBe('run\n');
    } finally {
      process.env.PATH = path;
    }
  });
});
