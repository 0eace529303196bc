/**
 * Job activities, one set for every executor: start (idempotent), wait / check, cancel. The executor is
 * chosen from the spec or handle, so workflows never name one.
 *
 * - local: `startJob` spawns the job's process group; `waitForJob` watches it, heartbeating (the worker on
 *   this machine must stay with its jobs, and a heartbeat timeout notices a dead worker in seconds).
 * - slurm: `startJob` submits idempotently (see scheduler/slurm.ts); `checkJob` looks once through the
 *   cluster's status cache and throws a retryable `JobStillRunning` while the job is unfinished: the
 *   workflow's retry policy is the poll loop (see src/workflows/cluster-jobs.ts for why).
 */
import { log } from '@temporalio/activity';
import { ApplicationFailure, ApplicationFailureCategory } from '@temporalio/common';
import { LOCAL_CLUSTER, type JobHandle, type JobOutcome, type JobSpec } from '../domain/jobs.ts';
import { cancelLocalJob, checkLocalJob, startLocalJob, watchLocalJob } from './executor/local.ts';
import { activityProfile, type ProfileSource } from './scheduler/profiles.ts';
import { cancelSlurmJob, checkSlurmJob, submitSlurmJob } from './scheduler/slurm.ts';
import { keepAlive } from './scheduler/heartbeat.ts';

export interface WaitOptions {
  /** Seconds between two looks at the job. */
  pollSeconds?: number;
}

function clusterOfHandle(h: { cluster?: string; jobName: string }): string {
  if (!h.cluster) throw ApplicationFailure.nonRetryable(`SLURM job ${h.jobName} names no cluster`, 'InvalidJobHandle');
  return h.cluster;
}

function ended(handle: JobHandle, outcome: JobOutcome): JobOutcome {
  const how = `${outcome.state}${outcome.exitStatus !== undefined ? `, exit status ${outcome.exitStatus}` : ''}${outcome.message ? `: ${outcome.message}` : ''}`;
  log.info(`job ${handle.jobName} ended: ${how}`, { jobId: handle.jobId, jobState: outcome.state, wallSeconds: outcome.wallSeconds });
  return outcome;
}

/** A local job's environment, read from the local profile now (values never travel through the workflow). */
function localJobEnvironment(spec: JobSpec, profiles: ProfileSource): Record<string, string> {
  if (spec.environment) return spec.environment; // a spec recorded before 0.3.0
  if (!spec.executableId) return {};
  const profile = activityProfile(LOCAL_CLUSTER, profiles);
  return { ...profile.environment, ...profile.executables[spec.executableId]?.environment };
}

export function jobActivities(deps: { profiles: ProfileSource; hostTaskQueue?: string }) {
  return {
    /**
     * The task queue of this worker's host, where a workflow sends everything about its local jobs; null when the
     * worker serves none (one built by hand on a single host: the workflow's own queue is then that host's).
     */
    async localHostTaskQueue(): Promise<string | null> {
      return deps.hostTaskQueue ?? null;
    },

    /**
     * Starts the job, or adopts the one an earlier attempt started. `executor` is kept for calls scheduled by
     * earlier workflow code (`startJob(spec, 'local')`); the spec's own `executor` wins.
     */
    async startJob(spec: JobSpec, executor: JobHandle['executor'] = 'local'): Promise<JobHandle> {
      const kind = spec.executor ?? executor;
      let handle: JobHandle;
      if (kind === 'local') handle = await keepAlive(() => startLocalJob(spec, localJobEnvironment(spec, deps.profiles)));
      else if (kind === 'slurm') {
        const profile = activityProfile(clusterOfHandle(spec), deps.profiles);
        handle = await keepAlive(() => submitSlurmJob(spec, profile));
      } else throw ApplicationFailure.nonRetryable(`executor "${String(kind)}" is not supported`, 'NotSupported');
      log.info(`job ${handle.jobName} running as ${kind === 'slurm' ? 'SLURM job' : 'process group'} ${handle.jobId}`, { jobId: handle.jobId, executor: kind });
      return handle;
    },

    /**
     * Watches a local job until it ends, heartbeating so a dead worker is noticed within the heartbeat timeout
     * and the retry (on any worker of this machine) adopts the same process. Cancellation stops the job.
     */
    async waitForJob(handle: JobHandle, opts: WaitOptions = {}): Promise<JobOutcome> {
      return ended(handle, await watchLocalJob(handle, Math.max(50, (opts.pollSeconds ?? 0.5) * 1000)));
    },

    /**
     * One look at the job: its outcome when it has ended, else a retryable (benign) `JobStillRunning` failure.
     * Holds no worker slot between looks; SLURM looks share one squeue per cluster and poll interval.
     */
    async checkJob(handle: JobHandle): Promise<JobOutcome> {
      if (handle.executor === 'slurm') return ended(handle, await checkSlurmJob(handle, activityProfile(clusterOfHandle(handle), deps.profiles)));
      const outcome = await checkLocalJob(handle);
      if (outcome) return ended(handle, outcome);
      throw ApplicationFailure.create({ message: `job ${handle.jobId} is running`, type: 'JobStillRunning', category: ApplicationFailureCategory.BENIGN });
    },

    /** Stops the job (idempotent). A SLURM handle without a job id cancels by job name. */
    async cancelJob(handle: JobHandle): Promise<void> {
      log.info(`cancelling job ${handle.jobName} (${handle.jobId || 'by name'})`, { jobId: handle.jobId });
      if (handle.executor === 'slurm') {
        const profile = activityProfile(clusterOfHandle(handle), deps.profiles);
        return keepAlive(() => cancelSlurmJob(handle, profile));
      }
      await cancelLocalJob(handle);
    },
  };
}
