/**
 * SLURM, the pure parts: the batch script, the commands' output, and what a job's state means for a
 * calculation. No I/O (the activities in src/activities/scheduler run the commands); safe to import anywhere.
 *
 * The batch script (`renderBatchScript`) does, in order:
 *   1. `#SBATCH` directives: job name (unique per workflow, step and attempt: `jobNameFor`), work directory,
 *      SLURM's own output and error files, partition, nodes, tasks, cpus per task, GPUs, time, memory,
 *      account, QOS;
 *   2. first command: writes `$SLURM_JOB_ID` to `.crystalmath/slurm_job_id` in the work directory, so a job
 *      that ever started can always be found from its directory (idempotent submit);
 *   3. `module load` lines (profile, then code), the profile's and the code's `prepend` text, `export`s of
 *      the profile's and the code's `environment`;
 *   4. the code under the profile's MPI launcher (`mpiArgv`), stdin from /dev/null, stdout/stderr to files;
 *   5. last: the code's exit status into `.crystalmath/exit_status` (written to a `.part` file, then renamed),
 *      and the script exits with it, so SLURM's COMPLETED / FAILED agrees with the code.
 * Every word that comes from a profile, a path or a name is quoted with `shellQuote` / `shellJoin`; only the
 * profile's `prepend` texts are inserted verbatim (they are shell text on purpose).
 */
import { findPartition, formatWalltime, mpiArgv, type ClusterProfile, type CodeExecutable } from './cluster-profile.ts';
import { ReadError } from './read-error.ts';
import { shellJoin, shellQuote } from './shell.ts';
import type { JobOutcome, Resources } from './jobs.ts';

/** Files CrystalMath keeps in a SLURM job's work directory, relative to it. */
export const SLURM_FILES = {
  meta: '.crystalmath',
  script: '.crystalmath/job.sh',
  /** Written by the batch script itself, as its first command. */
  jobId: '.crystalmath/slurm_job_id',
  /** sbatch's answer, recorded by the submit activity. */
  sbatchJobId: '.crystalmath/sbatch_job_id',
  exitStatus: '.crystalmath/exit_status',
  lock: '.crystalmath/submit.lock',
  /** SLURM's own stdout / stderr of the batch script (module messages, launcher errors); %j is the job id. */
  slurmOut: '.crystalmath/slurm-%j.out',
  slurmErr: '.crystalmath/slurm-%j.err',
} as const;

export interface BatchScriptRequest {
  jobName: string;
  /** Absolute work directory on the cluster. */
  workDir: string;
  /** The code's argv without the launcher, e.g. ['pw.x', '-in', 'pw.in']. */
  command: readonly string[];
  /** Relative to workDir. */
  stdoutFile: string;
  stderrFile: string;
  resources: Resources;
  profile: Pick<ClusterProfile, 'name' | 'mpi' | 'modules' | 'prepend' | 'environment' | 'account' | 'qos' | 'partitions'>;
  /** The code's entry of `profile.executables`. */
  executable: CodeExecutable;
}

/** A request the profile cannot satisfy (unknown partition, more GPUs than a node has): never worth a retry. */
export class BatchScriptError extends Error {
  override readonly name = 'BatchScriptError';
}

/** `--time` for SLURM: whole minutes (SLURM's granularity), rounded up, as D-HH:MM:SS. */
export function slurmTime(walltimeSeconds: number): string {
  return formatWalltime(Math.max(1, Math.ceil(walltimeSeconds / 60)) * 60);
}

