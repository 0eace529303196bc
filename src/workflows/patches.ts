/**
 * Behaviour changes of shipped workflows, each guarded with `patched(id)` so histories of workflows started by
 * an earlier release still replay (test/workflows/replay.test.ts replays every release's recordings). Life of
 * a patch: `patched()` while workflows of the older release may still run; `deprecatePatch()` once none can
 * (all closed, past retention); then removed with the old branch.
 */
export const PATCHES = {
  /** 0.2.0: the calculation's outcome (status, exit code, total energy) goes into the memo, for `crystalmath list` and the Web UI. */
  outcomeInMemo: 'calculation-outcome-in-memo',
  /** 0.2.0: a cluster job the scheduler lost (PREEMPTED, NODE_FAIL, ...) is resubmitted instead of failing the calculation. */
  resubmitLostJobs: 'calculation-resubmit-lost-jobs',
  /** 0.3.0: the generic adaptive rules no longer read memory errors from warnings nor loosen conv_thr for ionic failures. */
  reviewedGenericRules: 'calculation-reviewed-generic-rules',
  /** 0.3.0: a local job's activities go to the task queue of the host that runs it (src/workflows/local-host.ts). */
  localJobsOnTheirHost: 'local-jobs-on-their-host',
  /** 0.3.0: a cancelled plan ends cancelled (after its steps' children and jobs are), not failed. */
  planCancelled: 'plan-cancelled-not-failed',
  /** 0.3.0: the DOS window is ±20 eV around the scf's Fermi level (or highest occupied level), not −20..20 eV absolute. */
  dosWindowAtReference: 'dos-window-at-scf-reference',
} as const;
