/**
 * What an executor is asked to run and what it reports back: the seam between workflows and the
 * machines that run codes. Two executors implement it: `local` (a process group on the worker's machine) and
 * `slurm` (a batch job on a cluster described by a profile, reached over SSH or from its login node). Workflows
 * do not change between them; only the `ExecutorSpec` does.
 */
import { z } from 'zod';
import { fnv1a32 } from './hash.ts';
import { hasControlCharacters } from './shell.ts';

/** The built-in cluster of the worker's own machine; its activities stay on the workflow's own task queue. */
export const LOCAL_CLUSTER = 'local';
const CLUSTER_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export const ExecutorSpecSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('local'),
    /**
     * Task queue of the host that runs this calculation's local jobs (`<queue>@<host>`, see `hostTaskQueue`);
     * set by the workflow when it starts (`pinLocalExecutor`), so a job's start, wait, cancel and parse all
     * reach the machine whose processes and files they are.
     */
    taskQueue: z.string().min(1).max(200).optional(),
  }),
  z.object({
    kind: z.literal('slurm'),
    /** The cluster profile's name (`<name>.yaml` in the worker's clusters directory). */
    cluster: z.string().regex(CLUSTER_NAME, 'must be a cluster profile name (letters, digits, _ . -)'),
    /** Task queue of this cluster's activities; default `<the workflow's task queue>-<cluster>`. */
    taskQueue: z.string().min(1).max(200).optional(),
  }),
]);
export type ExecutorSpec = z.infer<typeof ExecutorSpecSchema>;

export const ResourcesSchema = z.object({
  /** Hard limit on the run; the executor stops the job after it (exit state `timeout`). */
  walltimeSeconds: z.number().int().positive().max(60 * 60 * 24 * 30).default(3600),
  mpiRanks: z.number().int().positive().max(100_000).default(1),
  /** SLURM only (the local executor ignores them): partition (default: the profile's default partition), */
  partition: z.string().regex(/^[A-Za-z0-9_.-]+$/).optional(),
  /** nodes (default: as few as hold the ranks), threads per rank, GPUs per node and memory per node. */
  nodes: z.number().int().positive().max(100_000).optional(),
  cpusPerTask: z.number().int().positive().max(1024).optional(),
  gpusPerNode: z.number().int().nonnegative().max(64).optional(),
  memoryGb: z.number().positive().max(1_000_000).optional(),
});
export type Resources = z.infer<typeof ResourcesSchema>;

export interface JobSpec {
  /** Unique per workflow, step and attempt: submission is idempotent on it. */
  jobName: string;
  /** The workflow step it belongs to (for logs; absent in specs made before it existed). */
  step?: string;
  /** Absolute path of the work directory on the executing machine (the cluster's path for SLURM). */
  workDir: string;
  /** argv of the code, e.g. ['pw.x', '-in', 'pw.in'] (without the MPI launcher). */
  command: string[];
  /** stdout / stderr files, relative to workDir. */
  stdoutFile: string;
  stderrFile: string;
  resources: Resources;
  /** Which executor runs it; absent means `local` (specs made before SLURM existed). */
  executor?: ExecutorSpec['kind'];
  /** The cluster profile (SLURM). */
  cluster?: string;
  /**
   * The executable id whose environment (the profile's and the executable's `environment`) the job gets. The
   * values are resolved from the profile by the activity that starts the job, so they never enter a history.
   */
  executableId?: string;
  /** Only in specs recorded before 0.3.0 (values in the history); still honoured for those jobs. */
  environment?: Record<string, string>;
  /** SLURM: the batch script prepare wrote, absolute path on the cluster. */
  batchScript?: string;
}

export interface JobHandle {
  executor: ExecutorSpec['kind'];
  jobName: string;
  /** The workflow step it belongs to (for logs). */
  step?: string;
  workDir: string;
  /** Executor's id: a process-group id for local runs, the SLURM job id. */
  jobId: string;
  /** The cluster profile (SLURM). */
  cluster?: string;
  /** SLURM: the profile's poll interval, for the workflow's wait policy. */
  pollIntervalSeconds?: number;
  /** SLURM: the profile's `unreachableTimeout` in seconds (absent in handles made before it existed: the default). */
  unreachableTimeoutSeconds?: number;
}

/** A handle for a job whose start never reported back: SLURM finds it by name, the local executor by its work directory. */
export function unstartedHandle(spec: JobSpec): JobHandle {
  return { executor: spec.executor ?? 'local', ...(spec.cluster ? { cluster: spec.cluster } : {}), jobName: spec.jobName, workDir: spec.workDir, jobId: '' };
}

/** The failure type of a wait that gave up on its cluster (out of reach for longer than its `unreachableTimeout`). */
export const CLUSTER_UNREACHABLE = 'ClusterUnreachable';