/** The layout of a job on the profile: partition, nodes, tasks, threads, GPUs, memory. */
export function slurmLayout(req: Pick<BatchScriptRequest, 'resources' | 'profile' | 'executable'>): {
  partition?: string;
  nodes: number;
  ntasks: number;
  cpusPerTask: number;
  gpusPerNode: number;
  memoryMb?: number;
} {
  const r = req.resources;
  const partition = findPartition(req.profile as ClusterProfile, r.partition);
  if (r.partition !== undefined && !partition) {
    throw new BatchScriptError(
      `cluster ${req.profile.name} has no partition "${r.partition}" (it has ${req.profile.partitions.map((p) => p.name).join(', ') || 'none'})`,
    );
  }
  const cpusPerTask = r.cpusPerTask ?? 1;
  const ntasks = req.executable.mpi ? r.mpiRanks : 1;
  const perNode = partition ? Math.max(1, Math.floor(partition.coresPerNode / cpusPerTask)) : ntasks;
  const nodes = r.nodes ?? Math.max(1, Math.ceil(ntasks / perNode));
  if (partition && nodes > partition.nodes) {
    throw new BatchScriptError(`${ntasks} task(s) × ${cpusPerTask} cpu(s) need ${nodes} nodes; partition ${partition.name} of ${req.profile.name} has ${partition.nodes}`);
  }
  const gpusPerNode = r.gpusPerNode ?? 0;
  if (partition && gpusPerNode > partition.gpusPerNode) {
    throw new BatchScriptError(`${gpusPerNode} GPU(s) per node requested; partition ${partition.name} of ${req.profile.name} has ${partition.gpusPerNode}`);
  }
  return {
    ...(partition ? { partition: partition.name } : {}),
    nodes,
    ntasks,
    cpusPerTask,
    gpusPerNode,
    ...(r.memoryGb !== undefined ? { memoryMb: Math.ceil(r.memoryGb * 1024) } : {}),
  };
}

/** The batch script (bash) for one job. Throws BatchScriptError when the profile cannot run the request. */
export function renderBatchScript(req: BatchScriptRequest): string {
  const { profile, executable } = req;
  const layout = slurmLayout(req);
  const abs = (rel: string) => `${req.workDir.replace(/\/+$/, '')}/${rel}`;
  const directive = (option: string, value: string | number) => `#SBATCH --${option}=${shellQuote(String(value))}`;

  const lines: string[] = ['#!/bin/bash'];
  lines.push(directive('job-name', req.jobName));
  lines.push(directive('chdir', req.workDir));
  lines.push(directive('output', abs(SLURM_FILES.slurmOut)));
  lines.push(directive('error', abs(SLURM_FILES.slurmErr)));
  if (layout.partition) lines.push(directive('partition', layout.partition));
  lines.push(directive('nodes', layout.nodes));
  lines.push(directive('ntasks', layout.ntasks));
  lines.push(directive('cpus-per-task', layout.cpusPerTask));
  if (layout.gpusPerNode > 0) {
    const type = profile.partitions.find((p) => p.name === layout.partition)?.gpuType;
    lines.push(directive('gres', `gpu:${type ? `${type}:` : ''}${layout.gpusPerNode}`));
  }
  lines.push(directive('time', slurmTime(req.resources.walltimeSeconds)));
  if (layout.memoryMb !== undefined) lines.push(directive('mem', `${layout.memoryMb}M`));
  if (profile.account) lines.push(directive('account', profile.account));
  if (profile.qos) lines.push(directive('qos', profile.qos));

  // First command: the job's own id, in its work directory (see the module comment).
  lines.push(`echo "$SLURM_JOB_ID" > ${shellQuote(SLURM_FILES.jobId)}`);
  lines.push(`# ${req.jobName}: written by CrystalMath for cluster ${profile.name}`);
  lines.push(`rm -f ${shellQuote(SLURM_FILES.exitStatus)}`); // a requeued job starts again without a stale status
  for (const m of [...profile.modules, ...executable.modules]) lines.push(`module load ${shellQuote(m)}`);
  if (profile.prepend) lines.push(profile.prepend.replace(/\s+$/, ''));
  if (executable.prepend) lines.push(executable.prepend.replace(/\s+$/, ''));
  const env = { OMP_NUM_THREADS: String(layout.cpusPerTask), ...profile.environment, ...executable.environment };
  for (const [k, v] of Object.entries(env)) lines.push(`export ${k}=${shellQuote(String(v))}`);

  const launcher =
    executable.mpi && profile.mpi
      ? mpiArgv(profile, {
          ranks: layout.ntasks,
          nodes: layout.nodes,
          ranksPerNode: Math.ceil(layout.ntasks / layout.nodes),
          cpusPerTask: layout.cpusPerTask,
          gpus: layout.gpusPerNode,
        })
      : [];
  lines.push(`${shellJoin([...launcher, ...req.command])} < /dev/null > ${shellQuote(req.stdoutFile)} 2> ${shellQuote(req.stderrFile)}`);
  lines.push('status=$?');
  const exitFile = shellQuote(SLURM_FILES.exitStatus);
  const exitPart = shellQuote(`${SLURM_FILES.exitStatus}.part`);
  lines.push(`echo "$status" > ${exitPart} && mv -f ${exitPart} ${exitFile}`);
  lines.push('exit "$status"', '');
  return lines.join('\n');
}

