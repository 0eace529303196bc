import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { pwExitByCode } from '../../../src/domain/codes/qe/exit-codes.ts';
import type { Repair as PwRepair } from '../../../src/domain/codes/code.ts';
import { applyParameterEdits } from '../../../src/domain/codes/parameters.ts';
import { PW_HANDLERS, handlePwResult, pwRestartEdits, restartFromParameters, type PwFailureContext } from '../../../src/domain/codes/qe/handlers.ts';
import { toRepairRecord } from '../../../src/domain/recovery/strategy.ts';
import type { PwParameters } from '../../../src/domain/codes/qe/inputs.ts';
import { parsePwOutput, type PwResult } from '../../../src/domain/codes/qe/parse.ts';
import { structureFromPwOutput } from '../../../src/domain/codes/qe/restart.ts';
import { BOHR_TO_ANGSTROM } from '../../../src/domain/units.ts';
import { fracToCart, volume } from '../../../src/domain/structure/lattice.ts';
import type { Mat3, Structure } from '../../../src/domain/structure/structure.ts';
import { pwParametersFor, pwResult } from '../../support/pw-results.ts';
import { describeShared, fixture } from '../../support/shared.ts';
import { builtinStructure } from '../../../src/domain/structure/index.ts';
import { pwCase, reproduction } from '../../support/pw-fixtures.ts';

// ---------------------------------------------------------------------------------------------------------------
// Helpers

const SI: Structure = builtinStructure('Si')!;
const A = SI.lattice[0]![1]!; // a / 2 of diamond Si, Å

const result = pwResult;
const parametersFor = pwParametersFor;

function deepFreeze<T>(x: T): T {
  if (x && typeof x === 'object') {
    for (const v of Object.values(x)) deepFreeze(v);
    Object.freeze(x);
  }
  return x;
}

function ctxFor(
  calculation: PwFailureContext['calculation'],
  res: PwResult,
  opts: { overrides?: PwParameters; parameters?: PwParameters; previousRepairs?: PwFailureContext['previousRepairs']; structure?: Structure } = {},
): PwFailureContext {
  const overrides = opts.overrides ?? {};
  return deepFreeze({
    calculation,
    parameters: opts.parameters ?? parametersFor(calculation, overrides),
    overrides,
    structure: opts.structure ?? SI,
    result: res,
    previousRepairs: opts.previousRepairs ?? [],
  });
}

function expectRestart(r: PwRepair | undefined): Extract<PwRepair, { action: 'restart' }> {
  expect(r?.action, JSON.stringify(r)).toBe('restart');
  return r as Extract<PwRepair, { action: 'restart' }>;
}

function expectLattice(actual: Mat3, expected: number[][], digits = 8): void {
  for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) expect(actual[i]![j]).toBeCloseTo(expected[i]![j]!, digits);
}

/** A relaxed Si structure as pw.x prints it: a 1% larger cell and the second atom moved. */
const RELAXED_CELL = { units: 'angstrom', vectors: [[0, 2.75, 2.75], [2.75, 0, 2.75], [2.75, 2.75, 0]] };
const RELAXED_POSITIONS = { units: 'crystal', species: ['Si', 'Si'], positions: [[0, 0, 0], [0.26, 0.25, 0.25]] };

// ---------------------------------------------------------------------------------------------------------------

