/**
 * The per-worker, per-cluster SLURM status cache: every waiting job of a cluster is answered from ONE
 * `squeue -h --me -o '%i %T %r'` per poll interval, however many jobs wait (200 waiting calculations cost one
 * squeue every `pollIntervalSeconds`, not 200). Jobs squeue no longer lists (finished, or submitted after the
 * snapshot) are looked up with `scontrol -o show job <id>`, batched: the ids asked for within a few
 * milliseconds go to the cluster in one command (one SSH channel), and finished jobs are remembered.
 *
 * A failed squeue (slurmctld restarting, SSH down) is remembered for the interval too, so an outage costs the
 * cluster one attempt per interval, not one per waiting job; callers get the (retryable) error. Once squeue has
 * failed for longer than the profile's `unreachableTimeout` without a success in between, they get a
 * non-retryable ClusterUnreachable instead: the waits on a decommissioned cluster end. (Counted per worker
 * process: a restarted worker counts again, which only ever waits longer.) An answer that is not squeue's (a line
 * without a job id) is a ReadError: non-retryable, since every later squeue prints it again.
 */
import { ApplicationFailure } from '@temporalio/common';
import { formatWalltime } from '../../domain/cluster-profile.ts';
import { CLUSTER_UNREACHABLE } from '../../domain/jobs.ts';
import { ReadError } from '../../domain/read-error.ts';
import { isSlurmJobId, isTerminalSlurmState, parseExitCode, parseScontrolLine, parseSlurmDuration, parseSqueue, type SqueueEntry } from '../../domain/slurm.ts';
import type { Transport } from '../transport/types.ts';

export interface SlurmJobStatus {
  jobId: string;
  /** False when SLURM no longer knows the job (purged after MinJobAge, or never existed). */
  known: boolean;
  state: string;
  reason: string;
  /** From scontrol, for jobs squeue no longer lists. */
  exitCode?: { status: number; signal: number };
  runSeconds?: number;
  /** Where the answer came from. */
  source: 'squeue' | 'scontrol';
}

/** Counters of one cluster's cache (the benchmark and tests read them). */
export interface SchedulerMetrics {
  squeueCalls: number;
  squeueFailures: number;
  /** Commands sent for scontrol look-ups (each may cover many ids). */
  scontrolCalls: number;
  scontrolJobs: number;
  /** Status questions answered (checkJob calls). */
  lookups: number;
}

const COMMAND_TIMEOUT_MS = 60_000;
/** How long a finished job's scontrol answer is kept (its state no longer changes). */
const TERMINAL_TTL_MS = 10 * 60_000;
/** Ids asked for within this window share one scontrol command. */
const BATCH_WINDOW_MS = 20;

interface Snapshot {
  at: number;
  jobs?: Map<string, SqueueEntry>;
  error?: unknown;
}

export class SlurmStatusCache {
  readonly metrics: SchedulerMetrics = { squeueCalls: 0, squeueFailures: 0, scontrolCalls: 0, scontrolJobs: 0, lookups: 0 };
  private snapshot: Snapshot | undefined;
  private refreshing: Promise<Snapshot> | undefined;
  private readonly details = new Map<string, { at: number; status: SlurmJobStatus }>();
  private batch: { ids: Set<string>; done: Promise<void> } | undefined;
  /** When squeue started failing (undefined while it answers). */
  private failingSince: number | undefined;

  constructor(
    readonly cluster: string,
    private transport: Transport,
    private intervalMs: number,
    private unreachableMs = Infinity,
  ) {}

  /** A profile re-read with another interval, limit or transport (e.g. a changed host) updates the cache in place. */
  update(transport: Transport, intervalMs: number, unreachableMs = Infinity): void {
    this.transport = transport;
    this.intervalMs = intervalMs;
    this.unreachableMs = unreachableMs;
  }

  async status(jobId: string): Promise<SlurmJobStatus> {
    this.metrics.lookups++;
    const snap = await this.fresh();
    if (snap.error) {
      if (this.failingSince !== undefined && snap.at - this.failingSince >= this.unreachableMs) throw this.unreachable(snap.error);
      throw snap.error;
    }
    const listed = snap.jobs!.get(jobId);
    if (listed) return { jobId, known: true, state: listed.state, reason: listed.reason, source: 'squeue' };
    return this.detail(jobId);
  }