/**
 * The submit script: run on the cluster in one shell (one SSH channel). Under a lock on the work directory it
 * looks for this job (the recorded sbatch id, the id the job wrote itself, then squeue by job name, which sees
 * a job from the moment sbatch accepted it, finished ones included for MinJobAge), and only when none exists
 * calls sbatch. Prints `found <id> <where>` or `submitted <id>`. Exit 92: squeue failed; 93: sbatch failed
 * (its stderr on stderr).
 */
export function submitScript(workDir: string, jobName: string): string {
  const q = shellQuote;
  return [
    'set -u',
    `cd ${q(workDir)} || exit 90`,
    `mkdir -p ${q(SLURM_FILES.meta)} || exit 90`,
    // flock serialises two submits of the same job (e.g. a zombie attempt still running beside its retry).
    `if command -v flock >/dev/null 2>&1; then exec 9>>${q(SLURM_FILES.lock)} && flock -w 60 9 || exit 91; fi`,
    `for f in ${q(SLURM_FILES.sbatchJobId)} ${q(SLURM_FILES.jobId)}; do`,
    '  if [ -s "$f" ]; then id=$(head -n1 "$f" | tr -dc 0-9_); if [ -n "$id" ]; then echo "found $id $f"; exit 0; fi; fi',
    'done',
    `ids=$(squeue -h --me --states=all --name=${q(jobName)} -o %i 2>${q(`${SLURM_FILES.meta}/squeue.err`)}) || { cat ${q(`${SLURM_FILES.meta}/squeue.err`)} >&2; exit 92; }`,
    'id=$(printf "%s\\n" "$ids" | head -n1 | tr -dc 0-9_)',
    'if [ -n "$id" ]; then echo "found $id squeue"; exit 0; fi',
    `out=$(sbatch --parsable ${q(SLURM_FILES.script)} 2>${q(`${SLURM_FILES.meta}/sbatch.err`)}) || { cat ${q(`${SLURM_FILES.meta}/sbatch.err`)} >&2; exit 93; }`,
    'echo "submitted $(printf "%s\\n" "$out" | tail -n1 | cut -d";" -f1)"',
    '',
  ].join('\n');
}

export type SubmitAnswer = { kind: 'found' | 'submitted'; jobId: string; where?: string };

/** Reads the submit script's answer. */
export function parseSubmitAnswer(stdout: string): SubmitAnswer | undefined {
  const line = stdout.trim().split('\n').at(-1) ?? '';
  const m = /^(found|submitted) (\S+)(?: (.*))?$/.exec(line.trim());
  if (!m || !isSlurmJobId(m[2]!)) return undefined;
  return { kind: m[1] as 'found' | 'submitted', jobId: m[2]!, ...(m[3] ? { where: m[3] } : {}) };
}

/** sbatch errors no retry can fix (the request or the account is wrong); anything else is worth another try. */
const PERMANENT_SBATCH_RE =
  /invalid (partition|account|qos|job|node|feature|generic resource|gres|time|option)|unrecognized option|requested node configuration is not available|more processors requested than permitted|node count specification invalid|job violates accounting|qos.*(policy|limit)|access denied|user's group not permitted|unable to open file|memory specification can not be satisfied|batch script contains dos line breaks|requested time limit is invalid|not allowed|exceeds? (partition|the) (time )?limit/i;

export function isPermanentSbatchError(stderr: string): boolean {
  return PERMANENT_SBATCH_RE.test(stderr);
}

// ----- job states -----------------------------------------------------------------------------------------

/** Terminal SLURM job states (JOB_STATE_BASE values and the terminal flags squeue/scontrol print). */
export const SLURM_TERMINAL_STATES = [
  'COMPLETED',
  'FAILED',
  'TIMEOUT',
  'CANCELLED',
  'NODE_FAIL',
  'PREEMPTED',
  'OUT_OF_MEMORY',
  'BOOT_FAIL',
  'DEADLINE',
  'REVOKED',
] as const;
export type SlurmTerminalState = (typeof SLURM_TERMINAL_STATES)[number];

