import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { pwExitByCode } from '../../../src/domain/codes/qe/exit-codes.ts';
import type { RepairRecord as PwRepairRecord } from '../../../src/domain/codes/code.ts';
import type { PwFailureContext } from '../../../src/domain/codes/qe/handlers.ts';
import { qePw } from '../../../src/domain/codes/qe/pw.ts';
import type { PwParameters } from '../../../src/domain/codes/qe/inputs.ts';
import { parsePwOutput, type PwResult } from '../../../src/domain/codes/qe/parse.ts';
import type { Structure } from '../../../src/domain/structure/structure.ts';
import {
  RECOVERY_STRATEGIES,
  RecoveryPolicySchema,
  decideRecovery,
  toRepairRecord,
  type ErrorRecoveryStrategy,
  type RecoveryContext,
  type RecoveryDecision,
} from '../../../src/domain/recovery/strategy.ts';
import { pwParametersFor, pwResult } from '../../support/pw-results.ts';
import { describeShared, fixture } from '../../support/shared.ts';
import { builtinStructure } from '../../../src/domain/structure/index.ts';

// ---------------------------------------------------------------------------------------------------------------
// Helpers

const SI: Structure = builtinStructure('Si')!;

const RELAXED = {
  finalCell: { units: 'angstrom', vectors: [[0, 2.75, 2.75], [2.75, 0, 2.75], [2.75, 2.75, 0]] },
  finalPositions: { units: 'crystal', species: ['Si', 'Si'], positions: [[0, 0, 0], [0.26, 0.25, 0.25]] },
};

const result = pwResult;
const parametersFor = pwParametersFor;

function ctxFor(
  calculation: PwFailureContext['calculation'],
  res: PwResult,
  opts: Partial<Omit<RecoveryContext, 'calculation' | 'result'>> = {},
): RecoveryContext {
  const overrides = opts.overrides ?? {};
  return {
    code: qePw,
    calculation,
    parameters: opts.parameters ?? parametersFor(calculation, overrides),
    overrides,
    structure: opts.structure ?? SI,
    result: res,
    previousRepairs: opts.previousRepairs ?? [],
    attempt: opts.attempt ?? 1,
    resources: opts.resources ?? { walltimeSeconds: 3600, mpiRanks: 4 },
    jobState: opts.jobState ?? (res.exitCode === 0 ? 'completed' : 'failed'),
    ...(opts.jobMessage !== undefined ? { jobMessage: opts.jobMessage } : {}),
    ...(opts.lostJob !== undefined ? { lostJob: opts.lostJob } : {}),
  };
}

const decide = (strategy: ErrorRecoveryStrategy, ctx: RecoveryContext, maxAttempts = 5) => decideRecovery({ strategy, maxAttempts }, ctx);

function expectJsonSafe(d: RecoveryDecision): void {
  expect(JSON.parse(JSON.stringify(d))).toEqual(d);
}

// ---------------------------------------------------------------------------------------------------------------

describe('RecoveryPolicySchema', () => {
  it('defaults: adaptive, 5 attempts', () => {
    expect(RecoveryPolicySchema.parse({})).toEqual({ strategy: 'adaptive', maxAttempts: 5, rules: [] });
    expect(RECOVERY_STRATEGIES).toEqual(['fail_fast', 'retry', 'adaptive', 'checkpoint']);
  });

  it('rejects unknown strategies and attempts outside 1..20 or not whole', () => {
    for (const bad of [{ strategy: 'ADAPTIVE' }, { strategy: 'restart' }, { maxAttempts: 0 }, { maxAttempts: 21 }, { maxAttempts: 2.5 }]) {
      expect(RecoveryPolicySchema.safeParse(bad).success, JSON.stringify(bad)).toBe(false);
    }
    expect(RecoveryPolicySchema.parse({ strategy: 'checkpoint', maxAttempts: 20, rules: [] })).toEqual({ strategy: 'checkpoint', maxAttempts: 20, rules: [] });
  });
});

