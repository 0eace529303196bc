import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  HBAR2_OVER_2ME_EV_A2,
  alignEnergies,
  analyzeBandGap,
  energyReference,
  reportedBandGap,
  type BandGapResult,
} from '../../../src/domain/analysis/bandgap.ts';
import { bandsPathDistances, buildPwBandsInput, parsePwBands, type KPathVertex, type PwBands } from '../../../src/domain/codes/qe/bands.ts';
import { buildPwInput } from '../../../src/domain/codes/qe/inputs.ts';
import { siScratch, SI_PSEUDO_GZ } from '../../support/qe-si.ts';
import { describeShared, fixture } from '../../support/shared.ts';

const PW = '/usr/bin/pw.x';

// ---------------------------------------------------------------------------------------------------------------
// Synthetic bands with known answers

/** A 1D path of n+1 points over [0, L] Å⁻¹ and bands given as functions of k. */
function synthetic(n: number, L: number, bands: ((k: number) => number)[]) {
  const distances = Array.from({ length: n + 1 }, (_, i) => (i * L) / n);
  return { distances, eigenvaluesEv: distances.map((k) => bands.map((f) => f(k))) };
}

describe('analyzeBandGap: synthetic bands', () => {
  it('an exact parabola gives back its effective mass (one-sided at a labelled edge, two-sided inside a segment)', () => {
    const mh = 0.5; // hole mass at k = 0 (a labelled point)
    const me = 0.25; // electron mass at k = 0.6 (inside the segment)
    const s = synthetic(20, 1, [(k) => -(HBAR2_OVER_2ME_EV_A2 / mh) * k * k, (k) => 1 + (HBAR2_OVER_2ME_EV_A2 / me) * (k - 0.6) ** 2]);
    const r = analyzeBandGap({ ...s, nElectrons: 2, labels: [{ index: 0, label: 'Γ' }, { index: 20, label: 'X' }] });
    expect(r.kind).toBe('insulator');
    expect(r.gapEv).toBe(1);
    expect(r.direct).toBe(false);
    expect(r.vbm).toMatchObject({ kIndex: 0, label: 'Γ', band: 0, energyEv: 0 });
    expect(r.cbm).toMatchObject({ kIndex: 12, band: 1, energyEv: 1, segment: { from: 'Γ', to: 'X', fraction: 0.6 } });
    const hole = r.effectiveMasses.find((m) => m.edge === 'vbm')!;
    expect(hole).toMatchObject({ direction: 'Γ→X', points: 3, extremum: true });
    expect(hole.massMe).toBeCloseTo(mh, 10);
    const electron = r.effectiveMasses.find((m) => m.edge === 'cbm')!;
    expect(electron).toMatchObject({ direction: 'along Γ–X', points: 6, extremum: true });
    expect(electron.massMe).toBeCloseTo(me, 10);
    expect(electron.rmsEv).toBeLessThan(1e-9);
    // CB − VB = 1 + (ħ²/2m_e)[(k − 0.6)²/m_e* + k²/m_h*] is smallest at k = 0.4 (index 8)
    expect(r.directGap).toMatchObject({ kIndex: 8, segment: { from: 'Γ', to: 'X', fraction: 0.4 } });
    expect(r.directGap!.energyEv).toBeCloseTo(1 + HBAR2_OVER_2ME_EV_A2 * (0.04 / me + 0.16 / mh), 6);
  });

  it('a direct gap, band widths and the VBM as reference; alignEnergies puts the VBM at 0', () => {
    const s = synthetic(10, 1, [(k) => -3 + k, (k) => -k * k, (k) => 2 + k * k, (k) => 5]);
    const r = analyzeBandGap({ eigenvaluesEv: s.eigenvaluesEv, nElectrons: 4 });
    expect(r).toMatchObject({ kind: 'insulator', method: 'electron-count', gapEv: 2, direct: true, occupiedBands: 2, valenceBandWidthEv: 3 });
    expect(r.vbm!.kIndex).toBe(0);
    expect(r.cbm!.kIndex).toBe(0);
    expect(r.bandWidths.map((w) => w.widthEv)).toEqual([1, 1, 1, 0]);
    expect(r.reference).toEqual({ kind: 'vbm', energyEv: 0, label: 'E − E_VBM' });
    const aligned = alignEnergies([[-1, 0.5]], { energyEv: -1 });
    expect(aligned).toEqual([[0, 1.5]]);
    expect(alignEnergies(s.eigenvaluesEv, r.reference!)[0]).toEqual([-3, 0, 2, 5]);
    // no distances: no effective masses, and no segment either without labels
    expect(r.effectiveMasses).toEqual([]);
    expect(r.cbm!.segment).toBeUndefined();
  });

  it('a free-electron metal (Al-like, 3 electrons): metal by counting, crossing bands from E_F, aligned to E_F', () => {
    // 1D nearly-free bands folded at the zone boundary: lowest band full, second partly
    const G = 1;
    const s = synthetic(20, G / 2, [(k) => 4 * k * k, (k) => 4 * (G - k) ** 2, (k) => 4 * (G + k) ** 2]);
    const ef = 4 * 0.75 ** 2; // 2.25 eV
    const r = analyzeBandGap({ ...s, nElectrons: 3, fermiEnergyEv: ef });
    expect(r.kind).toBe('metal');
    expect(r.crossingBands!.map((b) => b.band)).toEqual([1]);
    expect(r.reference).toEqual({ kind: 'fermi', energyEv: ef, label: 'E − E_F' });
    expect(r.valenceBandWidthEv).toBe(2.25);
    expect(r.vbm).toBeUndefined();
    expect(r.gapEv).toBeUndefined();
    expect(alignEnergies(s.eigenvaluesEv, energyReference(r))[0]![0]).toBe(-2.25);
    // from E_F alone
    expect(analyzeBandGap({ ...s, fermiEnergyEv: ef })).toMatchObject({ kind: 'metal', method: 'fermi-level' });
    // a metal without E_F: no reference, and energyReference says why
    const noEf = analyzeBandGap({ ...s, nElectrons: 3 });
    expect(noEf.kind).toBe('metal');
    expect(noEf.reference).toBeUndefined();
    expect(() => energyReference(noEf)).toThrow(/needs its Fermi energy/);
  });

  it('overlapping bands with an even count are a semimetal', () => {
    const s = synthetic(10, 1, [(k) => -1 + 2 * k, (k) => 0.5 - k]);
    const r = analyzeBandGap({ ...s, nElectrons: 2 });
    expect(r.kind).toBe('metal');
    expect(r.notes.join(' ')).toMatch(/semimetal/);
  });

  it('from a Fermi level alone: an insulator when no band crosses it (E_F at the VBM counts as below)', () => {
    const s = synthetic(10, 1, [(k) => -k * k, (k) => 1.2 + k]);
    const r = analyzeBandGap({ ...s, fermiEnergyEv: 0.0004 });
    expect(r).toMatchObject({ kind: 'insulator', method: 'fermi-level', gapEv: 1.2 });
  });

  it('spin-polarised: one electron per state, edges in either channel', () => {
    const up = [[-2, 0, 3], [-2.5, -0.2, 3.5]];
    const down = [[-1.5, 1, 3.2], [-1.8, 1.4, 3.6]];
    // 3 electrons: up 0, down 0, up 1 filled at every k
    const r = analyzeBandGap({ eigenvaluesEv: up, eigenvaluesDownEv: down, nElectrons: 3 });
    expect(r).toMatchObject({ kind: 'insulator', gapEv: 1 });
    expect(r.vbm).toMatchObject({ kIndex: 0, band: 1, spin: 'up', energyEv: 0 });
    expect(r.cbm).toMatchObject({ kIndex: 0, band: 1, spin: 'down', energyEv: 1 });
    expect(r.bandWidths.filter((w) => w.spin === 'down')).toHaveLength(3);
  });

  it('a uniform mesh gets a note; the Fermi energy of a tetrahedra run inside the gap gets another', () => {
    const s = synthetic(4, 1, [(k) => -k, (k) => 1 + k]);
    const r = analyzeBandGap({ ...s, nElectrons: 2, fermiEnergyEv: 0.6, source: 'mesh' });
    expect(r.reference!.kind).toBe('vbm');
    expect(r.notes.join('\n')).toMatch(/uniform k-mesh/);
    expect(r.notes.join('\n')).toMatch(/0\.6 eV above the VBM, inside the gap: energies are aligned to the VBM/);
  });

  it('says what is missing', () => {
    expect(() => analyzeBandGap({ eigenvaluesEv: [[0, 1]] })).toThrow(/give nElectrons or fermiEnergyEv/);
    expect(() => analyzeBandGap({ eigenvaluesEv: [[0, 1]], nElectrons: 6 })).toThrow(/2 states hold 4 electrons, fewer than the 6 given/);
    expect(() => analyzeBandGap({ eigenvaluesEv: [[0, 1], [0]], nElectrons: 2 })).toThrow(/rectangular/);
    expect(() => analyzeBandGap({ eigenvaluesEv: [[0, 1]], nElectrons: 2, distances: [0, 1] })).toThrow(/distances has 2 entries for 1 k-points/);
    const noEmpty = analyzeBandGap({ eigenvaluesEv: [[0, 1]], nElectrons: 4 });
    expect(noEmpty.cbm).toBeUndefined();
    expect(noEmpty.notes.join(' ')).toMatch(/no empty band/);
  });
});