  /** The latest snapshot if it is younger than the interval, else a new one (one squeue for all callers). */
  private fresh(): Promise<Snapshot> {
    const s = this.snapshot;
    if (s && Date.now() - s.at < this.intervalMs) return Promise.resolve(s);
    this.refreshing ??= this.refresh().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  private async refresh(): Promise<Snapshot> {
    const at = Date.now();
    this.metrics.squeueCalls++;
    let snap: Snapshot;
    try {
      const r = await this.transport.exec(['squeue', '-h', '--me', '-o', '%i %T %r'], { timeoutMs: COMMAND_TIMEOUT_MS });
      if (r.code !== 0) throw schedulerUnavailable(this.cluster, 'squeue', r.code, r.stderr);
      snap = { at, jobs: parseSqueue(r.stdout, `squeue on ${this.cluster}`) };
      this.failingSince = undefined;
    } catch (e) {
      this.metrics.squeueFailures++;
      snap = { at, error: e };
      this.failingSince ??= at;
    }
    this.snapshot = snap;
    return snap;
  }

  private unreachable(last: unknown): ApplicationFailure {
    return ApplicationFailure.create({
      message:
        `cluster ${this.cluster} has not answered since ${new Date(this.failingSince!).toISOString()} (squeue failing for longer than its ` +
        `unreachableTimeout, ${formatWalltime(this.unreachableMs / 1000)}); giving up on its jobs, which may still be there. Last error: ${(last as Error)?.message ?? String(last)}`,
      type: CLUSTER_UNREACHABLE,
      nonRetryable: true,
    });
  }

  private async detail(jobId: string): Promise<SlurmJobStatus> {
    const hit = this.details.get(jobId);
    if (hit) {
      const ttl = hit.status.known && !isTerminalSlurmState(hit.status.state) ? this.intervalMs : TERMINAL_TTL_MS;
      if (Date.now() - hit.at < ttl) return hit.status;
    }
    if (!this.batch) {
      const ids = new Set<string>();
      const done = new Promise<void>((resolve) => setTimeout(resolve, BATCH_WINDOW_MS)).then(() => {
        this.batch = undefined;
        return this.scontrol([...ids]);
      });
      this.batch = { ids, done };
    }
    this.batch.ids.add(jobId);
    await this.batch.done;
    const got = this.details.get(jobId);
    if (!got) throw ApplicationFailure.retryable(`scontrol gave no answer for job ${jobId} on ${this.cluster}`, 'SchedulerUnavailable');
    return got.status;
  }

  /** One command for all ids: `scontrol -o show job <id>` each; unknown ids print a marker line. */
  private async scontrol(ids: string[]): Promise<void> {
    this.metrics.scontrolCalls++;
    this.metrics.scontrolJobs += ids.length;
    const script = [
      `for id in ${ids.filter((id) => /^[0-9_]+$/.test(id)).join(' ')}; do`,
      '  out=$(scontrol -o show job "$id" 2>&1); rc=$?',
      '  if [ $rc -eq 0 ]; then printf "%s\\n" "$out"',
      '  elif printf "%s" "$out" | grep -qi "invalid job id"; then echo "JobId=$id CrystalMathUnknown=1"',
      '  else printf "%s\\n" "$out" >&2; exit 3; fi',
      'done',
      '',
    ].join('\n');
    const r = await this.transport.exec({ script }, { timeoutMs: COMMAND_TIMEOUT_MS });
    if (r.code !== 0) throw schedulerUnavailable(this.cluster, 'scontrol show job', r.code, r.stderr);
    const now = Date.now();
    for (const line of r.stdout.split('\n')) {
      if (!line.startsWith('JobId=')) continue;
      const f = parseScontrolLine(line);
      const jobId = f.JobId ?? '';
      if (!isSlurmJobId(jobId)) throw new ReadError({ source: `scontrol show job on ${this.cluster}`, reason: `"${jobId}" is not a SLURM job id: ${JSON.stringify(line.slice(0, 120))}` });
      const status: SlurmJobStatus =
        f.CrystalMathUnknown === '1'
          ? { jobId, known: false, state: 'UNKNOWN', reason: 'SLURM no longer knows this job', source: 'scontrol' }
          : {
              jobId,
              known: true,
              state: f.JobState ?? 'UNKNOWN',
              reason: f.Reason ?? '',
              source: 'scontrol',
              ...(parseExitCode(f.ExitCode) ? { exitCode: parseExitCode(f.ExitCode)! } : {}),
              ...(parseSlurmDuration(f.RunTime) !== undefined ? { runSeconds: parseSlurmDuration(f.RunTime)! } : {}),
            };
      this.details.set(jobId, { at: now, status });
    }
    // Keep the map small: drop answers nobody will ask for again.
    for (const [id, d] of this.details) if (now - d.at > TERMINAL_TTL_MS) this.details.delete(id);
  }
}

/** A scheduler command failed: retryable (slurmctld restarting or busy), with SLURM's own words. */
function schedulerUnavailable(cluster: string, command: string, code: number, stderr: string): ApplicationFailure {
  const text = stderr.trim().split('\n').slice(-3).join(' | ') || `exit status ${code}`;
  return ApplicationFailure.retryable(`${command} failed on ${cluster} (exit ${code}): ${text}`, 'SchedulerUnavailable');
}

// ----- the caches of this worker process ----------------------------------------------------------------------

const caches = new Map<string, SlurmStatusCache>();

export function statusCacheFor(cluster: string, transport: Transport, pollIntervalSeconds: number, unreachableTimeoutSeconds = Infinity): SlurmStatusCache {
  const intervalMs = Math.max(100, pollIntervalSeconds * 1000);
  const unreachableMs = unreachableTimeoutSeconds * 1000;
  let c = caches.get(cluster);
  if (!c) caches.set(cluster, (c = new SlurmStatusCache(cluster, transport, intervalMs, unreachableMs)));
  else c.update(transport, intervalMs, unreachableMs);
  return c;
}

/** Counters per cluster, summed over the process's caches. */
export function schedulerMetrics(): Record<string, SchedulerMetrics> {
  return Object.fromEntries([...caches].map(([k, c]) => [k, { ...c.metrics }]));
}

/** Drops every cache (tests). */
export function resetStatusCaches(): void {
  caches.clear();
}