describe('decideRecovery: success', () => {
  it('finish for every strategy', () => {
    for (const s of RECOVERY_STRATEGIES) {
      const d = decide(s, ctxFor('scf', result(0, { insufficientBands: false, numberOfBands: 8 })));
      expect(d).toMatchObject({ action: 'finish', exitCode: 0 });
    }
  });

  it('a 710 warning finishes with 710 for every strategy', () => {
    for (const s of RECOVERY_STRATEGIES) {
      expect(decide(s, ctxFor('scf', result(710)))).toMatchObject({ action: 'finish', exitCode: 710 });
    }
  });

  it('insufficient bands: adaptive / checkpoint add bands from the charge density; fail_fast / retry fail', () => {
    const res = result(0, { insufficientBands: true, numberOfBands: 20 });
    for (const s of ['adaptive', 'checkpoint'] as const) {
      const d = decide(s, ctxFor('scf', res));
      expect(d).toMatchObject({ action: 'restart', handler: 'sanity_check_insufficient_bands', restartFrom: 'charge-density' });
      expect(d.overrides).toEqual({ system: { nbnd: 24 }, electrons: { startingpot: 'file' } });
    }
    // fail_fast and retry say what was found, not the repair they did not do (issue 19)
    const occupied = `the highest band holds up to ${res.highestBandOccupationMax ?? '?'} electrons (insufficient bands)`;
    expect(decide('fail_fast', ctxFor('scf', res))).toEqual({
      action: 'fail',
      handler: 'sanity_check_insufficient_bands',
      message: `SUCCESS (0) but sanity_check_insufficient_bands failed: ${occupied}; not repaired under fail_fast`,
    });
    expect(decide('retry', ctxFor('scf', res)).message).toBe(
      `SUCCESS (0) but sanity_check_insufficient_bands failed: ${occupied}; not repaired under retry (the same input would give the same result)`,
    );
    // at the last attempt: it gave up, so it did not increase nbnd either
    expect(decide('adaptive', ctxFor('scf', res, { attempt: 5 })).message).toBe(`gave up after 5 attempts: sanity_check_insufficient_bands: ${occupied}`);
    for (const s of ['fail_fast', 'retry'] as const) expect(decide(s, ctxFor('scf', res)).message).not.toMatch(/increased|restarting/);
  });
});

describe('decideRecovery: the strategies differ on the same failure', () => {
  it('410 (SCF not converged): fail / same again / mixing_beta 0.32 in full / (checkpoint: as adaptive, already full)', () => {
    const ctx = ctxFor('scf', result(410), { overrides: { system: { nbnd: 12 } } });
    const failFast = decide('fail_fast', ctx);
    expect(failFast).toEqual({ action: 'fail', message: expect.stringMatching(/^ERROR_ELECTRONIC_CONVERGENCE_NOT_REACHED \(410\): /) });

    const retry = decide('retry', ctx);
    expect(retry).toEqual({
      action: 'restart',
      handler: 'retry',
      message: expect.any(String),
      overrides: { system: { nbnd: 12 } },
      restartFrom: 'scratch',
      changes: {},
    });

    const adaptive = decide('adaptive', ctx);
    expect(adaptive).toMatchObject({
      action: 'restart',
      handler: 'handle_electronic_convergence_not_reached',
      restartFrom: 'full',
      overrides: { system: { nbnd: 12 }, electrons: { mixing_beta: 0.32 }, control: { restart_mode: 'restart' } },
      changes: { 'electrons.mixing_beta': { from: 0.4, to: 0.32 }, 'control.restart_mode': { from: null, to: 'restart' } },
    });
    expect(adaptive.resources).toBeUndefined();

    // aiida's 410 handler already reuses everything (full restart): checkpoint has nothing more to reuse
    expect(decide('checkpoint', ctx)).toEqual(adaptive);
    for (const d of [failFast, retry, adaptive]) expectJsonSafe(d);
  });

  it('510 (SCF failed in a relax): all four differ', () => {
    const ctx = ctxFor('relax', result(510, RELAXED));
    const ds = Object.fromEntries(RECOVERY_STRATEGIES.map((s) => [s, decide(s, ctx)])) as Record<ErrorRecoveryStrategy, RecoveryDecision>;
    expect(ds.fail_fast.action).toBe('fail');
    expect(ds.retry).toMatchObject({ action: 'restart', handler: 'retry', overrides: {}, changes: {}, restartFrom: 'scratch' });
    expect(ds.retry.structure).toBeUndefined();
    expect(ds.adaptive).toMatchObject({
      action: 'restart',
      handler: 'handle_relax_recoverable_electronic_convergence_error',
      restartFrom: 'scratch',
      overrides: { electrons: { mixing_beta: 0.32 } },
      changes: { 'electrons.mixing_beta': { from: 0.4, to: 0.32 } },
    });
    expect(ds.adaptive.structure?.sites[1]!.frac).toEqual([0.26, 0.25, 0.25]);
    expect(ds.checkpoint).toMatchObject({
      action: 'restart',
      handler: 'handle_relax_recoverable_electronic_convergence_error',
      restartFrom: 'charge-density',
      overrides: { electrons: { mixing_beta: 0.32, startingpot: 'file' } },
      changes: { 'electrons.mixing_beta': { from: 0.4, to: 0.32 }, 'electrons.startingpot': { from: null, to: 'file' } },
    });
    expect(ds.checkpoint.structure).toEqual(ds.adaptive.structure);
    expect(ds.checkpoint.message).toMatch(/checkpoint/);
    const distinct = new Set(Object.values(ds).map((d) => JSON.stringify(d)));
    expect(distinct.size).toBe(4);
  });

  it('checkpoint keeps from-scratch restarts when the last attempt crashed (no JOB DONE: files unusable)', () => {
    const crashed = ctxFor('scf', result(462, { jobDone: false }));
    expect(decide('checkpoint', crashed)).toEqual(decide('adaptive', crashed));
    expect(decide('checkpoint', crashed).restartFrom).toBe('scratch');
    const interrupted = ctxFor('relax', result(503, { jobDone: false, ...RELAXED }), { jobState: 'timeout' });
    expect(decide('checkpoint', interrupted).restartFrom).toBe('scratch');
  });
});

