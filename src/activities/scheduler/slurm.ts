/**
 * The SLURM executor: submit (idempotent), look at a job once (through the status cache), cancel. Every
 * command goes through the cluster's Transport: SSH from a central worker, or the local machine for a worker
 * on the cluster's login node.
 *
 * Idempotent submit: the job name carries workflow id, step and attempt (`jobNameFor`). One script, run on the
 * cluster under a lock on the work directory, looks for the job before calling sbatch:
 *   1. `.crystalmath/sbatch_job_id` (sbatch's answer, recorded by an earlier submit),
 *   2. `.crystalmath/slurm_job_id` (written by the batch script itself as its first command: any job that ever
 *      started is found here, for as long as the work directory exists),
 *   3. `squeue --me --states=all --name=<job name>`: closes the window where sbatch accepted the job but it has
 *      not started yet (and sees finished jobs for MinJobAge),
 * and only then calls `sbatch --parsable`. The submit activity then records sbatch's answer in (1). So a worker
 * that dies between sbatch and recording the id (or an SSH session cut in that instant) never yields a
 * second job: the retry finds the first one.
 */
import { ApplicationFailure, ApplicationFailureCategory } from '@temporalio/common';
import { unreachableTimeoutSeconds, type ClusterProfile } from '../../domain/cluster-profile.ts';
import type { JobHandle, JobOutcome, JobSpec } from '../../domain/jobs.ts';
import { isPermanentSbatchError, isTerminalSlurmState, outcomeOfSlurmState, parseSubmitAnswer, SLURM_FILES, submitScript } from '../../domain/slurm.ts';
import { transportFor, TransportFileError, type Transport } from '../transport/index.ts';
import { statusCacheFor } from './status-cache.ts';

const SUBMIT_TIMEOUT_MS = 120_000;
const COMMAND_TIMEOUT_MS = 60_000;

const inWorkDir = (workDir: string, rel: string) => `${workDir.replace(/\/+$/, '')}/${rel}`;

export async function submitSlurmJob(spec: JobSpec, profile: ClusterProfile): Promise<JobHandle> {
  const t = transportFor(profile);
  const r = await t.exec({ script: submitScript(spec.workDir, spec.jobName) }, { timeoutMs: SUBMIT_TIMEOUT_MS });
  const stderr = r.stderr.trim();
  if (r.code === 90) {
    throw ApplicationFailure.nonRetryable(`cannot submit ${spec.jobName} on ${profile.name}: work directory ${spec.workDir} is missing (${stderr})`, 'WorkDirMissing');
  }
  if (r.code === 93) {
    const message = `sbatch refused ${spec.jobName} on ${profile.name}: ${stderr || `exit status ${r.code}`}`;
    if (isPermanentSbatchError(stderr)) throw ApplicationFailure.nonRetryable(message, 'SubmitRejected');
    throw ApplicationFailure.retryable(message, 'SchedulerUnavailable');
  }
  if (r.code !== 0) {
    const what = r.code === 91 ? 'the submit lock is held by another submit' : r.code === 92 ? 'squeue failed' : `exit status ${r.code}`;
    throw ApplicationFailure.retryable(`submitting ${spec.jobName} on ${profile.name}: ${what}${stderr ? `: ${stderr}` : ''}`, 'SchedulerUnavailable');
  }
  const answer = parseSubmitAnswer(r.stdout);
  if (!answer) throw ApplicationFailure.retryable(`submitting ${spec.jobName} on ${profile.name}: unexpected answer ${JSON.stringify(r.stdout.slice(-200))}`, 'SchedulerUnavailable');

  if (answer.kind === 'submitted' && process.env.CRYSTALMATH_TEST_CRASH_AFTER_SBATCH === '1') {
    // TEST-ONLY hook (test/integration/fault.test.ts): with this variable set, the worker process dies right
    // after sbatch accepted the job and before its id is recorded anywhere (the marker file below, the
    // activity's result), to prove the retried submit finds the job instead of submitting a second one.
    // Nothing else sets this variable; never set it in production.
    process.kill(process.pid, 'SIGKILL');
  }
  if (answer.where !== SLURM_FILES.sbatchJobId) {
    await t.writeFile(inWorkDir(spec.workDir, SLURM_FILES.sbatchJobId), `${answer.jobId}\n`);
  }
  return {
    executor: 'slurm',
    cluster: profile.name,
    jobName: spec.jobName,
    ...(spec.step ? { step: spec.step } : {}),
    workDir: spec.workDir,
    jobId: answer.jobId,
    pollIntervalSeconds: profile.pollIntervalSeconds,
    unreachableTimeoutSeconds: unreachableTimeoutSeconds(profile),
  };
}

