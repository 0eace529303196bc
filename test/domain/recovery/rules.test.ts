import { describe, expect, it } from 'vitest';
import { decideRecovery, RecoveryPolicySchema, type RecoveryContext } from '../../../src/domain/recovery/strategy.ts';
import type { PwResult } from '../../../src/domain/codes/qe/parse.ts';
import { qePw } from '../../../src/domain/codes/qe/pw.ts';

const si = { lattice: [[0, 2.7, 2.7], [2.7, 0, 2.7], [2.7, 2.7, 0]] as [[number, number, number], [number, number, number], [number, number, number]], sites: [{ species: 'Si', frac: [0, 0, 0] as [number, number, number] }] };
const ctx = (exitCode: number, over: Partial<RecoveryContext> = {}): RecoveryContext => ({
  code: qePw,
  calculation: 'scf',
  parameters: { electrons: { mixing_beta: 0.4, conv_thr: 1e-9 } },
  overrides: {},
  structure: si,
  result: { exitCode, exitName: 'X', exitMessage: 'The electronic minimization cycle did not reach self-consistency.', warnings: [], errorMessages: [], jobDone: true } as unknown as PwResult,
  previousRepairs: [],
  attempt: 1,
  resources: { walltimeSeconds: 3600, mpiRanks: 8 },
  jobState: 'failed',
  ...over,
});

const gentle = { name: 'gentle', when: { exitCodes: [410] }, set: { 'electrons.mixing_beta': 0.1 }, multiply: { 'electrons.conv_thr': 10 }, resources: { mpiRanksFactor: 0.5 }, restartFrom: 'full' as const };

describe('custom recovery rules (data the workflow interprets)', () => {
  it('a matching rule decides before the built-in handlers, with exact changes', () => {
    const d = decideRecovery({ strategy: 'adaptive', rules: [gentle] }, ctx(410));
    expect(d).toMatchObject({ action: 'restart', handler: 'custom:gentle', restartFrom: 'full', resources: { mpiRanks: 4 } });
    expect(d.changes).toMatchObject({
      'electrons.mixing_beta': { from: 0.4, to: 0.1 },
      'electrons.conv_thr': { from: 1e-9, to: 1e-8 },
      'control.restart_mode': { from: null, to: 'restart' },
      'resources.mpiRanks': { from: 8, to: 4 },
    });
  });
  it('a rule that does not match leaves the built-in handler in charge; fail_fast ignores rules', () => {
    expect(decideRecovery({ rules: [gentle] }, ctx(462)).handler).toBe('handle_diagonalization_errors');
    expect(decideRecovery({ strategy: 'fail_fast', rules: [gentle] }, ctx(410)).action).toBe('fail');
  });
  it('matches messages and job states; the bound on attempts still holds', () => {
    const oom = { name: 'oom', when: { messageMatches: 'cannot allocate' }, resources: { mpiRanksFactor: 0.5 } };
    const c = ctx(312, { result: { ...ctx(312).result, errorMessages: ['Error: Cannot allocate memory'] } });
    expect(decideRecovery({ rules: [oom] }, c).handler).toBe('custom:oom');
    const slow = { name: 'slow', when: { jobStates: ['timeout' as const] }, resources: { walltimeFactor: 2 } };
    expect(decideRecovery({ rules: [slow] }, ctx(400, { jobState: 'timeout' })).resources).toEqual({ walltimeSeconds: 7200 });
    expect(decideRecovery({ maxAttempts: 2, rules: [gentle] }, ctx(410, { attempt: 2 })).action).toBe('fail');
  });
  it('invalid rules are rejected naming the field', () => {
    const bad = RecoveryPolicySchema.safeParse({ rules: [{ name: 'x', when: { messageMatches: '(' }, set: { 'electrons mixing': 1 } }] });
    expect(bad.success).toBe(false);
    const paths = bad.error!.issues.map((i) => i.path.join('.'));
    expect(paths).toContain('rules.0.when.messageMatches');
    expect(paths.some((p) => p.startsWith('rules.0.set'))).toBe(true);
  });
});
