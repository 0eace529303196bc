/**
 * Failures pw.x cannot be made to hit on demand, through the whole chain: parser → handler → workflow → real
 * pw.x. A clearly named stand-in executable (NOT pw.x) replays a failing output once: its stdout, CRASH file and
 * XML, with pw.x's exit status, or it stays running until the executor's walltime kills it. Then it runs the
 * real pw.x with the repaired input.
 *
 * What is replayed:
 * - real fixture files from ../shared/fixtures (cited by path). These are 462–465 and 468, plus 501 and the
 *   stdout of the 520 vc-relax: aiida's Si runs, so those tests start from the same Si cell;
 * - reproductions written for these tests in test/data/pw-reproductions, derived from real outputs (its
 *   README.md says from which and what was changed): 466, 467, 503, 542, the 520 relax, and the XML of the
 *   520 vc-relax;
 * - one real pw.x 6.7 recording (510), because a live run cannot also show the recovery (see that README).
 */
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { calculationResult, startCalculation } from '../../src/client.ts';
import type { AttemptRecord, CalculationInput, CalculationResult } from '../../src/domain/calculation.ts';
import type { RestartFrom } from '../../src/domain/codes/code.ts';
import type { ParameterChanges as PwChanges } from '../../src/domain/codes/parameters.ts';
import { pwXmlPath } from '../../src/domain/codes/qe/files.ts';
import { parsePwInputNamelists } from '../../src/domain/codes/qe/inputs.ts';
import { safePathPart } from '../../src/domain/jobs.ts';
import { builtinStructure } from '../../src/domain/structure/index.ts';
import type { Mat3, Structure } from '../../src/domain/structure/structure.ts';
import { cardRows, reproduction } from '../support/pw-fixtures.ts';
import { describeShared, fixture } from '../support/shared.ts';
import { startTestWorker, testSettings } from '../support/temporal.ts';

/** What the stand-in replays once: files by absolute path, and how it ends. */
interface Replay {
  stdout: string;
  crash?: string;
  xml?: string;
  /** pw.x's exit status for that output, or 'until-walltime': stay running until the executor's walltime kills it. */
  exit: number | 'until-walltime';
}

const pwFixture = (name: string, file: string) => fixture('qe', 'pw', name, file);

/** fcc Si, a = 5.43 Å: the cell aiida's Si fixtures start from (5.1306064 bohr half-edges in their XML). */
const A_HALF = 2.715;
const fccRows = (h: number): Mat3 => [[0, h, h], [h, 0, h], [h, h, 0]];
const si = (lattice: Mat3, second: [number, number, number] = [0.25, 0.25, 0.25]): Structure => ({
  lattice,
  sites: [
    { species: 'Si', frac: [0, 0, 0] },
    { species: 'Si', frac: second },
  ],
});

const expectRowsClose = (actual: number[][], expected: number[][]) => {
  expect(actual).toHaveLength(expected.length);
  actual.forEach((row, i) => row.forEach((v, j) => expect(v).toBeCloseTo(expected[i]![j]!, 8)));
};

