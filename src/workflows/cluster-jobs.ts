/**
 * Jobs on a SLURM cluster, seen from a workflow: the activities on the cluster's task queue, the wait (the
 * retry policy is the poll loop) and the whole submit → wait → cancel-on-cancellation sequence, shared by
 * pw.x calculations and the post-processing tools.
 */
import { ActivityFailure, CancellationScope, isCancellation, proxyActivities, TimeoutFailure } from '@temporalio/workflow';
import type { Activities } from '../activities/index.ts';
import type { JobHandle, JobOutcome, JobSpec, Resources } from '../domain/jobs.ts';
import { checkJobRetry, QUEUE_ALLOWANCE_SECONDS } from '../domain/slurm.ts';

/**
 * Activities on a cluster's task queue: staging, submit, parse and cancel over the cluster's transport. They
 * heartbeat, so a worker that dies mid-call is replaced within the heartbeat timeout. Infrastructure errors
 * (SSH down, slurmctld restarting) are retryable and retried for up to a day; permanent ones (bad host key,
 * bad profile, rejected job) are non-retryable and end the calculation with the message.
 */
export function clusterActivities(taskQueue: string) {
  return proxyActivities<Activities>({
    taskQueue,
    startToCloseTimeout: '10 minutes',
    heartbeatTimeout: '10 seconds',
    scheduleToCloseTimeout: '1 day',
    retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1 minute' },
  });
}

/**
 * Waiting for a SLURM job: the `checkJob` activity looks ONCE (through the worker's per-cluster status cache:
 * one squeue per poll interval for all waiting jobs of the cluster) and throws a retryable `JobStillRunning`
 * while the job is unfinished; this retry policy is the poll loop. Why this and not the other patterns:
 * - a heartbeating activity that sleeps in a loop (the local executor's `waitForJob`) holds a worker slot per
 *   waiting job for days: 1,000 queued jobs would need 1,000 slots;
 * - a workflow timer loop (sleep, then a short activity) costs ~6 history events per poll: a day-long job
 *   polled every 30 s would write ~17,000 events, past Temporal's history warning;
 * - a retried activity adds NO history events per attempt (only the final attempt is recorded), holds no
 *   slot between attempts, and Temporal's server keeps the timers. The interval starts at the profile's
 *   `pollIntervalSeconds` and grows mildly for long jobs (`checkJobRetry`); attempts are unlimited and
 *   scheduleToClose is the walltime plus a day in the queue, after which the loop below simply looks again.
 */
export async function waitOnCluster(handle: JobHandle, resources: Resources, taskQueue: string): Promise<JobOutcome> {
  const policy = checkJobRetry(handle.pollIntervalSeconds ?? 30, resources.walltimeSeconds);
  const checker = proxyActivities<Activities>({
    taskQueue,
    startToCloseTimeout: '2 minutes',
    scheduleToCloseTimeout: `${resources.walltimeSeconds + QUEUE_ALLOWANCE_SECONDS} seconds`,
    retry: {
      initialInterval: `${policy.initialIntervalSeconds} seconds`,
      backoffCoefficient: policy.backoffCoefficient,
      maximumInterval: `${policy.maximumIntervalSeconds} seconds`,
    },
  });
  for (;;) {
    try {
      return await checker.checkJob(handle);
    } catch (err) {
      // Still queued (or the cluster unreachable) after walltime + a day: look again with a fresh activity.
      if (err instanceof ActivityFailure && err.cause instanceof TimeoutFailure && err.cause.timeoutType === 'SCHEDULE_TO_CLOSE') continue;
      throw err;
    }
  }
}

/**
 * Submits `spec` on its cluster and waits until the job ends. Not cancellable while submitting (a submit cut
 * short could leave a job we never learn about; it takes seconds); a cancellation while waiting runs scancel,
 * by job name when the submit itself was interrupted.
 */
export async function runClusterJob(
  work: ReturnType<typeof clusterActivities>,
  spec: JobSpec,
  resources: Resources,
  taskQueue: string,
  onStarted?: (handle: JobHandle) => void,
): Promise<JobOutcome> {
  let handle: JobHandle | undefined;
  try {
    handle = await CancellationScope.nonCancellable(() => work.startJob(spec, 'slurm'));
    onStarted?.(handle);
    return await waitOnCluster(handle, resources, taskQueue);
  } catch (err) {
    if (isCancellation(err)) {
      const h: JobHandle = handle ?? { executor: 'slurm', cluster: spec.cluster, jobName: spec.jobName, workDir: spec.workDir, jobId: '' };
      await CancellationScope.nonCancellable(() => work.cancelJob(h));
    }
    throw err;
  }
}