describe('reportedBandGap: the gap and where it really came from', () => {
  const path = (gap: { kind: 'insulator' | 'metal'; gapEv?: number }) => ({ gap, description: 'FCC path (61 k-points)' });
  it('the band structure when it decides: an insulator with an empty band, or a metal', () => {
    expect(reportedBandGap(path({ kind: 'insulator', gapEv: 0.47 }), { bandGapEv: 0.6 })).toEqual({ gapEv: 0.47, from: 'band structure', source: 'band structure along FCC path (61 k-points)' });
    expect(reportedBandGap(path({ kind: 'metal' }), { bandGapEv: 0.6 })).toMatchObject({ gapEv: 0, from: 'band structure', source: expect.stringMatching(/a metal$/) });
  });
  it("the scf's k-mesh when the path has no empty band or there is no band structure, and says so", () => {
    expect(reportedBandGap(path({ kind: 'insulator' }), { bandGapEv: 0.6 })).toEqual({ gapEv: 0.6, from: 'scf', source: 'scf k-mesh HOMO/LUMO (the band structure has no empty band)' });
    expect(reportedBandGap(undefined, { bandGapEv: 0.6 })).toEqual({ gapEv: 0.6, from: 'scf', source: 'scf k-mesh HOMO/LUMO' });
    expect(reportedBandGap(undefined, {})).toEqual({ from: 'none', source: 'none: no gap from the scf k-mesh' });
  });
});

