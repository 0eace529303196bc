/**
 * What a calculation does after an attempt: finish, restart (with which parameters, structure, restart files and
 * resources) or fail. Pure and deterministic: the calculation workflow calls `decideRecovery` after every attempt.
 *
 * Strategies (after CrystalMath's ErrorRecoveryStrategy, ../shared/seeds/000 "Error Recovery Strategies"):
 *
 * - `fail_fast`   any failure (or a success that fails the sanity check) → fail with the parsed reason.
 * - `retry`       the same input again, from scratch, with no changes, until `maxAttempts` (a success that fails
 *                 the sanity check → fail: rerunning the same input reproduces it).
 * - `adaptive`    the code's handlers (`Code.repair`; pw.x: ../codes/qe/handlers.ts, aiida's PwBaseWorkChain). When
 *                 none applies, the generic rules, first match wins:
 *                   memory    "memory" / "Cannot allocate" / OOM / bad_alloc in the error messages, warnings or the
 *                             job's message → halve the MPI ranks (rounded down, at least 1; at 1 → fail);
 *                   convergence  a convergence failure of the code (`generic.convergenceFailure`; pw.x: an
 *                             SCF/ionic convergence exit code) or "converge" in the error messages → the code's
 *                             convergence threshold × 10 (the seed's "energy_convergence × 10"; pw.x:
 *                             electrons.conv_thr, unset: 1e-6);
 *                 With `genericRules: 'reviewed'` (workflows since 0.3.0): memory only from the error messages and the
 *                 job's message (a warning that mentions memory, e.g. pw.x's RAM estimate, is no memory error), and
 *                 the threshold loosened only for an electronic convergence failure (an ionic one is not helped by
 *                 a looser SCF: it fails with its reason when no handler of the code took it);
 *                   timeout   the job hit its walltime (job state 'timeout', or the code's walltime exit, pw.x
 *                             400) → walltime × 1.5 (whole seconds);
 *                   scheduler the scheduler lost the job (SLURM PREEMPTED, NODE_FAIL, BOOT_FAIL: `lostJob:
 *                             'resubmit'`, set by the workflow for cluster jobs) → resubmit it unchanged, from
 *                             scratch; a local job killed from outside → fail (someone stopped it);
 *                 and otherwise fail with the parsed reason. Generic restarts start from scratch.
 * - `checkpoint`  as `adaptive`, but a restart never throws away usable files of the last attempt: where adaptive
 *                 starts from scratch and the last attempt left reusable files (`generic.leftReusableFiles`; pw.x
 *                 printed JOB DONE, so its `<prefix>.save` holds a charge density), it starts from that charge
 *                 density instead (the code's `restartEdits('charge-density')`; pw.x: electrons.startingpot = 'file'). Restarts that already reuse files are kept (charge density, or
 *                 full for out-of-walltime / SCF non-convergence). Not converted: runs that crashed or were killed
 *                 (no JOB DONE: a diagonalization crash, 542, 503's interrupted trajectory, an OOM kill), whose files
 *                 are missing or half-written. Not 'full' everywhere: restart_mode = 'restart' reuses wavefunctions
 *                 and the ionic history, which breaks when nbnd or the structure changed.
 *                 Observable: e.g. 510 / 511 (adaptive: mixing_beta × 0.8 from scratch; checkpoint: the same from
 *                 the charge density), and the generic rules after a clean shutdown.
 *
 * For every strategy: a success (exit 0, or a 7xx warning) → finish; a cancelled job → fail (cancelled on
 * request: never restarted); a restart at `attempt >= maxAttempts` → fail "gave up after N attempts: <reason>";
 * handlers that finish (501, 710) still finish then. A handler's abort (e.g. diagonalization after cg) → fail.
 */
import { z } from 'zod';
import type { Code, CodeResult, FailureContext, Repair, RepairRecord, RestartFrom } from '../codes/code.ts';
import { applyParameterEdits, type CodeParameters, type ParameterChanges, type ParameterEdit } from '../codes/parameters.ts';
import type { Structure } from '../structure/structure.ts';
import { applyRule, RecoveryRuleSchema, ruleMatches } from './rules.ts';

export const RECOVERY_STRATEGIES = ['fail_fast', 'retry', 'adaptive', 'checkpoint'] as const;
export type ErrorRecoveryStrategy = (typeof RECOVERY_STRATEGIES)[number];