describe('structureFromPwOutput', () => {
  it('angstrom cell and crystal positions', () => {
    const s = structureFromPwOutput(result(0, { finalCell: RELAXED_CELL, finalPositions: RELAXED_POSITIONS }), SI);
    expect(s.lattice).toEqual(RELAXED_CELL.vectors);
    expect(s.sites.map((x) => x.frac)).toEqual(RELAXED_POSITIONS.positions);
    expect(s.sites.map((x) => x.species)).toEqual(['Si', 'Si']);
    expect(s.title).toBe(SI.title); // the input's title is kept
  });

  it('alat cell (alat from the header) and alat positions, as pw.x 6.7 prints a vc-relax', () => {
    const alat = 10.6;
    const vectors = [
      [-0.48156222, 0.000026879, 0.48163522],
      [0, 0.481662098, 0.481662098],
      [-0.48156222, 0.48163522, 0.000026879],
    ];
    const positions = [
      [0.0096271244, 0, 0],
      [0.2504164744, 0.2408310492, 0.2408310492],
    ];
    const s = structureFromPwOutput(
      result(501, { finalCell: { units: 'alat', alatBohr: alat, vectors }, finalPositions: { units: 'alat', species: ['Si', 'Si'], positions } }),
      SI,
    );
    const f = alat * BOHR_TO_ANGSTROM;
    expectLattice(s.lattice, vectors.map((r) => r.map((x) => x * f)));
    positions.forEach((p, i) => {
      const cart = fracToCart(s.lattice, s.sites[i]!.frac);
      for (let j = 0; j < 3; j++) expect(cart[j]).toBeCloseTo(p[j]! * f, 9);
    });
  });

  it('bohr cell and bohr / angstrom positions', () => {
    const b = 2.75 / BOHR_TO_ANGSTROM;
    const cell = { units: 'bohr', vectors: [[0, b, b], [b, 0, b], [b, b, 0]] };
    const s = structureFromPwOutput(
      result(0, { finalCell: cell, finalPositions: { units: 'bohr', species: ['Si', 'Si'], positions: [[0, 0, 0], [b / 2, b / 2, b / 2]] } }),
      SI,
    );
    expectLattice(s.lattice, RELAXED_CELL.vectors, 12);
    expect(s.sites[1]!.frac.map((x) => Number(x.toFixed(12)))).toEqual([0.25, 0.25, 0.25]);
    const t = structureFromPwOutput(
      result(0, { finalCell: RELAXED_CELL, finalPositions: { units: 'angstrom', species: ['Si', 'Si'], positions: [[0, 0, 0], [1.375, 1.375, 1.375]] } }),
      SI,
    );
    expect(t.sites[1]!.frac.map((x) => Number(x.toFixed(12)))).toEqual([0.25, 0.25, 0.25]);
  });

  it('a relax prints no cell: the input lattice is kept; alat positions use |a1| of the input (pw.x for ibrav = 0)', () => {
    const a1 = Math.hypot(A, A);
    const s = structureFromPwOutput(
      result(0, { finalPositions: { units: 'alat', species: ['Si', 'Si'], positions: [[0, 0, 0], [0.25 * (2 * A) / a1, 0.25 * (2 * A) / a1, 0.25 * (2 * A) / a1]] } }),
      SI,
    );
    expect(s.lattice).toEqual(SI.lattice);
    expect(s.lattice).not.toBe(SI.lattice);
    expect(s.sites[1]!.frac.map((x) => Number(x.toFixed(12)))).toEqual([0.25, 0.25, 0.25]);
  });

  it('keeps the selective-dynamics flags and labels of the input sites', () => {
    const input: Structure = {
      ...SI,
      sites: [
        { species: 'Si', frac: [0, 0, 0], moves: [false, false, false], label: 'Si1' },
        { species: 'Si', frac: [0.25, 0.25, 0.25], moves: [false, false, true] },
      ],
    };
    const s = structureFromPwOutput(result(0, { finalCell: RELAXED_CELL, finalPositions: RELAXED_POSITIONS }), input);
    expect(s.sites[0]).toEqual({ species: 'Si', frac: [0, 0, 0], moves: [false, false, false], label: 'Si1' });
    expect(s.sites[1]!.moves).toEqual([false, false, true]);
  });

  it('throws a clear error when the output has no structure or does not match the input', () => {
    expect(() => structureFromPwOutput(result(410), SI)).toThrow(/no structure.*ATOMIC_POSITIONS/);
    expect(() =>
      structureFromPwOutput(result(0, { finalPositions: { units: 'crystal', species: ['Si'], positions: [[0, 0, 0]] } }), SI),
    ).toThrow(/1 sites but the input structure has 2/);
    expect(() =>
      structureFromPwOutput(result(0, { finalPositions: { ...RELAXED_POSITIONS, species: ['Si', 'Ge'] } }), SI),
    ).toThrow(/site 2 is Ge but the input has Si/);
    expect(() =>
      structureFromPwOutput(result(0, { finalPositions: { ...RELAXED_POSITIONS, units: 'crystal_sg' } }), SI),
    ).toThrow(/^pw\.x output \(ATOMIC_POSITIONS\): not supported yet: units 'crystal_sg'/);
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe('PW_HANDLERS', () => {
  it("has aiida's handlers, priorities and exit codes, highest priority first", () => {
    expect(PW_HANDLERS.map((h) => [h.name, h.priority, [...h.exitCodes]])).toEqual([
      ['handle_diagonalization_errors', 585, [462, 463, 464, 465, 466, 467, 468]],
      ['handle_out_of_walltime', 580, [400]],
      ['handle_ionic_interrupted_partial_trajectory', 575, [503]],
      ['handle_vcrelax_converged_except_final_scf', 570, [501]],
      ['handle_relax_recoverable_ionic_convergence_bfgs_history_error', 561, [520, 521]],
      ['handle_relax_recoverable_ionic_convergence_error', 560, [500, 502, 520, 521]],
      ['handle_vcrelax_recoverable_fft_significant_volume_contraction_error', 555, [542]],
      ['handle_relax_recoverable_electronic_convergence_error', 550, [510, 511]],
      ['handle_metal_with_fixed_occupations', 430, [0, 410, 531, 710]],
      ['handle_electronic_convergence_warning', 420, [710]],
      ['handle_electronic_convergence_not_reached', 410, [410]],
      ['sanity_check_insufficient_bands', 0, [0]],
    ]);
  });

  it('every exit code it names exists', () => {
    for (const h of PW_HANDLERS) for (const c of h.exitCodes) expect(pwExitByCode(c), `${h.name} ${c}`).toBeDefined();
  });
});

describe('handlePwResult: sanity_check_insufficient_bands', () => {
  it('nbnd = n + max(floor(0.05 n), 4), from the charge density', () => {
    for (const [n, next] of [
      [8, 12],
      [20, 24],
      [90, 94],
      [100, 105],
      [131, 137],
    ] as const) {
      const r = expectRestart(handlePwResult(ctxFor('scf', result(0, { insufficientBands: true, numberOfBands: n, highestBandOccupationMax: 0.02 }))));
      expect(r.handler).toBe('sanity_check_insufficient_bands');
      expect(r.restartFrom).toBe('charge-density');
      expect(r.overrides).toEqual({ system: { nbnd: next }, electrons: { startingpot: 'file' } });
      expect(r.changes).toEqual({ 'system.nbnd': { from: n, to: next }, 'electrons.startingpot': { from: null, to: 'file' } });
      expect(r.structure).toBeUndefined(); // aiida reruns the same input structure
    }
  });

  it('nothing to do when the bands suffice, the flag is unknown, or occupations are explicitly fixed', () => {
    expect(handlePwResult(ctxFor('scf', result(0, { insufficientBands: false, numberOfBands: 8 })))).toBeUndefined();
    expect(handlePwResult(ctxFor('scf', result(0, { numberOfBands: 8 })))).toBeUndefined();
    const fixed = parametersFor('scf', { system: { occupations: 'fixed' } });
    expect(handlePwResult(ctxFor('scf', result(0, { insufficientBands: true, numberOfBands: 8 }), { parameters: fixed }))).toBeUndefined();
  });

  it('uses system.nbnd when the output does not say, and aborts when neither does', () => {
    const withNbnd = parametersFor('scf', { system: { nbnd: 16 } });
    const r = expectRestart(handlePwResult(ctxFor('scf', result(0, { insufficientBands: true }), { parameters: withNbnd, overrides: { system: { nbnd: 16 } } })));
    expect(r.overrides.system).toEqual({ nbnd: 20 });
    expect(handlePwResult(ctxFor('scf', result(0, { insufficientBands: true })))).toMatchObject({
      action: 'abort',
      handler: 'sanity_check_insufficient_bands',
    });
  });
});

describe('handlePwResult: handle_diagonalization_errors', () => {
  /** What a workflow does: run, repair, record, run again with the new overrides. */
  function diagonalizationSequence(initial: PwParameters, exitCode: number, qeVersion?: string): (string | 'abort')[] {
    let overrides = initial;
    const previous: ReturnType<typeof toRepairRecord>[] = [];
    const seen: string[] = [];
    for (let i = 0; i < 8; i++) {
      const r = handlePwResult(
        ctxFor('scf', result(exitCode, qeVersion ? { jobDone: false, qeVersion } : { jobDone: false }), { overrides, previousRepairs: [...previous] }),
      );
      if (r?.action === 'abort') {
        seen.push('abort');
        expect(r.message).toMatch(/already tried all supported algorithms/);
        break;
      }
      const rr = expectRestart(r);
      expect(rr.restartFrom).toBe('scratch');
      seen.push(String(rr.overrides.electrons?.diagonalization));
      previous.push(toRepairRecord(rr));
      overrides = rr.overrides;
    }
    return seen;
  }

  it('david → ppcg → paro → cg, then abort, for every diagonalization exit code', () => {
    for (const code of [462, 463, 464, 465, 466, 467, 468]) {
      expect(diagonalizationSequence({}, code)).toEqual(['ppcg', 'paro', 'cg', 'abort']);
    }
  });

  it('starting from another algorithm: the untried ones in the same order', () => {
    expect(diagonalizationSequence({ electrons: { diagonalization: 'cg' } }, 462)).toEqual(['david', 'ppcg', 'paro', 'abort']);
    expect(diagonalizationSequence({ electrons: { diagonalization: 'paro' } }, 462)).toEqual(['david', 'ppcg', 'cg', 'abort']);
  });

  it('skips ppcg for QE >= 7.5 (removed there), keeps it for 6.7 and 7.4', () => {
    expect(diagonalizationSequence({}, 462, '7.5')).toEqual(['paro', 'cg', 'abort']);
    expect(diagonalizationSequence({}, 462, '7.4')).toEqual(['ppcg', 'paro', 'cg', 'abort']);
    expect(diagonalizationSequence({}, 462, '6.7MaX')).toEqual(['ppcg', 'paro', 'cg', 'abort']);
  });

  it('records the change and clears stale restart settings (restarts from scratch)', () => {
    const overrides: PwParameters = { electrons: { startingpot: 'file', mixing_beta: 0.32 }, control: { restart_mode: 'restart' } };
    const r = expectRestart(handlePwResult(ctxFor('scf', result(462), { overrides })));
    expect(r.overrides).toEqual({ electrons: { mixing_beta: 0.32, diagonalization: 'ppcg' } });
    expect(r.changes).toEqual({
      'electrons.diagonalization': { from: 'david', to: 'ppcg' },
      'control.restart_mode': { from: 'restart', to: null },
      'electrons.startingpot': { from: 'file', to: null },
    });
  });
});

describe('handlePwResult: handle_out_of_walltime (400)', () => {
  it("full restart with restart_mode = 'restart'", () => {
    const r = expectRestart(handlePwResult(ctxFor('scf', result(400, { errorMessages: ['Maximum CPU time exceeded'] }))));
    expect(r.handler).toBe('handle_out_of_walltime');
    expect(r.restartFrom).toBe('full');
    expect(r.overrides).toEqual({ control: { restart_mode: 'restart' } });
    expect(r.changes).toEqual({ 'control.restart_mode': { from: null, to: 'restart' } });
    expect(r.structure).toBeUndefined();
  });

  it('a relax continues from its output structure when it printed one; startingpot from an earlier repair goes', () => {
    const res = result(400, { finalCell: RELAXED_CELL, finalPositions: RELAXED_POSITIONS });
    const r = expectRestart(handlePwResult(ctxFor('vc-relax', res, { overrides: { electrons: { startingpot: 'file' } } })));
    expect(r.restartFrom).toBe('full');
    expect(r.structure?.lattice).toEqual(RELAXED_CELL.vectors);
    expect(r.overrides).toEqual({ control: { restart_mode: 'restart' } });
    // an scf prints no structure worth taking
    expect(handlePwResult(ctxFor('scf', res))).not.toHaveProperty('structure');
  });
});

describe('handlePwResult: ionic handlers', () => {
  const relaxed = { finalCell: RELAXED_CELL, finalPositions: RELAXED_POSITIONS };

  it('503: the last structure, from scratch', () => {
    const r = expectRestart(handlePwResult(ctxFor('relax', result(503, { jobDone: false, ...relaxed }), { overrides: { electrons: { startingpot: 'file' } } })));
    expect(r.handler).toBe('handle_ionic_interrupted_partial_trajectory');
    expect(r.restartFrom).toBe('scratch');
    expect(r.structure?.sites[1]!.frac).toEqual([0.26, 0.25, 0.25]);
    expect(r.overrides).toEqual({});
    expect(r.changes).toEqual({ 'electrons.startingpot': { from: 'file', to: null } });
  });

  it('503 without a printed structure: from scratch with the input structure, said in the message', () => {
    const r = expectRestart(handlePwResult(ctxFor('relax', result(503, { jobDone: false }))));
    expect(r.structure).toBeUndefined();
    expect(r.message).toMatch(/no output structure was printed: using the input structure/);
  });

  it('501: finish with exit code 501 and the output structure', () => {
    const r = handlePwResult(ctxFor('vc-relax', result(501, relaxed)));
    expect(r).toMatchObject({ action: 'finish', handler: 'handle_vcrelax_converged_except_final_scf', exitCode: 501 });
    expect(r?.action === 'finish' && r.structure?.lattice).toEqual(RELAXED_CELL.vectors);
  });

  it('520 / 521 relax: damp dynamics, output structure, from the charge density', () => {
    for (const code of [520, 521]) {
      const r = expectRestart(handlePwResult(ctxFor('relax', result(code, relaxed))));
      expect(r.handler).toBe('handle_relax_recoverable_ionic_convergence_bfgs_history_error');
      expect(r.restartFrom).toBe('charge-density');
      expect(r.overrides).toEqual({ ions: { ion_dynamics: 'damp' }, electrons: { startingpot: 'file' } });
      expect(r.changes).toEqual({
        'ions.ion_dynamics': { from: 'bfgs', to: 'damp' },
        'electrons.startingpot': { from: null, to: 'file' },
      });
      expect(r.structure?.lattice).toEqual(RELAXED_CELL.vectors);
    }
  });

  it('520 vc-relax: trust_radius_min 1e-3 (default) → 1e-4 with trust_radius_ini = 1e-3, then damp / damp-w', () => {
    const first = expectRestart(handlePwResult(ctxFor('vc-relax', result(520, relaxed))));
    expect(first.overrides).toEqual({ ions: { trust_radius_ini: 0.001, trust_radius_min: 0.0001 }, electrons: { startingpot: 'file' } });
    expect(first.changes['ions.trust_radius_min']).toEqual({ from: 0.001, to: 0.0001 });
    expect(first.changes['ions.trust_radius_ini']).toEqual({ from: null, to: 0.001 });
    expect(first.restartFrom).toBe('charge-density');

    // the next attempt ran with those; 1e-4 is not > 1e-4: switch the dynamics
    const second = expectRestart(
      handlePwResult(ctxFor('vc-relax', result(521, relaxed), { overrides: first.overrides, previousRepairs: [toRepairRecord(first)] })),
    );
    expect(second.overrides).toEqual({
      ions: { trust_radius_ini: 0.001, trust_radius_min: 0.0001, ion_dynamics: 'damp' },
      cell: { cell_dynamics: 'damp-w' },
      electrons: { startingpot: 'file' },
    });
    expect(second.changes).toEqual({
      'ions.ion_dynamics': { from: 'bfgs', to: 'damp' },
      'cell.cell_dynamics': { from: 'bfgs', to: 'damp-w' },
    });
  });

  it('520 vc-relax with an explicit trust_radius_min 5e-4 → 5e-5', () => {
    const r = expectRestart(handlePwResult(ctxFor('vc-relax', result(520, relaxed), { overrides: { ions: { trust_radius_min: 5e-4 } } })));
    expect(r.overrides.ions).toEqual({ trust_radius_min: 5e-5, trust_radius_ini: 5e-4 });
  });

  it('520 for a calculation that is no relaxation: the BFGS handler declines, the ionic convergence handler (560) takes it', () => {
    const r = expectRestart(handlePwResult(ctxFor('scf', result(520, relaxed))));
    expect(r.handler).toBe('handle_relax_recoverable_ionic_convergence_error');
  });

  it('500 / 502: output structure, from the charge density, no other change', () => {
    for (const code of [500, 502]) {
      const r = expectRestart(handlePwResult(ctxFor('vc-relax', result(code, relaxed), { overrides: { control: { restart_mode: 'restart' } } })));
      expect(r.handler).toBe('handle_relax_recoverable_ionic_convergence_error');
      expect(r.restartFrom).toBe('charge-density');
      expect(r.overrides).toEqual({ electrons: { startingpot: 'file' } });
      expect(r.changes).toEqual({
        'control.restart_mode': { from: 'restart', to: null },
        'electrons.startingpot': { from: null, to: 'file' },
      });
      expect(r.structure?.lattice).toEqual(RELAXED_CELL.vectors);
    }
  });

  it('542: cell_factor × 2 (unset: 2 → 4), output structure, from scratch', () => {
    const r = expectRestart(handlePwResult(ctxFor('vc-relax', result(542, { jobDone: false, ...relaxed }))));
    expect(r.handler).toBe('handle_vcrelax_recoverable_fft_significant_volume_contraction_error');
    expect(r.restartFrom).toBe('scratch');
    expect(r.overrides).toEqual({ cell: { cell_factor: 4 } });
    expect(r.changes).toEqual({ 'cell.cell_factor': { from: 2, to: 4 } });
    expect(r.structure).toBeDefined();
    const again = expectRestart(handlePwResult(ctxFor('vc-relax', result(542, relaxed), { overrides: r.overrides })));
    expect(again.overrides).toEqual({ cell: { cell_factor: 8 } });
  });

  it('510 / 511: mixing_beta × 0.8 (0.4 → 0.32), output structure, from scratch', () => {
    for (const code of [510, 511]) {
      const r = expectRestart(handlePwResult(ctxFor('relax', result(code, relaxed), { overrides: { electrons: { startingpot: 'file' } } })));
      expect(r.handler).toBe('handle_relax_recoverable_electronic_convergence_error');
      expect(r.restartFrom).toBe('scratch');
      expect(r.overrides).toEqual({ electrons: { mixing_beta: 0.32 } });
      expect(r.changes).toEqual({
        'electrons.mixing_beta': { from: 0.4, to: 0.32 },
        'electrons.startingpot': { from: 'file', to: null },
      });
      expect(r.structure?.sites[1]!.frac).toEqual([0.26, 0.25, 0.25]);
    }
  });

  it('510 with mixing_beta unset: pw.x default 0.7 → 0.56', () => {
    const params = parametersFor('relax');
    delete params.electrons!.mixing_beta;
    const r = expectRestart(handlePwResult(ctxFor('relax', result(510, relaxed), { parameters: params })));
    expect(r.changes['electrons.mixing_beta']).toEqual({ from: 0.7, to: 0.56 });
  });
});

describe('handlePwResult: handle_metal_with_fixed_occupations', () => {
  const fixed = parametersFor('scf', { system: { occupations: 'fixed' } });
  const overlap = { metallicWithFixedOccupations: true, highestOccupiedEv: 3.9776, lowestUnoccupiedEv: 2.5706 };

  it("overlapping band edges (exit 0, 410 or 710) or 531 under fixed occupations: smearing, from scratch", () => {
    for (const [code, extra] of [[0, overlap], [410, overlap], [710, overlap], [531, {}]] as const) {
      const r = expectRestart(handlePwResult(ctxFor('scf', result(code, extra), { parameters: fixed })));
      expect(r.handler, String(code)).toBe('handle_metal_with_fixed_occupations');
      expect(r.restartFrom).toBe('scratch');
      expect(r.overrides).toEqual({ system: { occupations: 'smearing' } });
      expect(r.changes).toEqual({ 'system.occupations': { from: 'fixed', to: 'smearing' } });
      expect(r.message).toMatch(code === 531 ? /charge is wrong/ : /2\.5706 eV\) lies below the highest occupied one \(3\.9776 eV\)/);
    }
  });

  it("occupations unset are pw.x's fixed ones", () => {
    const unset = parametersFor('scf');
    delete unset.system!.occupations;
    expect(handlePwResult(ctxFor('scf', result(531), { parameters: unset }))?.handler).toBe('handle_metal_with_fixed_occupations');
  });

  it('declines with smearing, or without the overlap: the other handlers take the exit code', () => {
    expect(handlePwResult(ctxFor('scf', result(0, overlap)))).toBeUndefined();
    expect(handlePwResult(ctxFor('scf', result(531)))).toBeUndefined();
    expect(handlePwResult(ctxFor('scf', result(0, { metallicWithFixedOccupations: false }), { parameters: fixed }))).toBeUndefined();
    expect(handlePwResult(ctxFor('scf', result(410), { parameters: fixed }))?.handler).toBe('handle_electronic_convergence_not_reached');
  });
});

describe('handlePwResult: electronic handlers and the rest', () => {
  it('410: mixing_beta × 0.8, full restart; repeated: 0.4 → 0.32 → 0.256', () => {
    const r = expectRestart(handlePwResult(ctxFor('scf', result(410))));
    expect(r.handler).toBe('handle_electronic_convergence_not_reached');
    expect(r.restartFrom).toBe('full');
    expect(r.overrides).toEqual({ electrons: { mixing_beta: 0.32 }, control: { restart_mode: 'restart' } });
    expect(r.changes).toEqual({
      'electrons.mixing_beta': { from: 0.4, to: 0.32 },
      'control.restart_mode': { from: null, to: 'restart' },
    });
    const again = expectRestart(handlePwResult(ctxFor('scf', result(410), { overrides: r.overrides })));
    expect(again.overrides.electrons).toEqual({ mixing_beta: 0.256 });
    expect(again.changes).toEqual({ 'electrons.mixing_beta': { from: 0.32, to: 0.256 } });
  });

  it('710: finish with the warning exit code', () => {
    expect(handlePwResult(ctxFor('scf', result(710)))).toEqual({
      action: 'finish',
      handler: 'handle_electronic_convergence_warning',
      message: expect.stringMatching(/considered finished/),
      exitCode: 710,
    });
  });

  it('no handler: undefined (fail with the parsed reason)', () => {
    for (const code of [302, 303, 305, 312, 321, 340, 360, 461, 481, 531, 541]) {
      expect(handlePwResult(ctxFor('scf', result(code))), String(code)).toBeUndefined();
    }
  });

  it('a repair leaves its context untouched (frozen) and returns JSON-safe data', () => {
    const c = ctxFor('vc-relax', result(520, { finalCell: RELAXED_CELL, finalPositions: RELAXED_POSITIONS }), {
      overrides: { electrons: { mixing_beta: 0.3 } },
    });
    const r = handlePwResult(c);
    expect(JSON.parse(JSON.stringify(r))).toEqual(r);
    expect(c.overrides).toEqual({ electrons: { mixing_beta: 0.3 } });
  });
});

describe('pwRestartEdits / restartFromParameters', () => {
  it('sets the restart namelist keys as aiida set_restart_type does', () => {
    const ctx = { parameters: {}, overrides: { electrons: { startingwfc: 'random', mixing_beta: 0.2 } } };
    expect(applyParameterEdits(ctx, pwRestartEdits('scratch')).overrides).toEqual({ electrons: { mixing_beta: 0.2 } });
    expect(applyParameterEdits(ctx, pwRestartEdits('charge-density')).overrides).toEqual({ electrons: { mixing_beta: 0.2, startingpot: 'file' } });
    expect(applyParameterEdits(ctx, pwRestartEdits('full')).overrides).toEqual({ electrons: { mixing_beta: 0.2 }, control: { restart_mode: 'restart' } });
  });

  it('reads the restart type back from namelists', () => {
    expect(restartFromParameters({})).toBe('scratch');
    expect(restartFromParameters({ electrons: { startingpot: 'file' } })).toBe('charge-density');
    expect(restartFromParameters({ control: { restart_mode: 'restart' } })).toBe('full');
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Real outputs


describeShared('handlePwResult on real pw.x outputs (aiida-quantumespresso fixtures)', () => {
  it('vcrelax_failed_bfgs_history → 520 → BFGS handler: trust_radius_min, output structure, charge density', () => {
    // the fixture's own XML is of another run (305); the XML reproduced for this stdout
    const res = pwCase('vcrelax_failed_bfgs_history', { xml: readFileSync(reproduction('vcrelax_failed_bfgs_history_si', 'data-file-schema.xml'), 'utf8') });
    expect(res.exitCode).toBe(520);
    const r = expectRestart(handlePwResult(ctxFor('vc-relax', res)));
    expect(r.handler).toBe('handle_relax_recoverable_ionic_convergence_bfgs_history_error');
    expect(r.changes['ions.trust_radius_min']).toEqual({ from: 0.001, to: 0.0001 });
    expect(r.restartFrom).toBe('charge-density');
    const a = 2.805912455;
    expectLattice(r.structure!.lattice, [
      [a, a, 0],
      [a, 0, a],
      [0, a, a],
    ]);
    expect(r.structure!.sites[1]!.frac.map((x) => Number(x.toFixed(8)))).toEqual([0.25, 0.25, 0.25]);
  });

  it('failed_computing_cholesky → 462 → switch to ppcg', () => {
    const res = pwCase('failed_computing_cholesky');
    expect(res.exitCode).toBe(462);
    const r = expectRestart(handlePwResult(ctxFor('scf', res)));
    expect(r.changes['electrons.diagonalization']).toEqual({ from: 'david', to: 'ppcg' });
  });

  it('failed_too_many_bands_not_converged → 463 → diagonalization handler', () => {
    const res = pwCase('failed_too_many_bands_not_converged');
    expect(res.exitCode).toBe(463);
    expect(handlePwResult(ctxFor('scf', res))?.handler).toBe('handle_diagonalization_errors');
  });

  it('vcrelax_failed_fft_significant_volume_contraction → 542 → cell_factor 4 from scratch', () => {
    const res = pwCase('vcrelax_failed_fft_significant_volume_contraction');
    expect(res.exitCode).toBe(542);
    // Its stdout stops before any structure block: the output structure is the one pw.x wrote to its XML (bohr).
    expect(res.finalCell?.units).toBe('bohr');
    const species = res.finalPositions!.species;
    expect(species.length).toBeGreaterThan(0);
    const structure: Structure = { ...SI, sites: species.map((sp, i) => ({ species: sp, frac: [i / 10, 0, 0] })) };
    const r = expectRestart(handlePwResult(ctxFor('vc-relax', res, { structure })));
    expect(r.overrides.cell).toEqual({ cell_factor: 4 });
    expect(r.restartFrom).toBe('scratch');
    expect(r.structure!.lattice[0]![0]).toBeCloseTo(res.finalCell!.vectors[0]![0]! * BOHR_TO_ANGSTROM, 8);
  });

  it('failed_interrupted_relax with a scheduler walltime report → 503 → from scratch', () => {
    const res = pwCase('failed_interrupted_relax', { schedulerOutOfWalltime: true });
    expect(res.exitCode).toBe(503);
    const r = expectRestart(handlePwResult(ctxFor('relax', res)));
    expect(r.handler).toBe('handle_ionic_interrupted_partial_trajectory');
    expect(r.restartFrom).toBe('scratch');
  });

  it('failed_out_of_walltime → 400 → full restart', () => {
    const res = pwCase('failed_out_of_walltime');
    expect(res.exitCode).toBe(400);
    expect(expectRestart(handlePwResult(ctxFor('scf', res))).restartFrom).toBe('full');
  });

  it('failed_scf_not_converged → 410 → mixing_beta 0.4 → 0.32, full', () => {
    const res = pwCase('failed_scf_not_converged');
    expect(res.exitCode).toBe(410);
    const r = expectRestart(handlePwResult(ctxFor('scf', res)));
    expect(r.changes['electrons.mixing_beta']).toEqual({ from: 0.4, to: 0.32 });
    expect(r.restartFrom).toBe('full');
  });

  it('failed_scf_not_converged_intentional with electron_maxstep = 0 → 710 → finish', () => {
    const res = pwCase('failed_scf_not_converged_intentional', { parameters: { ELECTRONS: { electron_maxstep: 0 } } });
    expect(handlePwResult(ctxFor('scf', res))).toMatchObject({ action: 'finish', exitCode: 710 });
  });

  it('relax_failed_electronic / vcrelax_failed_electronic → 510 → mixing_beta, from scratch', () => {
    for (const [name, calc] of [
      ['relax_failed_electronic', 'relax'],
      ['vcrelax_failed_electronic', 'vc-relax'],
    ] as const) {
      const res = pwCase(name);
      expect(res.exitCode).toBe(510);
      const r = expectRestart(handlePwResult(ctxFor(calc, res)));
      expect(r.handler).toBe('handle_relax_recoverable_electronic_convergence_error');
      expect(r.restartFrom).toBe('scratch');
    }
  });

  it('vcrelax_failed_not_converged_final_scf → 501 → finish with the output structure', () => {
    const res = pwCase('vcrelax_failed_not_converged_final_scf');
    const r = handlePwResult(ctxFor('vc-relax', res));
    expect(r).toMatchObject({ action: 'finish', exitCode: 501 });
    const s = r?.action === 'finish' ? r.structure : undefined;
    expect(s).toBeDefined();
    expect(volume(s!.lattice)).toBeCloseTo(2 * 2.805965041 ** 3, 6);
    expect(s!.sites[1]!.frac.map((x) => Number(x.toFixed(8)))).toEqual([0.25, 0.25, 0.25]);
  });

  it('vcrelax_failed_not_converged_nstep → 502 → output structure, charge density', () => {
    const res = pwCase('vcrelax_failed_not_converged_nstep');
    const r = expectRestart(handlePwResult(ctxFor('vc-relax', res)));
    expect(r.handler).toBe('handle_relax_recoverable_ionic_convergence_error');
    expect(r.restartFrom).toBe('charge-density');
    expect(volume(r.structure!.lattice)).toBeCloseTo(2 * 2.760656387 ** 3, 6);
  });

  it('fixed_coords_relax: angstrom positions without a cell block, the input lattice and moves are kept', () => {
    const res = pwCase('fixed_coords_relax', { expectXml: false });
    const input: Structure = {
      lattice: [
        [7.7339492662, 0, 0],
        [3.8669746331, 6.6978143355, 0],
        [0, 0, 30],
      ],
      sites: [
        { species: 'Si', frac: [0.5, 0.5, 0.08], moves: [false, false, false] },
        { species: 'Si', frac: [0.33, 0.33, 0.04], moves: [false, false, true] },
      ],
    };
    const s = structureFromPwOutput(res, input);
    expect(s.lattice).toEqual(input.lattice);
    expect(s.sites.map((x) => x.moves)).toEqual([
      [false, false, false],
      [false, false, true],
    ]);
    const cart = fracToCart(s.lattice, s.sites[0]!.frac);
    res.finalPositions!.positions[0]!.forEach((x, j) => expect(cart[j]).toBeCloseTo(x, 9));
  });
});

describeShared('structureFromPwOutput on our pw.x 6.7 (alat units)', () => {
  it('vcrelax_success: the cell in alat = 10.6 bohr, positions in alat', () => {
    const res = parsePwOutput({ stdout: readFileSync(fixture('qe', 'pw-debian-6.7', 'vcrelax_success', 'pw.out'), 'utf8'), expectXml: false });
    expect(res.finalCell?.units).toBe('alat');
    const s = structureFromPwOutput(res, SI);
    const f = 10.6 * BOHR_TO_ANGSTROM;
    expectLattice(s.lattice, res.finalCell!.vectors.map((r) => r.map((x) => x * f)));
    const cart = fracToCart(s.lattice, s.sites[1]!.frac);
    res.finalPositions!.positions[1]!.forEach((x, j) => expect(cart[j]).toBeCloseTo(x * f, 9));
    // handled: 501 → finish with that structure
    const r = handlePwResult(ctxFor('vc-relax', res));
    expect(r).toMatchObject({ action: 'finish', exitCode: 501, structure: s });
  });
});