describe('decideRecovery: attempts and aborts', () => {
  it('restarts until maxAttempts, then gives up with the last reason', () => {
    for (const s of ['retry', 'adaptive', 'checkpoint'] as const) {
      expect(decide(s, ctxFor('scf', result(410), { attempt: 4 })).action).toBe('restart');
      const d = decide(s, ctxFor('scf', result(410), { attempt: 5 }));
      expect(d).toEqual({ action: 'fail', message: expect.stringMatching(/^gave up after 5 attempts: ERROR_ELECTRONIC_CONVERGENCE_NOT_REACHED \(410\)/) });
    }
    expect(decide('adaptive', ctxFor('scf', result(410)), 1).message).toMatch(/^gave up after 1 attempts/);
  });

  it('handlers that finish still finish at the last attempt', () => {
    expect(decide('adaptive', ctxFor('vc-relax', result(501, RELAXED), { attempt: 5 }))).toMatchObject({
      action: 'finish',
      exitCode: 501,
      structure: { lattice: RELAXED.finalCell.vectors },
    });
  });

  it('diagonalization: ppcg, paro, cg, then fail (the abort), as a workflow loop would see it', () => {
    for (const strategy of ['adaptive', 'checkpoint'] as const) {
      let overrides: PwParameters = {};
      const previousRepairs: PwRepairRecord[] = [];
      const seen: string[] = [];
      for (let attempt = 1; attempt <= 10; attempt++) {
        const d = decideRecovery({ strategy, maxAttempts: 10 }, ctxFor('scf', result(462, { jobDone: false }), { attempt, overrides, previousRepairs: [...previousRepairs] }));
        if (d.action !== 'restart') {
          expect(d).toMatchObject({ action: 'fail', handler: 'handle_diagonalization_errors' });
          expect(d.message).toMatch(/ERROR_COMPUTING_CHOLESKY \(462\).*already tried all supported algorithms/);
          seen.push('fail');
          break;
        }
        seen.push(String(d.overrides?.electrons?.diagonalization));
        previousRepairs.push(toRepairRecord(d));
        overrides = d.overrides ?? {};
      }
      expect(seen).toEqual(['ppcg', 'paro', 'cg', 'fail']);
    }
  });

  it('with maxAttempts 3 the same loop gives up before cg', () => {
    let overrides: PwParameters = {};
    const previousRepairs: PwRepairRecord[] = [];
    const actions: string[] = [];
    for (let attempt = 1; attempt <= 3; attempt++) {
      const d = decideRecovery({ maxAttempts: 3 }, ctxFor('scf', result(462), { attempt, overrides, previousRepairs: [...previousRepairs] }));
      actions.push(d.action === 'restart' ? String(d.overrides?.electrons?.diagonalization) : d.message);
      if (d.action !== 'restart') break;
      previousRepairs.push(toRepairRecord(d));
      overrides = d.overrides ?? {};
    }
    expect(actions[0]).toBe('ppcg');
    expect(actions[1]).toBe('paro');
    expect(actions[2]).toMatch(/^gave up after 3 attempts: ERROR_COMPUTING_CHOLESKY/);
  });

  it('a cancelled job is never restarted', () => {
    for (const s of RECOVERY_STRATEGIES) {
      const d = decide(s, ctxFor('scf', result(312, { jobDone: false }), { jobState: 'cancelled' }));
      expect(d.action).toBe('fail');
      expect(d.message).toMatch(/cancelled on request/);
    }
  });
});