export const RecoveryPolicySchema = z.object({
  strategy: z.enum(RECOVERY_STRATEGIES).default('adaptive'),
  /** Attempts of one calculation in all, the first included. */
  maxAttempts: z.number().int().min(1).max(20).default(5),
  /** Custom rules (see rules.ts), tried in order before the built-in handlers by every strategy but fail_fast. */
  rules: z.array(RecoveryRuleSchema).max(50).default([]),
});
export type RecoveryPolicy = z.output<typeof RecoveryPolicySchema>;
export type RecoveryPolicyInput = z.input<typeof RecoveryPolicySchema>;

export type RecoveryJobState = 'completed' | 'failed' | 'timeout' | 'cancelled' | 'lost';

export interface RecoveryContext<R extends CodeResult = CodeResult> extends FailureContext<R> {
  /** The code that ran: its handlers, success codes and what the generic rules need to know. */
  code: Code<R>;
  /** The attempt that just ended, 1-based. */
  attempt: number;
  /** The resources it ran with. */
  resources: { walltimeSeconds: number; mpiRanks: number };
  jobState: RecoveryJobState;
  /** What the executor said about the job (e.g. "killed by the OOM killer"), if anything. */
  jobMessage?: string;
  /** A `lost` job: resubmit it (a scheduler preempted it or lost its node) or fail (default). */
  lostJob?: 'resubmit' | 'fail';
  /** Which generic adaptive rules apply: the seed's (default, histories before 0.3.0) or the reviewed ones. */
  genericRules?: 'seed' | 'reviewed';
}

/** The handlers of the generic rules that `genericRules: 'reviewed'` may decide differently. */
export const REVIEWED_GENERIC_HANDLERS: readonly string[] = ['adaptive_reduce_mpi_ranks', 'adaptive_relax_conv_thr'];

export interface RecoveryDecision {
  action: 'restart' | 'finish' | 'fail';
  /** The handler or rule that decided ('retry', a code's handler name, 'adaptive_*', 'custom:<rule>'). */
  handler?: string;
  message: string;
  /** restart: the complete overrides of the next attempt. */
  overrides?: CodeParameters;
  /** restart: the structure to start from when it is not the last attempt's; finish: the final structure. */
  structure?: Structure;
  /** restart: which files of the last attempt to stage. */
  restartFrom?: RestartFrom;
  /** restart: what changed ('namelist.key' or 'resources.key'). */
  changes?: ParameterChanges;
  /** restart: only the resources that change. */
  resources?: { walltimeSeconds?: number; mpiRanks?: number; partition?: string };
  /** finish: the exit code the calculation ends with (0, or a warning / partial success such as 501, 710). */
  exitCode?: number;
}

// ---------------------------------------------------------------------------------------------------------------

const WALLTIME_FACTOR = 1.5;
const CONV_THR_FACTOR = 10;
const MAX_WALLTIME_SECONDS = 60 * 60 * 24 * 30; // ResourcesSchema's bound

const MEMORY_RE = /\bmemory\b|cannot allocate|\boom\b|oom[-_ ]?kill|out[-_ ]of[-_ ]memory|bad_alloc/i;
const CONVERGENCE_RE = /converge/i;

/** The parsed reason of an attempt, one line. */
export function failureReason(ctx: RecoveryContext): string {
  const r = ctx.result;
  const detail = r.errorMessages[0] ? ` (${r.errorMessages[0]})` : '';
  const job = ctx.jobState === 'completed' ? '' : `; job ${ctx.jobState}${ctx.jobMessage ? `: ${ctx.jobMessage}` : ''}`;
  return `${r.exitName} (${r.exitCode}): ${r.exitMessage}${detail}${job}`;
}

/** What a handler found, for a message that must not say it repaired it. */
function problemOf(repair: Repair): string {
  return repair.action === 'restart' ? (repair.problem ?? `it would restart (${repair.message})`) : repair.message;
}

function fail(message: string, handler?: string): RecoveryDecision {
  return handler ? { action: 'fail', handler, message } : { action: 'fail', message };
}

function gaveUp(ctx: RecoveryContext, reason: string): RecoveryDecision {
  return fail(`gave up after ${ctx.attempt} attempts: ${reason}`);
}

