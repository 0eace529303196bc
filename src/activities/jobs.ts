/**
 * Job activities, one set for every executor: start (idempotent), wait (heartbeating, cancellable), cancel.
 * The executor is chosen from the handle, so workflows never name one.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import type { JobHandle, JobOutcome, JobSpec } from '../domain/jobs.ts';
import { cancelLocalJob, checkLocalJob, startLocalJob } from './executor/local.ts';
import { sleep } from '../process.ts';

export interface WaitOptions {
  /** Seconds between two looks at the job. */
  pollSeconds?: number;
}

export const jobActivities = {
  async startJob(spec: JobSpec, executor: JobHandle['executor'] = 'local'): Promise<JobHandle> {
    if (executor !== 'local') throw ApplicationFailure.nonRetryable(`executor "${executor}" is not supported yet`, 'NotSupported');
    return startLocalJob(spec);
  },

  /**
   * Watches a local job until it ends, heartbeating so a dead worker is noticed within the heartbeat timeout
   * and the retry (on any worker of this machine) adopts the same process. Cancellation stops the job.
   */
  async waitForJob(handle: JobHandle, opts: WaitOptions = {}): Promise<JobOutcome> {
    const ctx = Context.current();
    const pollMs = Math.max(50, (opts.pollSeconds ?? 0.5) * 1000);
    for (;;) {
      const outcome = await checkLocalJob(handle);
      if (outcome) return outcome;
      ctx.heartbeat({ jobId: handle.jobId });
      try {
        await Promise.race([sleep(pollMs), ctx.cancelled]);
      } catch (e) {
        if (e instanceof CancelledFailure) {
          await cancelLocalJob(handle);
        }
        throw e;
      }
    }
  },

  async cancelJob(handle: JobHandle): Promise<void> {
    await cancelLocalJob(handle);
  },
};
