/**
 * Jobs on a SLURM cluster, seen from a workflow: the activities on the cluster's task queue, the wait (the
 * retry policy is the poll loop) and the whole submit → wait → cancel-on-cancellation sequence, shared by
 * pw.x calculations and the post-processing tools.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  isCancellation,
  log,
  patched,
  proxyActivities,
  TimeoutFailure,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.ts';
import { DEFAULT_UNREACHABLE_TIMEOUT_HOURS, formatWalltime } from '../domain/cluster-profile.ts';
import { CLUSTER_UNREACHABLE, unstartedHandle, type JobHandle, type JobOutcome, type JobSpec, type Resources } from '../domain/jobs.ts';
import { checkJobRetry, QUEUE_ALLOWANCE_SECONDS } from '../domain/slurm.ts';
import { PATCHES } from './patches.ts';

/**
 * Activities on a cluster's task queue: staging, submit, parse and cancel over the cluster's transport. They
 * heartbeat, so a worker that dies mid-call is replaced within the heartbeat timeout. Infrastructure errors
 * (SSH down, slurmctld restarting) are retryable and retried for up to a day; permanent ones (bad host key,
 * bad profile, rejected job) are non-retryable and end the calculation with the message.
 */
export function clusterActivities(taskQueue: string, overrides: Partial<ActivityOptions> = {}) {
  return proxyActivities<Activities>({
    taskQueue,
    startToCloseTimeout: '10 minutes',
    heartbeatTimeout: '10 seconds',
    scheduleToCloseTimeout: '1 day',
    retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1 minute' },
    ...overrides,
  });
}

/**
 * Timeouts of a prepare that stages a parent's files (a restart, or a step that reads an earlier one's: GBs for
 * a big run): the copy heartbeats, so a dead worker is still noticed in seconds, and it gets time to match,
 * since the parent's job wrote those files within its walltime and copying them takes less.
 */
export function stagingTimeouts(walltimeSeconds: number) {
  return {
    startToCloseTimeout: `${walltimeSeconds + 600} seconds`,
    heartbeatTimeout: '30 seconds',
    scheduleToCloseTimeout: `${walltimeSeconds + 600 + 86_400} seconds`,
  } satisfies Partial<ActivityOptions>;
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
 *   scheduleToClose is the walltime plus a day in the queue (plus the unreachableTimeout, below), after which
 *   the loop below simply looks again.
 *
 * Bounded all the same: a cluster out of reach (squeue failing) for longer than its profile's
 * `unreachableTimeout` makes checkJob fail with ClusterUnreachable, and a look that no worker takes within that
 * time (the cluster's worker gone, the cluster decommissioned: scheduleToStart, which Temporal applies to each
 * attempt) fails the same way here. Days in the queue are unaffected: the cluster answers all along.
 */
export async function waitOnCluster(handle: JobHandle, resources: Resources, taskQueue: string): Promise<JobOutcome> {
  const policy = checkJobRetry(handle.pollIntervalSeconds ?? 30, resources.walltimeSeconds);
  const unreachableSeconds = handle.unreachableTimeoutSeconds ?? DEFAULT_UNREACHABLE_TIMEOUT_HOURS * 3600;
  const checker = proxyActivities<Activities>({
    taskQueue,
    startToCloseTimeout: '2 minutes',
    scheduleToStartTimeout: `${unreachableSeconds} seconds`,
    // Longer than scheduleToStart, which Temporal would otherwise cut down to it (and report as schedule-to-close).
    scheduleToCloseTimeout: `${resources.walltimeSeconds + QUEUE_ALLOWANCE_SECONDS + unreachableSeconds} seconds`,
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
      const timeout = err instanceof ActivityFailure && err.cause instanceof TimeoutFailure ? err.cause.timeoutType : undefined;
      // Still queued after walltime + a day: look again with a fresh activity.
      if (timeout === 'SCHEDULE_TO_CLOSE') continue;
      if (timeout === 'SCHEDULE_TO_START') {
        throw ApplicationFailure.nonRetryable(
          `no worker of cluster ${handle.cluster} took the checks of job ${handle.jobId} (${handle.jobName}) from task queue ${taskQueue} for ` +
            `${formatWalltime(unreachableSeconds)} (its unreachableTimeout): is the cluster's worker gone, or the cluster ` +
            `decommissioned? The job may still be on the cluster.`,
          CLUSTER_UNREACHABLE,
        );
      }
      throw err;
    }
  }
}

/**
 * Submits `spec` on its cluster and waits until the job ends. Not cancellable while submitting (a submit cut
 * short could leave a job we never learn about; it takes seconds); a cancellation while waiting runs scancel,
 * by job name when the submit itself was interrupted; so does a failure (`stopAbandonedJob`).
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
    const h = handle ?? unstartedHandle(spec);
    if (isCancellation(err)) await CancellationScope.nonCancellable(() => work.cancelJob(h));
    else await stopAbandonedJob(err, () => clusterActivities(taskQueue, { scheduleToCloseTimeout: '1 hour' }).cancelJob(h));
    throw err;
  }
}

/**
 * After a job's start or wait failed (an activity failure; a cancellation stops the job on its own path): the
 * job would run on with nobody to read its result, so stop it (scancel, or kill its process group), in a
 * non-cancellable scope. Best effort: a stop that fails is logged, and the error the workflow reports stays the
 * wait's. Not when the cluster is out of reach: nothing would get there (the message says the job may remain).
 * (patched only on this path, so other histories carry no marker)
 */
export async function stopAbandonedJob(err: unknown, stop: () => Promise<void>): Promise<void> {
  if (isCancellation(err) || isClusterUnreachable(err) || !patched(PATCHES.stopJobOnFailure)) return;
  try {
    await CancellationScope.nonCancellable(stop);
  } catch (e) {
    log.warn(`could not stop the job after its wait failed: ${(e as Error).message}`);
  }
}

const isClusterUnreachable = (err: unknown): boolean => {
  const failure = err instanceof ActivityFailure ? err.cause : err;
  return failure instanceof ApplicationFailure && failure.type === CLUSTER_UNREACHABLE;
};