export const isTerminalSlurmState = (state: string): state is SlurmTerminalState =>
  (SLURM_TERMINAL_STATES as readonly string[]).includes(normalizeState(state));

/** `CANCELLED by 0` / `CANCELLED+` → `CANCELLED`. */
export const normalizeState = (state: string): string => (/^[A-Z_]+/.exec(state.trim().toUpperCase())?.[0] ?? '');

export interface SlurmFinalInfo {
  state: string;
  reason?: string;
  /** `ExitCode=a:b` of scontrol: the batch script's status and the signal that ended it. */
  exitCode?: { status: number; signal: number };
  runSeconds?: number;
  /** The code's status from `.crystalmath/exit_status`, when the script got to write it. */
  markerExitStatus?: number;
}

/**
 * A terminal SLURM state as the calculation's job outcome. TIMEOUT / DEADLINE → `timeout` (the parser then
 * gets `schedulerOutOfWalltime` and the code's walltime handlers run); OUT_OF_MEMORY → `failed` with a message
 * the recovery's memory rule reads; NODE_FAIL / BOOT_FAIL / PREEMPTED / REVOKED → `lost` with the reason.
 */
export function outcomeOfSlurmState(info: SlurmFinalInfo): JobOutcome {
  const state = normalizeState(info.state);
  const reason = info.reason && info.reason !== 'None' ? info.reason : undefined;
  const status = info.markerExitStatus ?? (info.exitCode && info.exitCode.signal === 0 ? info.exitCode.status : undefined);
  const base: JobOutcome = {
    state: 'failed',
    schedulerState: state,
    ...(status !== undefined ? { exitStatus: status } : {}),
    ...(info.runSeconds !== undefined ? { wallSeconds: info.runSeconds } : {}),
  };
  const withReason = (text: string) => (reason ? `${text} (${reason})` : text);
  switch (state) {
    case 'COMPLETED':
      return { ...base, state: (status ?? 0) === 0 ? 'completed' : 'failed' };
    case 'FAILED': {
      const signal = info.exitCode?.signal;
      const msg = signal ? `SLURM FAILED: the job was ended by signal ${signal}` : `SLURM FAILED`;
      return { ...base, state: 'failed', message: withReason(msg) };
    }
    case 'TIMEOUT':
      return { ...base, state: 'timeout', message: 'SLURM TIMEOUT: the job reached its time limit and was stopped' };
    case 'DEADLINE':
      return { ...base, state: 'timeout', message: 'SLURM DEADLINE: the job reached its deadline and was stopped' };
    case 'CANCELLED':
      return { ...base, state: 'cancelled', message: withReason('SLURM CANCELLED (scancel or an administrator)') };
    case 'OUT_OF_MEMORY':
      return { ...base, state: 'failed', message: 'out of memory: SLURM OUT_OF_MEMORY (the job exceeded its memory and was killed)' };
    case 'NODE_FAIL':
      return { ...base, state: 'lost', message: withReason('SLURM NODE_FAIL: a node of the job failed') };
    case 'BOOT_FAIL':
      return { ...base, state: 'lost', message: withReason('SLURM BOOT_FAIL: a node of the job failed to boot') };
    case 'PREEMPTED':
      return { ...base, state: 'lost', message: withReason('preempted: SLURM PREEMPTED the job for another one') };
    case 'REVOKED':
      return { ...base, state: 'lost', message: withReason('SLURM REVOKED the job (federation)') };
    default:
      return { ...base, state: 'lost', message: withReason(`unexpected final SLURM state ${info.state}`) };
  }
}

// ----- command output -------------------------------------------------------------------------------------

export interface SqueueEntry {
  state: string;
  reason: string;
}

/**
 * A SLURM job id as squeue's `%i` prints it (squeue(1)): `123`; a job array element `123_4`, or its pending
 * elements on one line `123_[5-9%2]` / `123_[1,3,5-7:2]`; a heterogeneous job component `123+0`.
 */
export const SLURM_JOB_ID_RE = /^\d+(?:_(?:\d+|\[[\d,\-:%]+\]))?(?:\+\d+)?$/;
export const isSlurmJobId = (id: string): boolean => SLURM_JOB_ID_RE.test(id);