// ---------------------------------------------------------------------------------------------------------------

describeShared('analyzeBandGap: real pw.x outputs of the QE test-suite', () => {
  it('Si bands (tpiba_b path Γ–X–W–L–Γ): indirect, VBM at Γ, CBM at 0.8 of Γ–X (the path\'s resolution)', () => {
    const b = parsePwBands(readFileSync(fixture('qe', 'pw-testsuite', 'si_bands', 'pw.out'), 'utf8'));
    const labels = [{ index: 0, label: 'Γ' }, { index: 5, label: 'X' }, { index: 10, label: 'W' }, { index: 15, label: 'L' }, { index: 20, label: 'Γ' }];
    const r = analyzeBandGap({ eigenvaluesEv: b.eigenvaluesEv, nElectrons: b.nElectrons, kpoints: b.kpoints, labels, distances: bandsPathDistances(b) });
    expect(r.kind).toBe('insulator');
    expect(r.direct).toBe(false);
    expect(r.vbm).toMatchObject({ kIndex: 0, label: 'Γ', energyEv: 6.336 });
    expect(r.vbm!.alsoAt.map((l) => l.label)).toEqual(['Γ']);
    expect(r.cbm).toMatchObject({ kIndex: 4, energyEv: 6.8246, segment: { from: 'Γ', to: 'X', fraction: 0.8 } });
    expect(r.gapEv).toBeCloseTo(0.4886, 6);
    expect(r.directGap).toMatchObject({ label: 'Γ', energyEv: 2.5617 });
    expect(r.valenceBandWidthEv).toBeCloseTo(6.336 + 5.6687, 6);
  });

  it('Al nscf on a 6×6×6 mesh (3 electrons, smearing): a metal aligned to its Fermi energy', () => {
    const b = parsePwBands(readFileSync(fixture('qe', 'pw-testsuite', 'al_nscf', 'pw.out'), 'utf8'));
    expect(b.nElectrons).toBe(3);
    expect(b.fermiEnergyEv).toBe(8.2521);
    const r = analyzeBandGap({ eigenvaluesEv: b.eigenvaluesEv, nElectrons: b.nElectrons, fermiEnergyEv: b.fermiEnergyEv, source: 'mesh' });
    expect(r.kind).toBe('metal');
    // on this shifted 6×6×6 mesh only the second band crosses E_F (the third starts at 8.84 eV)
    expect(r.crossingBands!.map((c) => c.band)).toEqual([1]);
    expect(r.reference).toEqual({ kind: 'fermi', energyEv: 8.2521, label: 'E − E_F' });
    // the occupied bandwidth of Al, about 11 eV (free electrons: 11.7 eV)
    expect(r.valenceBandWidthEv!).toBeCloseTo(8.2521 + 2.9919, 6);
  });

  it('ferromagnetic Ni (lsda scf): a metal in both channels', () => {
    const b = parsePwBands(readFileSync(fixture('qe', 'pw-testsuite', 'lsda_scf', 'pw.out'), 'utf8'));
    const r = analyzeBandGap({ eigenvaluesEv: b.eigenvaluesEv, eigenvaluesDownEv: b.eigenvaluesDownEv, nElectrons: b.nElectrons, fermiEnergyEv: b.fermiEnergyEv });
    expect(r.kind).toBe('metal');
    expect(new Set(r.crossingBands!.map((c) => c.spin))).toEqual(new Set(['up', 'down']));
  });
});