describeShared('replayed failures repaired by the handlers (stand-in, then real pw.x)', () => {
  let env: TestWorkflowEnvironment;
  let stop: (() => Promise<void>) | undefined;
  const settings = testSettings('replayed');
  const standIn = join(settings.dataDir, 'pw-replay-standin.sh');
  const xmlPath = pwXmlPath();

  beforeAll(async () => {
    // Not pw.x: in each workflow's work tree it replays the output named by the `replay-*` files once, then
    // hands over to the real pw.x.
    writeFileSync(
      standIn,
      [
        '#!/bin/sh',
        'tree="$(cd ../.. && pwd)"',
        'if [ -e "$tree/replay-stdout" ] && [ ! -e "$tree/replayed-once" ]; then',
        '  touch "$tree/replayed-once"',
        '  if [ -e "$tree/replay-crash" ]; then cp "$(cat "$tree/replay-crash")" ./CRASH; fi',
        `  if [ -e "$tree/replay-xml" ]; then mkdir -p ${dirname(xmlPath)} && cp "$(cat "$tree/replay-xml")" ${xmlPath}; fi`,
        '  cat "$(cat "$tree/replay-stdout")"',
        '  status="$(cat "$tree/replay-exit")"',
        '  if [ "$status" = until-walltime ]; then exec sleep 3600; fi',
        '  exit "$status"',
        'fi',
        'exec pw.x "$@"',
        '',
      ].join('\n'),
    );
    chmodSync(standIn, 0o755);
    mkdirSync(join(settings.dataDir, 'clusters'), { recursive: true });
    writeFileSync(
      join(settings.dataDir, 'clusters', 'local.yaml'),
      `name: local\nscheduler: local\ntransport: local\nworkDir: ${settings.workRoot}\npartitions: []\nexecutables:\n  qe-pw: ${standIn}\n`,
    );
    ({ env, stop } = await startTestWorker(settings));
  });
  afterAll(async () => stop?.());

  /** One calculation whose first attempt is the replay; the rest is real pw.x. */
  async function replayed(tag: string, replay: Replay, input: Partial<CalculationInput>) {
    const workflowId = `replayed-${tag}-${Date.now()}`;
    const tree = join(settings.workRoot, safePathPart(workflowId));
    mkdirSync(tree, { recursive: true });
    writeFileSync(join(tree, 'replay-stdout'), replay.stdout);
    if (replay.crash) writeFileSync(join(tree, 'replay-crash'), replay.crash);
    if (replay.xml) writeFileSync(join(tree, 'replay-xml'), replay.xml);
    writeFileSync(join(tree, 'replay-exit'), String(replay.exit));
    const handle = await startCalculation(
      env.client,
      { code: 'qe-pw', structure: builtinStructure('Si')!, calculation: 'scf', protocol: 'fast', ...input },
      { taskQueue: settings.taskQueue, workflowId },
    );
    return calculationResult(handle);
  }
  /**
   * The first attempt (the replay) failed with `code`; `handler` repaired it with exactly `changes` (and, with
   * `outputStructure`, said it uses the replayed output's structure); the second attempt started from
   * `restartFrom`; the last attempt, real pw.x, succeeded. Returns the first two attempts.
   */
  function expectRepaired(
    result: CalculationResult,
    repair: { code: number; handler: string; changes: PwChanges; restartFrom: RestartFrom; outputStructure?: boolean },
  ): [AttemptRecord, AttemptRecord] {
    expect(result.ok).toBe(true);
    const [first, second] = result.attempts;
    expect(first!.exitCode).toBe(repair.code);
    expect(first!.decision).toMatchObject({ action: 'restart', handler: repair.handler });
    expect(first!.decision.changes).toEqual(repair.changes);
    if (repair.outputStructure) expect(first!.decision.message).toMatch(/using the output structure/);
    expect(second!.restartFrom).toBe(repair.restartFrom);
    expect(result.attempts.at(-1)!.exitCode).toBe(0);
    return [first!, second!];
  }
  const pwIn = (a: AttemptRecord) => readFileSync(join(a.workDir, 'pw.in'), 'utf8');
  const inputOf = (a: AttemptRecord) => parsePwInputNamelists(pwIn(a));
  const pwOut = (a: AttemptRecord) => readFileSync(join(a.workDir, 'pw.out'), 'utf8');
  /** Small k-mesh for the relaxations: pw.x takes seconds. */
  const kpoints = { mesh: [3, 3, 3] as [number, number, number] };

  it.each([
    ['fixture failed_computing_cholesky (CRASH file)', 462, { stdout: pwFixture('failed_computing_cholesky', 'aiida.out'), crash: pwFixture('failed_computing_cholesky', 'CRASH'), exit: 1 }],
    ['fixture failed_too_many_bands_not_converged (CRASH file)', 463, { stdout: pwFixture('failed_too_many_bands_not_converged', 'aiida.out'), crash: pwFixture('failed_too_many_bands_not_converged', 'CRASH'), exit: 1 }],
    ['fixture failed_s_matrix_not_positive_definite (CRASH file)', 464, { stdout: pwFixture('failed_s_matrix_not_positive_definite', 'aiida.out'), crash: pwFixture('failed_s_matrix_not_positive_definite', 'CRASH'), exit: 1 }],
    ['fixture failed_zhegvd_failed (CRASH file)', 465, { stdout: pwFixture('failed_zhegvd_failed', 'aiida.out'), crash: pwFixture('failed_zhegvd_failed', 'CRASH'), exit: 1 }],
    ['reproduction failed_eigenvectors_si (cdiaghg, stdout)', 467, { stdout: reproduction('failed_eigenvectors_si', 'aiida.out'), exit: 1 }],
    ['fixture failed_broyden_factorization (CRASH file)', 468, { stdout: pwFixture('failed_broyden_factorization', 'aiida.out'), crash: pwFixture('failed_broyden_factorization', 'CRASH'), exit: 1 }],
  ] satisfies [string, number, Replay][])('%s → %i: diagonalization david → ppcg, then real pw.x succeeds', async (label, code, replay) => {
    const result = await replayed(String(code), replay, {});
    const [, second] = expectRepaired(result, {
      code,
      handler: 'handle_diagonalization_errors',
      changes: { 'electrons.diagonalization': { from: 'david', to: 'ppcg' } },
      restartFrom: 'scratch',
    });
    expect(inputOf(second).electrons!.diagonalization).toBe('ppcg');
    expect(second.exitCode).toBe(0);
    expect(pwOut(second)).toMatch(/convergence has been achieved/);
  });

  it('reproduction failed_qr_si → 466 (ppcg only): diagonalization ppcg → david, then real pw.x succeeds', async () => {
    const result = await replayed('466', { stdout: reproduction('failed_qr_si', 'aiida.out'), exit: 0 }, { parameters: { electrons: { diagonalization: 'ppcg' } } });
    const [, second] = expectRepaired(result, {
      code: 466,
      handler: 'handle_diagonalization_errors',
      changes: { 'electrons.diagonalization': { from: 'ppcg', to: 'david' } },
      restartFrom: 'scratch',
    });
    expect(inputOf(second).electrons!.diagonalization).toBe('david');
    expect(second.exitCode).toBe(0);
  });

  it('fixture vcrelax_failed_not_converged_final_scf → 501: finishes with 501 and the relaxed structure, no restart', async () => {
    const name = 'vcrelax_failed_not_converged_final_scf';
    // press_conv_thr 0.5 kbar as in the fixture's run: its final SCF has 0.63 kbar, the last ionic step 0.40.
    const result = await replayed(
      '501',
      { stdout: pwFixture(name, 'aiida.out'), xml: pwFixture(name, 'data-file-schema.xml'), exit: 0 },
      { calculation: 'vc-relax', structure: si(fccRows(A_HALF)), kpoints, parameters: { cell: { press_conv_thr: 0.5 } } },
    );
    expect(result.ok).toBe(true);
    expect(result.exitCode).toBe(501);
    expect(result.attempts).toHaveLength(1);
    expect(result.attempts[0]!.exitCode).toBe(501);
    expect(result.attempts[0]!.decision).toMatchObject({ action: 'finish', handler: 'handle_vcrelax_converged_except_final_scf' });
    // The structure of the fixture's `Begin final coordinates` block, passed on as the calculation's result.
    expectRowsClose(result.finalStructure.lattice, fccRows(2.805965041));
    expectRowsClose(result.finalStructure.sites.map((s) => s.frac), [[0, 0, 0], [0.25, 0.25, 0.25]]);
  });

  it('fixture vcrelax_failed_bfgs_history (+ reproduced XML) → 520 vc-relax: trust_radius_min × 0.1 from the charge density, then real pw.x', async () => {
    // The fixture's stdout starts from fcc Si (a = 5.43 Å) with rows (a/2)(1,1,0), (1,0,1), (0,1,1).
    const h = A_HALF;
    const result = await replayed(
      '520-vc-relax',
      { stdout: pwFixture('vcrelax_failed_bfgs_history', 'aiida.out'), xml: reproduction('vcrelax_failed_bfgs_history_si', 'data-file-schema.xml'), exit: 0 },
      { calculation: 'vc-relax', structure: si([[h, h, 0], [h, 0, h], [0, h, h]]), kpoints },
    );
    const [, second] = expectRepaired(result, {
      code: 520,
      handler: 'handle_relax_recoverable_ionic_convergence_bfgs_history_error',
      changes: {
        'ions.trust_radius_min': { from: 0.001, to: 0.0001 },
        'ions.trust_radius_ini': { from: null, to: 0.001 },
        'electrons.startingpot': { from: null, to: 'file' },
      },
      restartFrom: 'charge-density',
      outputStructure: true,
    });
    const input = inputOf(second);
    expect(input.ions).toMatchObject({ ion_dynamics: 'bfgs', trust_radius_min: 0.0001, trust_radius_ini: 0.001 });
    expect(input.electrons!.startingpot).toBe('file');
    // The replay leaves the fixture's XML but no charge density in the staged <prefix>.save: pw.x says so and
    // starts from atomic charges (the staging of a real charge density is shown by recovery.test.ts).
    expect(pwOut(second)).toMatch(/Cannot read rho : file not found/);
    // The fixture's last structure (its final coordinates), not the input structure.
    const f = 2.805912455;
    expectRowsClose(cardRows(pwIn(second), 'CELL_PARAMETERS'), [[f, f, 0], [f, 0, f], [0, f, f]]);
    expectRowsClose(cardRows(pwIn(second), 'ATOMIC_POSITIONS'), [[0, 0, 0], [0.25, 0.25, 0.25]]);
    expect(result.attempts.at(-1)!.exitCode).toBe(0);
  });

  it('reproduction relax_failed_bfgs_history_si → 520 relax: damp dynamics from the charge density, then real pw.x', async () => {
    const dir = 'relax_failed_bfgs_history_si';
    const result = await replayed(
      '520-relax',
      { stdout: reproduction(dir, 'aiida.out'), xml: reproduction(dir, 'data-file-schema.xml'), exit: 0 },
      { calculation: 'relax', structure: si(fccRows(A_HALF), [0.26, 0.25, 0.24]), kpoints },
    );
    const [, second] = expectRepaired(result, {
      code: 520,
      handler: 'handle_relax_recoverable_ionic_convergence_bfgs_history_error',
      changes: { 'ions.ion_dynamics': { from: 'bfgs', to: 'damp' }, 'electrons.startingpot': { from: null, to: 'file' } },
      restartFrom: 'charge-density',
      outputStructure: true,
    });
    expect(inputOf(second).ions!.ion_dynamics).toBe('damp');
    expect(inputOf(second).electrons!.startingpot).toBe('file');
    // The reproduction's final coordinates.
    expectRowsClose(cardRows(pwIn(second), 'ATOMIC_POSITIONS'), [
      [0.0030345396, -0.0000970717, -0.0028403962],
      [0.2569654604, 0.2500970717, 0.2428403962],
    ]);
    expect(pwOut(second)).toMatch(/Damped Dynamics: convergence achieved/);
    expect(result.attempts.at(-1)!.exitCode).toBe(0);
  });

  it('reproduction vcrelax_interrupted_partial_trajectory_si, killed at its walltime → 503: last structure, from scratch, then real pw.x', async () => {
    // The stand-in prints the partial output and stays running: the executor's walltime really stops it.
    const result = await replayed(
      '503',
      { stdout: reproduction('vcrelax_interrupted_partial_trajectory_si', 'aiida.out'), exit: 'until-walltime' },
      { calculation: 'vc-relax', structure: si(fccRows(A_HALF)), kpoints, resources: { walltimeSeconds: 8, mpiRanks: 1 } },
    );
    const [first, second] = expectRepaired(result, {
      code: 503,
      handler: 'handle_ionic_interrupted_partial_trajectory',
      changes: {},
      restartFrom: 'scratch',
      outputStructure: true,
    });
    expect(first.job.state).toBe('timeout');
    const input = inputOf(second);
    expect(input.control!.restart_mode).toBeUndefined();
    expect(input.electrons!.startingpot).toBeUndefined();
    expectRowsClose(cardRows(pwIn(second), 'CELL_PARAMETERS'), fccRows(2.736035151));
    expect(result.attempts.at(-1)!.exitCode).toBe(0);
  });

  it('reproduction vcrelax_failed_fft_significant_volume_contraction_si (+ fixture CRASH) → 542: cell_factor × 2, output structure, from scratch, then real pw.x', async () => {
    // Expanded Si (a = 6.00 Å) with cell_factor 1.1: the reproduction's step to a = 5.40 Å contracts it by 10 %.
    const result = await replayed(
      '542',
      {
        stdout: reproduction('vcrelax_failed_fft_significant_volume_contraction_si', 'aiida.out'),
        crash: pwFixture('vcrelax_failed_fft_significant_volume_contraction', 'CRASH'),
        exit: 1,
      },
      { calculation: 'vc-relax', structure: si(fccRows(3.0)), kpoints, parameters: { cell: { cell_factor: 1.1 } } },
    );
    const [, second] = expectRepaired(result, {
      code: 542,
      handler: 'handle_vcrelax_recoverable_fft_significant_volume_contraction_error',
      changes: { 'cell.cell_factor': { from: 1.1, to: 2.2 } },
      restartFrom: 'scratch',
      outputStructure: true,
    });
    expect(inputOf(second).cell!.cell_factor).toBe(2.2);
    expect(inputOf(second).electrons!.startingpot).toBeUndefined();
    expectRowsClose(cardRows(pwIn(second), 'CELL_PARAMETERS'), fccRows(2.7));
    expect(result.attempts.at(-1)!.exitCode).toBe(0);
  });

  it('recorded real pw.x 510 (SCF of the 3rd ionic step not converged) → mixing_beta × 0.8, output structure, from scratch, then real pw.x', async () => {
    const dir = 'vcrelax_failed_electronic_si_recorded';
    const strained = si(builtinStructure('Si')!.lattice.map((row) => row.map((x) => x * 1.03)) as Mat3);
    const result = await replayed(
      '510',
      { stdout: reproduction(dir, 'pw.out'), xml: reproduction(dir, 'data-file-schema.xml'), exit: 2 },
      { calculation: 'vc-relax', structure: strained, kpoints },
    );
    const [first, second] = expectRepaired(result, {
      code: 510,
      handler: 'handle_relax_recoverable_electronic_convergence_error',
      changes: { 'electrons.mixing_beta': { from: 0.4, to: 0.32 } },
      restartFrom: 'scratch',
      outputStructure: true,
    });
    expect(first.job.exitStatus).toBe(2);
    const input = inputOf(second);
    expect(input.electrons!.mixing_beta).toBe(0.32);
    expect(input.electrons!.startingpot).toBeUndefined();
    expectRowsClose(cardRows(pwIn(second), 'CELL_PARAMETERS'), fccRows(2.716189297));
    expect(result.attempts.at(-1)!.exitCode).toBe(0);
  });
});