describe('decideRecovery: generic adaptive rules (no pw.x handler)', () => {
  it('memory error → half the MPI ranks, from scratch (stale restart settings removed)', () => {
    const res = result(312, { jobDone: false, errorMessages: ['Error in routine allocate (1): Cannot allocate memory'] });
    const d = decide('adaptive', ctxFor('scf', res, { overrides: { electrons: { startingpot: 'file' } }, resources: { walltimeSeconds: 3600, mpiRanks: 8 } }));
    expect(d).toMatchObject({
      action: 'restart',
      handler: 'adaptive_reduce_mpi_ranks',
      restartFrom: 'scratch',
      overrides: {},
      resources: { mpiRanks: 4 },
      changes: { 'resources.mpiRanks': { from: 8, to: 4 }, 'electrons.startingpot': { from: 'file', to: null } },
    });
    expectJsonSafe(d);
    // odd counts round down; never below 1; at 1 → fail
    expect(decide('adaptive', ctxFor('scf', res, { resources: { walltimeSeconds: 3600, mpiRanks: 3 } })).resources).toEqual({ mpiRanks: 1 });
    expect(decide('adaptive', ctxFor('scf', res, { resources: { walltimeSeconds: 3600, mpiRanks: 1 } }))).toMatchObject({
      action: 'fail',
      message: expect.stringMatching(/single MPI rank/),
    });
  });

  it("memory error from the executor's message (OOM killer), even for a lost job", () => {
    const d = decide('adaptive', ctxFor('scf', result(312, { jobDone: false }), { jobState: 'lost', jobMessage: 'killed by the OOM killer' }));
    expect(d).toMatchObject({ action: 'restart', resources: { mpiRanks: 2 } });
  });

  it('convergence failure without a specific handler → conv_thr × 10', () => {
    const res = result(312, { jobDone: false, errorMessages: ['Error in routine electrons (1): charge density not converged'] });
    const d = decide('adaptive', ctxFor('scf', res));
    expect(d).toMatchObject({
      action: 'restart',
      handler: 'adaptive_relax_conv_thr',
      restartFrom: 'scratch',
      overrides: { electrons: { conv_thr: 4e-9 } },
      changes: { 'electrons.conv_thr': { from: 4e-10, to: 4e-9 } },
    });
  });

  it("reviewed generic rules (0.3.0): a warning about memory is no memory error; an ionic failure keeps its SCF threshold", () => {
    const ramWarning = result(312, { jobDone: false, warnings: ['Estimated max dynamical RAM per process > 2 GB: not enough memory per node?'] });
    expect(decide('adaptive', ctxFor('scf', ramWarning))).toMatchObject({ action: 'restart', handler: 'adaptive_reduce_mpi_ranks' });
    const reviewedRam = decide('adaptive', { ...ctxFor('scf', ramWarning), genericRules: 'reviewed' });
    expect(reviewedRam).toMatchObject({ action: 'fail', message: expect.stringMatching(/no handler applies/) });
    // a real memory error still halves the ranks
    const oom = result(312, { jobDone: false, errorMessages: ['Cannot allocate memory'] });
    expect(decide('adaptive', { ...ctxFor('scf', oom), genericRules: 'reviewed' })).toMatchObject({ handler: 'adaptive_reduce_mpi_ranks' });
    // an ionic failure no handler takes (pw.x's own handlers take every ionic exit, so: pw.x without its handlers):
    // the seed's rules loosen the SCF threshold, the reviewed ones fail with the reason
    const unhandled = { ...ctxFor('relax', result(520, { jobDone: true })), code: { ...qePw, repair: () => undefined } };
    expect(decide('adaptive', unhandled)).toMatchObject({ handler: 'adaptive_relax_conv_thr' });
    expect(decide('adaptive', { ...unhandled, genericRules: 'reviewed' })).toMatchObject({ action: 'fail', message: expect.stringMatching(/no handler applies/) });
    // an electronic failure without a handler is still loosened
    const scf = result(312, { jobDone: false, errorMessages: ['charge density not converged'] });
    expect(decide('adaptive', { ...ctxFor('scf', scf), genericRules: 'reviewed' })).toMatchObject({ handler: 'adaptive_relax_conv_thr', overrides: { electrons: { conv_thr: 4e-9 } } });
  });

  it('timeout (the executor stopped it) → walltime × 1.5', () => {
    const d = decide('adaptive', ctxFor('scf', result(312, { jobDone: false }), { jobState: 'timeout' }));
    expect(d).toMatchObject({
      action: 'restart',
      handler: 'adaptive_increase_walltime',
      restartFrom: 'scratch',
      resources: { walltimeSeconds: 5400 },
      changes: { 'resources.walltimeSeconds': { from: 3600, to: 5400 } },
    });
    // killed during pw.x's own clean stop (340): also a walltime problem
    expect(decide('adaptive', ctxFor('scf', result(340, { jobDone: false }))).resources).toEqual({ walltimeSeconds: 5400 });
    // a clean stop for walltime (400) is the pw.x handler's: full restart, same walltime
    const clean = decide('adaptive', ctxFor('scf', result(400), { jobState: 'timeout' }));
    expect(clean).toMatchObject({ handler: 'handle_out_of_walltime', restartFrom: 'full' });
    expect(clean.resources).toBeUndefined();
  });

  it('lost job: a local job stopped from outside → fail; a cluster job the scheduler lost → resubmitted unchanged', () => {
    const local = decide('adaptive', ctxFor('scf', result(312, { jobDone: false }), { jobState: 'lost' }));
    expect(local).toMatchObject({ action: 'fail', handler: 'adaptive_scheduler_failure' });
    expect(local.message).toMatch(/stopped from outside the executor: not restarted/);
    const preempted = { jobState: 'lost' as const, jobMessage: 'preempted: SLURM PREEMPTED the job for another one', lostJob: 'resubmit' as const };
    for (const strategy of ['adaptive', 'checkpoint'] as const) {
      const d = decide(strategy, ctxFor('scf', result(312, { jobDone: false }), preempted));
      expect(d).toMatchObject({ action: 'restart', handler: 'adaptive_resubmit_lost_job', restartFrom: 'scratch', changes: {} });
      expect(d.resources).toBeUndefined();
      expect(d.message).toMatch(/\(preempted: SLURM PREEMPTED the job for another one\): resubmitting it unchanged/);
    }
    expect(decide('fail_fast', ctxFor('scf', result(312, { jobDone: false }), preempted)).action).toBe('fail');
    // bounded like every restart
    expect(decide('adaptive', ctxFor('scf', result(312, { jobDone: false }), { ...preempted, attempt: 5 })).message).toMatch(/gave up after 5 attempts/);
  });

  it('anything else → fail with the parsed reason', () => {
    const d = decide('adaptive', ctxFor('scf', result(531, { errorMessages: ['charge is wrong'] })));
    expect(d).toEqual({ action: 'fail', message: expect.stringMatching(/^ERROR_CHARGE_IS_WRONG \(531\): .*\(charge is wrong\).*no handler applies/) });
  });

  it('fail_fast and retry do not apply the generic rules', () => {
    const res = result(312, { jobDone: false, errorMessages: ['Cannot allocate memory'] });
    expect(decide('fail_fast', ctxFor('scf', res)).action).toBe('fail');
    const retry = decide('retry', ctxFor('scf', res));
    expect(retry).toMatchObject({ action: 'restart', handler: 'retry', changes: {} });
    expect(retry.resources).toBeUndefined();
  });

  it('is deterministic: the same context gives the same decision', () => {
    const ctx = ctxFor('vc-relax', result(520, RELAXED));
    expect(decide('adaptive', ctx)).toEqual(decide('adaptive', ctx));
  });
});

