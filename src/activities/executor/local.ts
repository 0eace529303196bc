/**
 * The local executor: runs a code as a detached process group on the worker's machine.
 *
 * The process is started through a small wrapper script that records its own pid first and its exit status
 * last, inside the work directory. So the job does not depend on the worker that started it: a worker that
 * crashes and comes back (or another worker) adopts the running job from those files instead of starting a
 * second one, and finds the exit status of a job that ended while no worker was watching.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, open, readFile, stat, writeFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
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

export function wrapperScript(spec: JobSpec, environment: Record<string, string> = {}): string {
  const f = files(spec.workDir);
  const limit = spec.resources.walltimeSeconds;
  const launcher = spec.resources.mpiRanks > 1 ? ['mpirun', '-np', String(spec.resources.mpiRanks)] : [];
  return [
    '#!/bin/sh',
    `# ${spec.jobName}: written by CrystalMath's local executor`,
    `echo $$ > ${shellQuote(f.pid)}`,
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

/** Starts the job unless this work directory already has one (started, running or finished): then adopts it. */
export async function startLocalJob(spec: JobSpec, environment: Record<string, string> = {}): Promise<JobHandle> {
  const f = files(spec.workDir);
  await mkdir(f.meta, { recursive: true });
  const handle = (pid: number): JobHandle => ({ executor: 'local', jobName: spec.jobName, ...(spec.step ? { step: spec.step } : {}), workDir: spec.workDir, jobId: String(pid) });

  // The `started` marker is created exclusively: exactly one start ever passes this point per work dir.
  let marker;
  try {
    marker = await open(f.started, 'wx');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    const pid = await waitForPidFile(f.pid);
    if (pid !== undefined) return handle(pid);
    // Started marker without a pid after waiting: the earlier start died before the wrapper ran. Nothing runs.
    throw ApplicationFailure.nonRetryable(`job ${spec.jobName} was started before but never ran (no pid in ${f.pid}); remove ${f.started} to allow a new start`, 'JobStartLost');
  }
  await marker.writeFile(`${spec.jobName}\n`);
  await marker.close();
  await writeFile(f.script, wrapperScript(spec, environment), { mode: 0o755 });
  const child = spawn('/bin/sh', [f.script], { cwd: spec.workDir, detached: true, stdio: 'ignore' });
  child.unref();
  const pid = await waitForPidFile(f.pid);
  if (pid === undefined) throw ApplicationFailure.nonRetryable(`job ${spec.jobName} did not start (see ${f.script})`, 'JobStartFailed');
  return handle(pid);
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

/** Stops the job's whole process group (the wrapper, timeout, mpirun, the code). Idempotent. */
export async function cancelLocalJob(h: JobHandle): Promise<void> {
  const f = files(h.workDir);
  await writeFile(`${f.cancelled}.part`, new Date().toISOString());
  await rename(`${f.cancelled}.part`, f.cancelled);
  const pid = Number(h.jobId);
  for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
    if (!killGroup(pid, signal)) return;
    for (let i = 0; i < 50 && alive(pid); i++) await sleep(100);
    if (!alive(pid)) return;
  }
}

async function waitForPidFile(path: string, timeoutMs = 5000): Promise<number | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const pid = await readInt(path);
    if (pid !== undefined) return pid;
    if (Date.now() > deadline) return undefined;
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
    const start = (await stat(f.started)).mtimeMs;
    const end = existsSync(f.exit) ? (await stat(f.exit)).mtimeMs : Date.now();
    return Math.round((end - start) / 10) / 100;
  } catch {
    return undefined;
  }
}

