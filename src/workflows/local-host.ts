/**
 * Local jobs stay on the host that started them. A local job is a process group and a work directory on one
 * machine, so with workers on several hosts (docker-compose replicas, two login nodes) its start, wait, cancel,
 * parse and analyses must all reach that machine: the workflow asks once which host's queue to use (any worker
 * answers with its own, `localHostTaskQueue`) and pins the executor to it; children inherit the pinned executor.
 * A worker that serves no host queue answers null, and everything stays on the workflow's own queue.
 */
import { patched, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.ts';
import type { ExecutorSpec } from '../domain/jobs.ts';
import { PATCHES } from './patches.ts';

const hostLookup = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30 seconds' },
});

export async function pinLocalExecutor<E extends ExecutorSpec>(executor: E): Promise<E> {
  if (executor.kind !== 'local' || executor.taskQueue) return executor;
  // (histories from before 0.3.0 ran their local jobs on the workflow's own queue)
  if (!patched(PATCHES.localJobsOnTheirHost)) return executor;
  const taskQueue = await hostLookup.localHostTaskQueue();
  return taskQueue ? { ...executor, taskQueue } : executor;
}

/** Activity options, on the pinned host's queue when the executor names one. */
export function onExecutorQueue<T extends object>(options: T, executor: ExecutorSpec): T & { taskQueue?: string } {
  return executor.kind === 'local' && executor.taskQueue ? { ...options, taskQueue: executor.taskQueue } : options;
}