function fromRepair(repair: Repair, reason: string): RecoveryDecision {
  switch (repair.action) {
    case 'abort':
      return fail(`${reason}; ${repair.handler}: ${repair.message}`, repair.handler);
    case 'finish': {
      const d: RecoveryDecision = { action: 'finish', handler: repair.handler, message: repair.message, exitCode: repair.exitCode };
      if (repair.structure) d.structure = repair.structure;
      return d;
    }
    case 'restart': {
      const d: RecoveryDecision = {
        action: 'restart',
        handler: repair.handler,
        message: repair.message,
        overrides: repair.overrides,
        restartFrom: repair.restartFrom,
        changes: repair.changes,
      };
      if (repair.structure) d.structure = repair.structure;
      return d;
    }
  }
}

/** New overrides with `edits` and the code's settings for `restartFrom` applied. */
function restartOverrides(ctx: RecoveryContext, edits: readonly ParameterEdit[], restartFrom: RestartFrom, overrides = ctx.overrides) {
  return applyParameterEdits({ parameters: ctx.parameters, overrides }, [...edits, ...ctx.code.restartEdits(restartFrom)]);
}

/** The generic adaptive rules (seed 000), for failures none of the code's handlers takes. */
function genericRule(ctx: RecoveryContext, reason: string): RecoveryDecision {
  const r = ctx.result;
  const reviewed = ctx.genericRules === 'reviewed';
  const texts = [...r.errorMessages, ...(reviewed ? [] : r.warnings), ctx.jobMessage ?? ''];

  if (texts.some((t) => MEMORY_RE.test(t))) {
    const from = ctx.resources.mpiRanks;
    if (from <= 1) return fail(`${reason}; out of memory with a single MPI rank: cannot reduce the parallelization further`, 'adaptive_reduce_mpi_ranks');
    const to = Math.max(1, Math.floor(from / 2));
    const { overrides, changes } = restartOverrides(ctx, [], 'scratch');
    return {
      action: 'restart',
      handler: 'adaptive_reduce_mpi_ranks',
      message: `memory error: reduced the MPI ranks from ${from} to ${to}, restarting from scratch`,
      overrides,
      restartFrom: 'scratch',
      changes: { ...changes, 'resources.mpiRanks': { from, to } },
      resources: { mpiRanks: to },
    };
  }

  const failed = ctx.code.generic.convergenceFailure(r) ?? (r.errorMessages.some((t) => CONVERGENCE_RE.test(t)) ? 'electronic' : undefined);
  const loosen = reviewed ? failed === 'electronic' : failed !== undefined;
  const loosened = loosen ? ctx.code.generic.loosenConvergence(ctx, CONV_THR_FACTOR) : undefined;
  if (loosened) {
    const { overrides, changes } = restartOverrides(ctx, loosened, 'scratch');
    const described = loosened.map((e) => `${e.key} from ${changes[`${e.group}.${e.key}`]?.from ?? e.assumed ?? 'unset'} to ${e.value}`).join(', ');
    return {
      action: 'restart',
      handler: 'adaptive_relax_conv_thr',
      message: `convergence failure without a specific handler: relaxed ${described}, restarting from scratch`,
      overrides,
      restartFrom: 'scratch',
      changes,
    };
  }

  if (ctx.jobState === 'timeout' || ctx.code.generic.isWalltimeFailure(r)) {
    const from = ctx.resources.walltimeSeconds;
    const to = Math.min(MAX_WALLTIME_SECONDS, Math.ceil(from * WALLTIME_FACTOR));
    if (to <= from) return fail(`${reason}; out of walltime at the largest walltime allowed (${from} s)`, 'adaptive_increase_walltime');
    const { overrides, changes } = restartOverrides(ctx, [], 'scratch');
    return {
      action: 'restart',
      handler: 'adaptive_increase_walltime',
      message: `out of walltime: increased the walltime from ${from} s to ${to} s, restarting from scratch`,
      overrides,
      restartFrom: 'scratch',
      changes: { ...changes, 'resources.walltimeSeconds': { from, to } },
      resources: { walltimeSeconds: to },
    };
  }

  if (ctx.jobState === 'lost') {
    if (ctx.lostJob === 'resubmit') {
      const { overrides, changes } = restartOverrides(ctx, [], 'scratch');
      return {
        action: 'restart',
        handler: 'adaptive_resubmit_lost_job',
        message: `the scheduler ended the job without a result (${ctx.jobMessage ?? 'no reason given'}): resubmitting it unchanged, from scratch`,
        overrides,
        restartFrom: 'scratch',
        changes,
      };
    }
    return fail(`${reason}; the job was stopped from outside the executor: not restarted`, 'adaptive_scheduler_failure');
  }

  return fail(`${reason}; no handler applies`);
}

