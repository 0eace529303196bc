/**
 * The local executor: runs a code as a detached process group on the worker's machine.
 *
 * The process is started through a small wrapper script that records its own pid first and its exit status
 * last, inside the work directory. So the job does not depend on the worker that started it: a worker that
 * crashes and comes back (or another worker) adopts the running job from those files instead of starting a
 * second one, and finds the exit status of a job that ended while no worker was watching.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Context } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import type { JobHandle, JobOutcome, JobSpec } from '../../domain/jobs.ts';
import { shellJoin, shellQuote } from '../../domain/shell.ts';
import { alive, killGroup, sleep } from '../../process.ts';

const META = '.crystalmath';
const files = (workDir: string) => ({
  meta: join(workDir, META),
  started: join(workDir, META, 'started'),
  pid: join(workDir, META, 'pid'),
  exit: join(workDir, META, 'exit_status'),
  cancelled: join(workDir, META, 'cancelled'),
  script: join(workDir, META, 'run.sh'),
});

/** GNU timeout's statuses: 124 when it sent TERM at the limit, 137 when it had to KILL. */
const TIMEOUT_STATUSES = new Set([124, 137]);
/** Seconds between TERM and KILL at the walltime: pw.x gets time to write its restart files. */
const KILL_AFTER_SECONDS = 30;
/** How long a start waits for a wrapper to claim the job (write its pid). */
const CLAIM_WAIT_MS = 5000;

/**
 * The wrapper. Its first act is the claim: it creates the pid file exclusively (`set -C`: O_EXCL), and a wrapper
 * that cannot (another one claimed the job) exits before running anything. So the code runs at most once per
 * work directory, however many wrappers starts have spawned. A job cancelled before any wrapper claimed it
 * does not run either.
 */
export function wrapperScript(spec: JobSpec, environment: Record<string, string> = {}): string {
  const f = files(spec.workDir);
  const limit = spec.resources.walltimeSeconds;
  const launcher = spec.resources.mpiRanks > 1 ? ['mpirun', '-np', String(spec.resources.mpiRanks)] : [];
  return [
    '#!/bin/sh',
    `# ${spec.jobName}: written by CrystalMath's local executor`,
    'set -C',
    `{ echo $$ > ${shellQuote(f.pid)}; } 2>/dev/null || exit 0`,
    'set +C',
    `[ -e ${shellQuote(f.cancelled)} ] && exit 0`,
    `cd ${shellQuote(spec.workDir)} || exit 97`,
    'export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"',
    // The profile's and the executable's `environment` (names were validated by the profile schema).
    ...Object.entries(environment)
      .filter(([k]) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(k))
      .map(([k, v]) => `export ${k}=${shellQuote(v)}`),
    `timeout -s TERM -k ${KILL_AFTER_SECONDS} ${limit} ${shellJoin([...launcher, ...spec.command])} < /dev/null > ${shellQuote(spec.stdoutFile)} 2> ${shellQuote(spec.stderrFile)}`,
    'status=$?',
    `echo $status > ${shellQuote(f.exit)}.part && mv ${shellQuote(f.exit)}.part ${shellQuote(f.exit)}`,
    '',
  ].join('\n');
}

/** True once a job was started in this work directory: its files are the job's, not to be rewritten. */
export const hasLocalJob = (workDir: string): boolean => existsSync(files(workDir).started);

/**
 * Starts the job unless this work directory already has one (running or finished): then adopts it.
 *
 * Exactly once: the wrapper's claim (above) makes a second run impossible, so a start that finds no claimed job
 * may always spawn a wrapper, and then adopts whichever wrapper claimed it (its own, or an earlier start's that
 * was slow to run). A start cut short anywhere (worker killed after the `started` marker and before the spawn,
 * or a wrapper that died before its claim) is therefore simply started again by the retry; it used to be a
 * permanent JobStartLost. The retry first waits CLAIM_WAIT_MS for an earlier start's wrapper to claim: wrappers
 * written before the claim existed write their pid unconditionally, and must have done so by then.
 */
