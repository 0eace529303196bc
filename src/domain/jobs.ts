/**
 * What an executor is asked to run and what it reports back: the seam between workflows and the
 * machines that run codes. The local executor implements it today; SLURM over SSH plugs in behind the same
 * types (a new `ExecutorSpec` kind), so workflows do not change.
 */
import { z } from 'zod';

export const ExecutorSpecSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('local') }),
]);
export type ExecutorSpec = z.infer<typeof ExecutorSpecSchema>;

export const ResourcesSchema = z.object({
  /** Hard limit on the run; the executor stops the job after it (exit state `timeout`). */
  walltimeSeconds: z.number().int().positive().max(60 * 60 * 24 * 30).default(3600),
  mpiRanks: z.number().int().positive().max(100_000).default(1),
});
export type Resources = z.infer<typeof ResourcesSchema>;

export interface JobSpec {
  /** Unique per workflow, step and attempt: submission is idempotent on it. */
  jobName: string;
  /** Absolute path of the work directory on the executing machine. */
  workDir: string;
  /** argv of the code, e.g. ['pw.x', '-in', 'pw.in']. */
  command: string[];
  /** stdout / stderr files, relative to workDir. */
  stdoutFile: string;
  stderrFile: string;
  resources: Resources;
}

export interface JobHandle {
  executor: ExecutorSpec['kind'];
  jobName: string;
  workDir: string;
  /** Executor's id: a process-group id for local runs, a SLURM job id later. */
  jobId: string;
}

/**
 * completed: the code exited with status 0. failed: nonzero status. timeout: stopped at the walltime.
 * cancelled: stopped on request. lost: the process vanished without recording a status (killed from outside).
 */
export type JobState = 'completed' | 'failed' | 'timeout' | 'cancelled' | 'lost';

export interface JobOutcome {
  state: JobState;
  exitStatus?: number;
  wallSeconds?: number;
}

/** A readable, filesystem- and scheduler-safe job name. */
export function jobNameFor(workflowId: string, step: string, attempt: number): string {
  return `cm-${workflowId}-${step}-${attempt}`.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 200);
}