/**
 * completed: the code exited with status 0. failed: nonzero status (or the scheduler killed it for memory: see
 * `message`). timeout: stopped at the walltime. cancelled: stopped on request. lost: the job vanished without
 * recording a status (killed from outside, node failure, preemption: see `message`).
 */
export type JobState = 'completed' | 'failed' | 'timeout' | 'cancelled' | 'lost';

export interface JobOutcome {
  state: JobState;
  exitStatus?: number;
  wallSeconds?: number;
  /** What the executor said about an unusual end, e.g. "out of memory: SLURM OUT_OF_MEMORY ...". Read by recovery. */
  message?: string;
  /** The scheduler's own final state, e.g. `TIMEOUT`, `OUT_OF_MEMORY`, `PREEMPTED` (SLURM). */
  schedulerState?: string;
}

/*
 * Job names and work directories: a readable part (letters, digits, `.`, `_`, `-`; anything else becomes `_`)
 * plus the hash of the exact original, so different workflow ids or steps never share a job or a directory
 * (`run:1` and `run_1` once did: the second adopted the first one's job) and `.` / `..` are ordinary names.
 *
 * Upgrades: both are computed once per attempt, by the prepare activity, and travel in its recorded result
 * (the JobSpec); submit, check, cancel and restarts read them from there and never recompute them. So a job
 * in flight keeps the name and directory of the release that prepared it, and its retried submit finds it;
 * only attempts prepared after an upgrade, which have no job yet, get the new ones. (Hence no flag under
 * `patched()` and no second name in the submit lookup: neither would ever be used.)
 */
const readable = (s: string, max: number) => s.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, max);

/** One path segment for `s`: readable, and distinct for distinct `s`. */
export function safePathPart(s: string): string {
  return `${readable(s, 100)}-${fnv1a32(s)}`;
}

/** A job's work directory below a work root (the worker's, or a cluster profile's `workDir`), as path segments. */
export function jobDirParts(workflowId: string, step: string, attempt: number): string[] {
  return [safePathPart(workflowId), safePathPart(step), String(attempt)];
}

/** The scheduler's job name: unique per workflow, step and attempt (submit is idempotent on it). */
export function jobNameFor(workflowId: string, step: string, attempt: number): string {
  return `cm-${readable(`${workflowId}-${step}-${attempt}`, 180)}-${fnv1a32(JSON.stringify([workflowId, step, attempt]))}`;
}

/** Why `path` is not a plain absolute path (no `.` or `..` segments, no control characters), or undefined. */
export function absolutePathProblem(path: string): string | undefined {
  if (!path.startsWith('/')) return 'must be an absolute path';
  if (hasControlCharacters(path)) return 'must not contain newlines or other control characters';
  if (path.split('/').some((segment) => segment === '.' || segment === '..')) return 'must not contain . or .. segments';
  return undefined;
}

/** Why `dir` is not a plain absolute path strictly inside `root`, or undefined when it is. */
export function outsideRootProblem(dir: string, root: string): string | undefined {
  const problem = absolutePathProblem(dir);
  if (problem) return problem;
  const base = root.replace(/\/+$/, '');
  return dir.startsWith(`${base}/`) && dir.slice(base.length).replace(/\//g, '') !== '' ? undefined : `must be inside ${base}/`;
}

/** The cluster an executor runs on: `local` for the local executor. */
export function clusterOf(executor: ExecutorSpec): string {
  return executor.kind === 'local' ? LOCAL_CLUSTER : executor.cluster;
}

/**
 * The task queue of a cluster's activities (prepare, submit, check, parse, cancel): `<base>-<cluster>`, so a
 * worker on that cluster's login node (local transport) can serve them without any workflow change. The
 * `local` cluster stays on `base`, the workflow's own queue.
 */
export function clusterTaskQueue(base: string, cluster: string): string {
  return cluster === LOCAL_CLUSTER ? base : `${base}-${cluster}`;
}

/** The task queue for an executor's activities, given the workflow's task queue. */
export function executorTaskQueue(base: string, executor: ExecutorSpec): string {
  if (executor.taskQueue) return executor.taskQueue;
  return clusterTaskQueue(base, clusterOf(executor));
}

/**
 * The task queue only the workers of one host serve (Temporal's worker-specific task queue pattern): a local job
 * is a process group and files on one machine, so everything about it goes there. `@` cannot occur in a
 * cluster name, so this never meets a cluster's queue.
 */
export function hostTaskQueue(base: string, hostId: string): string {
  return `${base}@${hostId}`;
}

/** A host id from a host name: letters, digits, `.`, `_`, `-` (others become `_`), at most 63 characters. */
export function hostIdOf(name: string): string {
  const id = name.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 63);
  return id || 'host';
}