export async function startLocalJob(spec: JobSpec, environment: Record<string, string> = {}): Promise<JobHandle> {
  const f = files(spec.workDir);
  await mkdir(f.meta, { recursive: true });
  const handle = (pid: number): JobHandle => ({ executor: 'local', jobName: spec.jobName, ...(spec.step ? { step: spec.step } : {}), workDir: spec.workDir, jobId: String(pid) });

  const claimed = await waitForPidFile(f.pid, existsSync(f.started) ? CLAIM_WAIT_MS : 0);
  if (claimed !== undefined) return handle(claimed);
  // By rename: a slow wrapper of an earlier start may be reading the script (sh reads it as it runs).
  const part = `${f.script}.part-${randomBytes(4).toString('hex')}`;
  await writeFile(part, wrapperScript(spec, environment), { mode: 0o755 });
  await rename(part, f.script);
  // The marker says a job was started here (prepare leaves such a directory alone); the first start's stays.
  await writeFile(f.started, `${spec.jobName}\n`, { flag: 'wx' }).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== 'EEXIST') throw e;
  });
  let spawnError: Error | undefined;
  const child = spawn('/bin/sh', [f.script], { cwd: spec.workDir, detached: true, stdio: 'ignore' });
  child.once('error', (e) => (spawnError = e));
  child.unref();
  const pid = await waitForPidFile(f.pid, CLAIM_WAIT_MS);
  if (pid !== undefined) return handle(pid);
  // Retryable: a start again is safe (see above), and a loaded machine may just have been slow.
  throw ApplicationFailure.retryable(`job ${spec.jobName} did not start within ${CLAIM_WAIT_MS / 1000} s (${spawnError?.message ?? `no pid in ${f.pid}; see ${f.script}`})`, 'JobStartFailed');
}

/**
 * Watches a job until it ends, inside an activity: heartbeats every look (a dead worker is noticed within the
 * heartbeat timeout, and the retry adopts the same process). Only a cancellation the workflow asked for stops
 * the job: a worker shutting down, an attempt that timed out or a paused activity leave it running for the next
 * attempt to adopt.
 */
export async function watchLocalJob(h: JobHandle, pollMs: number): Promise<JobOutcome> {
  const ctx = Context.current();
  for (;;) {
    const outcome = await checkLocalJob(h);
    if (outcome) return outcome;
    ctx.heartbeat({ jobId: h.jobId });
    try {
      await Promise.race([sleep(pollMs), ctx.cancelled]);
    } catch (e) {
      if (e instanceof CancelledFailure && ctx.cancellationDetails?.cancelRequested) await cancelLocalJob(h);
      throw e;
    }
  }
}

/** One look at the job: its outcome when it has ended, otherwise undefined. */
export async function checkLocalJob(h: JobHandle): Promise<JobOutcome | undefined> {
  const f = files(h.workDir);
  const status = await readInt(f.exit);
  if (status === undefined) {
    if (alive(Number(h.jobId))) return undefined;
    // It may have written the status between our two looks.
    const again = await readInt(f.exit);
    if (again === undefined) return { state: existsSync(f.cancelled) ? 'cancelled' : 'lost', wallSeconds: await elapsed(f) };
    return outcomeOf(f, again);
  }
  return outcomeOf(f, status);
}

async function outcomeOf(f: ReturnType<typeof files>, status: number): Promise<JobOutcome> {
  const wallSeconds = await elapsed(f);
  if (existsSync(f.cancelled)) return { state: 'cancelled', exitStatus: status, wallSeconds };
  if (TIMEOUT_STATUSES.has(status)) return { state: 'timeout', exitStatus: status, wallSeconds };
  return { state: status === 0 ? 'completed' : 'failed', exitStatus: status, wallSeconds };
}

/**
 * Stops the job's whole process group (the wrapper, timeout, mpirun, the code). Idempotent. A handle without a
 * pid (the start never reported one) stops the job its work directory records, and keeps one that has not been
 * claimed yet from running.
 */
export async function cancelLocalJob(h: JobHandle): Promise<void> {
  const f = files(h.workDir);
  await mkdir(f.meta, { recursive: true });
  await writeFile(`${f.cancelled}.part`, new Date().toISOString());
  await rename(`${f.cancelled}.part`, f.cancelled);
  const pid = Number(h.jobId) || (await readInt(f.pid));
  // Ended (its pid may belong to another process by now), or never claimed (the marker keeps it from running).
  if (!pid || pid <= 1 || existsSync(f.exit)) return;
  for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
    if (!killGroup(pid, signal)) return;
    for (let i = 0; i < 50 && alive(pid); i++) await sleep(100);
    if (!alive(pid)) return;
  }
}

async function waitForPidFile(path: string, timeoutMs: number): Promise<number | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const pid = await readInt(path);
    if (pid !== undefined) return pid;
    if (Date.now() >= deadline) return undefined;
    await sleep(20);
  }
}

async function readInt(path: string): Promise<number | undefined> {
  try {
    const n = Number.parseInt((await readFile(path, 'utf8')).trim(), 10);
    return Number.isFinite(n) ? n : undefined;
  } catch {
    return undefined;
  }
}

async function elapsed(f: ReturnType<typeof files>): Promise<number | undefined> {
  try {
    const start = (await stat(f.pid)).mtimeMs; // the claim: when the code started
    const end = existsSync(f.exit) ? (await stat(f.exit)).mtimeMs : Date.now();
    return Math.round((end - start) / 10) / 100;
  } catch {
    return undefined;
  }
}