/** checkpoint: reuse the charge density of a cleanly finished attempt where adaptive would start from scratch. */
function toCheckpoint(ctx: RecoveryContext, d: RecoveryDecision): RecoveryDecision {
  if (d.action !== 'restart' || d.restartFrom !== 'scratch' || !ctx.code.generic.leftReusableFiles(ctx.result)) return d;
  const { overrides, changes } = restartOverrides(ctx, [], 'charge-density', d.overrides ?? ctx.overrides);
  // the restart settings follow from the new overrides; the handler's own changes stay
  const merged: ParameterChanges = { ...(d.changes ?? {}) };
  for (const e of ctx.code.restartEdits('scratch')) delete merged[`${e.group}.${e.key.toLowerCase()}`];
  Object.assign(merged, changes);
  return {
    ...d,
    message: `${d.message} (checkpoint: from the last attempt's charge density instead)`,
    overrides,
    restartFrom: 'charge-density',
    changes: merged,
  };
}

/**
 * What to do after an attempt. `policy` may be the raw input (defaults applied here). See the module comment for
 * the strategies.
 */
export function decideRecovery(policy: RecoveryPolicyInput | RecoveryPolicy, ctx: RecoveryContext): RecoveryDecision {
  const { strategy, maxAttempts, rules } = RecoveryPolicySchema.parse(policy);
  const r = ctx.result;
  const reason = failureReason(ctx);

  if (ctx.jobState === 'cancelled') return fail(`${reason}; the job was cancelled on request: not restarted`);

  const success = ctx.code.isSuccess(r.exitCode);
  const repair = strategy === 'adaptive' || strategy === 'checkpoint' || success ? ctx.code.repair(ctx) : undefined;

  if (success) {
    if (!repair) return { action: 'finish', message: `finished: ${r.exitName} (${r.exitCode})`, exitCode: r.exitCode };
    if (repair.action === 'finish') return fromRepair(repair, reason);
    // a success that fails the sanity check (insufficient bands): these strategies do not repair it
    if (strategy === 'fail_fast' || strategy === 'retry') {
      return fail(
        `${r.exitName} (${r.exitCode}) but ${repair.handler} failed: ${problemOf(repair)}; not repaired under ${strategy}` +
          (strategy === 'retry' ? ' (the same input would give the same result)' : ''),
        repair.handler,
      );
    }
  }

  if (strategy === 'fail_fast') return fail(reason);

  let decision: RecoveryDecision;
  const rule = success ? undefined : rules.find((x) => ruleMatches(x, ctx));
  if (rule) {
    decision = { action: 'restart', ...applyRule(rule, ctx) };
  } else if (strategy === 'retry') {
    decision = {
      action: 'restart',
      handler: 'retry',
      message: 'retrying with the same input from scratch',
      overrides: ctx.overrides,
      restartFrom: 'scratch',
      changes: {},
    };
  } else {
    decision = repair ? fromRepair(repair, reason) : genericRule(ctx, reason);
    if (strategy === 'checkpoint') decision = toCheckpoint(ctx, decision);
  }

  if (decision.action === 'restart' && ctx.attempt >= maxAttempts) {
    const why = success && repair ? `${repair.handler}: ${problemOf(repair)}` : reason;
    return gaveUp(ctx, why);
  }
  return decision;
}

/** What a repair leaves for later handlers (their `previousRepairs`). */
export function toRepairRecord(r: { handler?: string; changes?: ParameterChanges; restartFrom?: RestartFrom }): RepairRecord {
  const record: RepairRecord = { handler: r.handler ?? 'unknown', changes: r.changes ?? {} };
  if (r.restartFrom) record.restartFrom = r.restartFrom;
  return record;
}