/**
 * `squeue -h -o '%i %T %r'` lines → job id → state and reason (the reason may contain spaces). A line that is not
 * `<job id> <STATE> <reason>` means something else prints into squeue's answer (a login banner, a wrapper): a
 * ReadError naming `source` and the line, since the next squeue would print it again.
 */
export function parseSqueue(stdout: string, source = "squeue -h -o '%i %T %r'"): Map<string, SqueueEntry> {
  const jobs = new Map<string, SqueueEntry>();
  stdout.split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    const m = /^\s*(\S+)\s+(\S+)\s*(.*)$/.exec(line);
    const bad = (reason: string) => new ReadError({ source, line: i + 1, reason: `${reason}: ${JSON.stringify(line.slice(0, 120))}` });
    if (!m) throw bad('expected "<job id> <state> <reason>"');
    if (!isSlurmJobId(m[1]!)) throw bad(`"${m[1]}" is not a SLURM job id (123, 123_4, 123_[1-5] or 123+0)`);
    if (!/^[A-Z][A-Z_]*$/.test(m[2]!)) throw bad(`"${m[2]}" is not a SLURM job state (RUNNING, PENDING, ...)`);
    jobs.set(m[1]!, { state: m[2]!, reason: m[3]!.trim() });
  });
  return jobs;
}

/**
 * One line of `scontrol -o show job <id>`: `Key=Value` pairs separated by spaces. Values may contain spaces
 * (WorkDir, Command): a value runs until the next ` Key=`. The first occurrence of a key wins.
 */
export function parseScontrolLine(line: string): Record<string, string> {
  const out: Record<string, string> = {};
  const re = /(?:^|\s)([A-Za-z][A-Za-z0-9_:/]*)=/g;
  const marks: { key: string; start: number; valueStart: number }[] = [];
  for (let m = re.exec(line); m; m = re.exec(line)) {
    marks.push({ key: m[1]!, start: m.index, valueStart: m.index + m[0].length });
  }
  marks.forEach((mark, i) => {
    const end = i + 1 < marks.length ? marks[i + 1]!.start : line.length;
    if (!(mark.key in out)) out[mark.key] = line.slice(mark.valueStart, end).trim();
  });
  return out;
}

/** `3:0` → { status: 3, signal: 0 }. */
export function parseExitCode(text: string | undefined): { status: number; signal: number } | undefined {
  const m = /^(\d+):(\d+)$/.exec(text?.trim() ?? '');
  return m ? { status: Number(m[1]), signal: Number(m[2]) } : undefined;
}

/** `1-02:03:04`, `02:03:04`, `03:04` → seconds. */
export function parseSlurmDuration(text: string | undefined): number | undefined {
  const m = /^(?:(\d+)-)?(?:(\d+):)?(\d+):(\d+)$/.exec(text?.trim() ?? '');
  if (!m) return undefined;
  return Number(m[1] ?? 0) * 86400 + Number(m[2] ?? 0) * 3600 + Number(m[3]) * 60 + Number(m[4]);
}

// ----- waiting --------------------------------------------------------------------------------------------

/**
 * Retry policy of the `checkJob` activity while a SLURM job waits or runs (see the workflow's comment): first
 * retry after the profile's poll interval, growing 5 % per look, up to a twentieth of the walltime, bounded by
 * [poll interval, 10 × poll interval]. A 24 h job on a 30 s profile is looked at every 5 minutes at most once
 * it has run a while; a one-minute job on a 2 s profile every 2–3 s.
 */
export function checkJobRetry(pollIntervalSeconds: number, walltimeSeconds: number): {
  initialIntervalSeconds: number;
  backoffCoefficient: number;
  maximumIntervalSeconds: number;
} {
  const poll = Math.max(1, pollIntervalSeconds);
  const max = Math.min(10 * poll, Math.max(poll, walltimeSeconds / 20));
  return { initialIntervalSeconds: poll, backoffCoefficient: 1.05, maximumIntervalSeconds: Math.round(max * 10) / 10 };
}

/** How long one `checkJob` may keep retrying: the walltime plus a day in the queue (then the workflow looks again). */
export const QUEUE_ALLOWANCE_SECONDS = 24 * 3600;