/**
 * One look at a job (no loop, no sleeping): its outcome when it has ended; otherwise a retryable, BENIGN
 * `JobStillRunning` failure (logged at debug level only), which the workflow's retry policy turns into the
 * next look one poll interval later. The state comes from the cluster's status cache (one squeue per interval
 * for every waiting job of the cluster).
 */
export async function checkSlurmJob(handle: JobHandle, profile: ClusterProfile): Promise<JobOutcome> {
  const t = transportFor(profile);
  const status = await statusCacheFor(profile.name, t, profile.pollIntervalSeconds, unreachableTimeoutSeconds(profile)).status(handle.jobId);
  if (!status.known) {
    // Purged after MinJobAge (or the controller lost its state): the job's own marker is all there is.
    const marker = await readExitMarker(t, handle.workDir);
    if (marker === undefined) {
      return { state: 'lost', schedulerState: 'UNKNOWN', message: `SLURM no longer knows job ${handle.jobId} and it left no exit status in ${handle.workDir}` };
    }
    return { state: marker === 0 ? 'completed' : 'failed', exitStatus: marker, schedulerState: 'UNKNOWN', message: `SLURM no longer knows job ${handle.jobId}; exit status from its work directory` };
  }
  if (!isTerminalSlurmState(status.state)) {
    throw ApplicationFailure.create({
      message: `job ${handle.jobId} (${handle.jobName}) on ${profile.name} is ${status.state}${status.reason && status.reason !== 'None' ? ` (${status.reason})` : ''}`,
      type: 'JobStillRunning',
      nonRetryable: false,
      category: ApplicationFailureCategory.BENIGN,
      details: [{ jobId: handle.jobId, state: status.state, reason: status.reason }],
    });
  }
  const marker = await readExitMarker(t, handle.workDir);
  return outcomeOfSlurmState({
    state: status.state,
    reason: status.reason,
    ...(status.exitCode ? { exitCode: status.exitCode } : {}),
    ...(status.runSeconds !== undefined ? { runSeconds: status.runSeconds } : {}),
    ...(marker !== undefined ? { markerExitStatus: marker } : {}),
  });
}

/** `scancel` the job (by id, or by name when the id was never learned). Idempotent: a finished job is fine. */
export async function cancelSlurmJob(handle: Pick<JobHandle, 'jobId' | 'jobName'>, profile: ClusterProfile): Promise<void> {
  const t = transportFor(profile);
  const argv = handle.jobId ? ['scancel', handle.jobId] : ['scancel', '--me', `--name=${handle.jobName}`];
  const r = await t.exec(argv, { timeoutMs: COMMAND_TIMEOUT_MS });
  if (r.code === 0 || /invalid job id|already completing or completed|has already finished/i.test(r.stderr)) return;
  throw ApplicationFailure.retryable(`scancel ${handle.jobId || handle.jobName} on ${profile.name} failed (exit ${r.code}): ${r.stderr.trim()}`, 'SchedulerUnavailable');
}

/** The code's exit status the batch script wrote last, if it got there. */
export async function readExitMarker(t: Transport, workDir: string): Promise<number | undefined> {
  try {
    const n = Number.parseInt((await t.readFile(inWorkDir(workDir, SLURM_FILES.exitStatus), 'utf8')).trim(), 10);
    return Number.isFinite(n) ? n : undefined;
  } catch (e) {
    if (e instanceof TransportFileError && e.code === 'ENOENT') return undefined;
    throw e;
  }
}