describeShared('decideRecovery on real outputs', () => {
  it('our pw.x 6.7 vc-relax with a Pulay stress (501): adaptive finishes with the output structure, fail_fast fails', () => {
    const res = parsePwOutput({ stdout: readFileSync(fixture('qe', 'pw-debian-6.7', 'vcrelax_success', 'pw.out'), 'utf8'), expectXml: false });
    expect(res.exitCode).toBe(501);
    const d = decide('adaptive', ctxFor('vc-relax', res));
    expect(d).toMatchObject({ action: 'finish', exitCode: 501 });
    expect(d.structure?.sites).toHaveLength(2);
    expect(decide('fail_fast', ctxFor('vc-relax', res)).action).toBe('fail');
  });

  it('our pw.x 6.7 vc-relax that hit nstep (502): adaptive and checkpoint restart from the charge density with the output structure', () => {
    const res = parsePwOutput({
      stdout: readFileSync(fixture('qe', 'pw-debian-6.7', 'vcrelax_nstep_exceeded', 'pw.out'), 'utf8'),
      processExitStatus: 3,
      expectXml: false,
    });
    expect(res.exitCode).toBe(502);
    for (const s of ['adaptive', 'checkpoint'] as const) {
      const d = decide(s, ctxFor('vc-relax', res));
      expect(d).toMatchObject({ action: 'restart', handler: 'handle_relax_recoverable_ionic_convergence_error', restartFrom: 'charge-density' });
      expect(d.structure).toBeDefined();
    }
  });
});