// ---------------------------------------------------------------------------------------------------------------

const SI_PATH: KPathVertex[] = [
  ['G', [0, 0, 0], 20],
  ['X', [0, 0.5, 0.5], 7],
  ['W', [0.25, 0.5, 0.75], 5],
  ['K', [0.375, 0.375, 0.75], 12],
  ['G', [0, 0, 0], 10],
  ['L', [0.5, 0.5, 0.5], 0],
];

describe.skipIf(!existsSync(PW) || !existsSync(SI_PSEUDO_GZ))(`Si from a real pw.x bands run (needs ${PW} and ${SI_PSEUDO_GZ})`, () => {
  let dir = '';
  let bands: PwBands;
  let r: BandGapResult;
  let bandsInput: ReturnType<typeof buildPwBandsInput>;

  beforeAll(() => {
    const scratch = siScratch('gap');
    dir = scratch.dir;
    const base = { ...scratch.base, overrides: { system: { ecutwfc: 16 } } };
    const run = (name: string, text: string) => {
      writeFileSync(join(dir, `${name}.in`), text);
      execFileSync(PW, ['-in', `${name}.in`], { cwd: dir, env: { ...process.env, OMP_NUM_THREADS: '1' }, timeout: 120_000 });
    };
    run('scf', buildPwInput({ ...base, calculation: 'scf', kpoints: { mesh: [4, 4, 4] } }).text);
    bandsInput = buildPwBandsInput({ ...base, path: SI_PATH });
    run('bands', bandsInput.text);
    bands = parsePwBands(readFileSync(join(dir, 'out', 'si.save', 'data-file-schema.xml'), 'utf8'));
    r = analyzeBandGap({
      eigenvaluesEv: bands.eigenvaluesEv,
      nElectrons: bands.nElectrons,
      fermiEnergyEv: bands.fermiEnergyEv,
      kpoints: bands.kpoints,
      labels: bandsInput.path.labels,
      breaks: bandsInput.path.breaks,
      distances: bandsPathDistances(bands, bandsInput.path.breaks),
      source: 'path',
    });
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('indirect gap: VBM at Γ, CBM along Γ–X near 0.85 X', () => {
    expect(r.kind).toBe('insulator');
    expect(r.direct).toBe(false);
    expect(r.vbm).toMatchObject({ kIndex: 0, label: 'Γ', kpoint: [0, 0, 0], band: 3 });
    expect(r.vbm!.alsoAt.map((l) => `${l.label}@${l.kIndex}`)).toEqual(['Γ@44']);
    expect(r.cbm!.band).toBe(4);
    expect(r.cbm!.segment).toMatchObject({ from: 'Γ', to: 'X' });
    expect(r.cbm!.segment!.fraction).toBeGreaterThanOrEqual(0.8);
    expect(r.cbm!.segment!.fraction).toBeLessThanOrEqual(0.9);
    expect(r.cbm!.kpoint![0]).toBe(0);
    expect(r.cbm!.kpoint![1]).toBeCloseTo(r.cbm!.segment!.fraction / 2, 6);
    // LDA Si: about 0.5 eV indirect, 2.5 eV direct at Γ
    expect(r.gapEv!).toBeGreaterThan(0.35);
    expect(r.gapEv!).toBeLessThan(0.7);
    expect(r.directGap).toMatchObject({ label: 'Γ' });
    expect(r.directGap!.energyEv).toBeGreaterThan(2.3);
    expect(r.directGap!.energyEv).toBeLessThan(2.8);
    // the VBM and CBM pw.x wrote (highest occupied / lowest unoccupied level over the path)
    expect(r.vbm!.energyEv).toBeCloseTo(bands.highestOccupiedEv!, 4);
    expect(r.cbm!.energyEv).toBeCloseTo(bands.lowestUnoccupiedEv!, 4);
  });

  it('aligns to the VBM (not to the Fermi energy written by the scf), band widths', () => {
    expect(r.reference).toEqual({ kind: 'vbm', energyEv: r.vbm!.energyEv, label: 'E − E_VBM' });
    const aligned = alignEnergies(bands.eigenvaluesEv, r.reference!);
    expect(Math.max(...aligned.map((row) => row[3]!))).toBeCloseTo(0, 5); // the reference is rounded to 1e-6 eV
    expect(Math.min(...aligned.map((row) => row[4]!))).toBeCloseTo(r.gapEv!, 5);
    expect(r.occupiedBands).toBe(4);
    // Si valence band: about 12 eV wide; the top band (Γ to X) about 3 eV
    expect(r.valenceBandWidthEv!).toBeGreaterThan(11);
    expect(r.valenceBandWidthEv!).toBeLessThan(13);
  });

  it('effective masses: the CB minimum (longitudinal, ≈ 0.9 m_e), holes at Γ towards X, K and L', () => {
    const e = r.effectiveMasses.filter((m) => m.edge === 'cbm');
    expect(e).toHaveLength(1);
    expect(e[0]).toMatchObject({ direction: 'along Γ–X', extremum: true, band: 4 });
    expect(e[0]!.massMe).toBeGreaterThan(0.7);
    expect(e[0]!.massMe).toBeLessThan(1.2);
    const h = r.effectiveMasses.filter((m) => m.edge === 'vbm');
    expect(new Set(h.map((m) => m.direction))).toEqual(new Set(['Γ→X', 'Γ→K', 'Γ→L']));
    // three bands meet at Γ: heavy and light holes, all curving down
    expect(new Set(h.map((m) => m.band))).toEqual(new Set([1, 2, 3]));
    for (const m of h) {
      expect(m.extremum).toBe(true);
      expect(m.massMe).toBeGreaterThan(0.05);
      expect(m.massMe).toBeLessThan(5);
    }
  });
});
