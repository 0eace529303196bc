import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bandsPathDistances,
  buildPwBandsInput,
  crystalToCartesianK,
  expandKPath,
  kPointsCrystalBCard,
  parsePwBands,
  pathDistances,
  type KPathVertex,
  type PwBands,
} from '../../../src/domain/codes/qe/bands.ts';
import { buildPwInput, parsePwInputNamelists } from '../../../src/domain/codes/qe/inputs.ts';
import { DEBIAN_QE_EXAMPLES_FAMILY } from '../../../src/domain/codes/qe/pseudos.ts';
import { reciprocalLattice } from '../../../src/domain/structure/lattice.ts';
import { builtinStructure } from '../../../src/domain/structure/builtins.ts';
import { normalizeKLabel } from '../../../src/domain/structure/kpath.ts';
import { siScratch, SI_PSEUDO_GZ } from '../../support/qe-si.ts';
import { describeShared, fixture } from '../../support/shared.ts';

const PW = '/usr/bin/pw.x';
const NI_SCF_GZ = '/usr/share/doc/quantum-espresso/examples/PP/example02/reference/ni.scf.out.gz';
const LICOO2_SCF_GZ = '/usr/share/doc/quantum-espresso/examples/PHonon/example18/reference/LiCoO2.scf.out.gz';
const FORCE_THEOREM_GZ = '/usr/share/doc/quantum-espresso/examples/PP/ForceTheorem_example/reference/par.out.gz';

/** fcc Si (primitive vectors (0,½,½)a, ...): Γ–X–W–K–Γ–L in crystal coordinates. */
const SI_PATH: KPathVertex[] = [
  ['G', [0, 0, 0], 20],
  ['X', [0, 0.5, 0.5], 7],
  ['W', [0.25, 0.5, 0.75], 5],
  ['K', [0.375, 0.375, 0.75], 12],
  ['GAMMA', [0, 0, 0], 10],
  ['L', [0.5, 0.5, 0.5], 0],
];

describe('kPointsCrystalBCard', () => {
  it('writes the crystal_b card: count, coordinates, points to the next vertex, labels as ASCII comments', () => {
    expect(kPointsCrystalBCard([['Γ', [0, 0, 0], 20], ['X', [0, 0.5, 0.5], 10], ['L', [0.5, 0.5, 0.5], 0]])).toBe(
      [
        'K_POINTS crystal_b',
        '  3',
        '    0.0000000000   0.0000000000   0.0000000000   20 ! G',
        '    0.0000000000   0.5000000000   0.5000000000   10 ! X',
        '    0.5000000000   0.5000000000   0.5000000000    1 ! L',
        '',
      ].join('\n'),
    );
  });

  it('writes negative coordinates without -0 and drops non-ASCII from comments', () => {
    const card = kPointsCrystalBCard([['Σ', [-0.25, -0, 0.5], 4], ['M', [0.5, 0, 0], 1]]);
    expect(card).toContain('   -0.2500000000   0.0000000000   0.5000000000    4\n');
    expect(card).toContain('   0.5000000000   0.0000000000   0.0000000000    1 ! M\n');
  });

  it('rejects paths pw.x cannot use', () => {
    expect(() => kPointsCrystalBCard([['G', [0, 0, 0], 10]])).toThrow(/at least two vertices/);
    expect(() => kPointsCrystalBCard([['G', [0, 0, 0], 0], ['X', [0, 0.5, 0.5], 1]])).toThrow(/vertex 0 \(G\): nPoints must be an integer >= 1/);
    expect(() => kPointsCrystalBCard([['G', [0, 0, 0], 2.5], ['X', [0, 0.5, 0.5], 1]])).toThrow(/nPoints/);
    expect(() => kPointsCrystalBCard([['G', [0, Number.NaN, 0], 2], ['X', [0, 0.5, 0.5], 1]])).toThrow(/three finite numbers/);
  });
});

describe('expandKPath', () => {
  it('expands like pw.x: n points from each vertex towards the next, then the last vertex', () => {
    const p = expandKPath(SI_PATH);
    expect(p.kpoints).toHaveLength(20 + 7 + 5 + 12 + 10 + 1);
    expect(p.labels).toEqual([
      { index: 0, label: 'Γ' },
      { index: 20, label: 'X' },
      { index: 27, label: 'W' },
      { index: 32, label: 'K' },
      { index: 44, label: 'Γ' },
      { index: 54, label: 'L' },
    ]);
    expect(p.kpoints[17]).toEqual([0, 0.425, 0.425]);
    expect(p.kpoints[54]).toEqual([0.5, 0.5, 0.5]);
    expect(p.breaks).toEqual([]);
  });

  it('treats a vertex with one point as a jump (K|U), unless told otherwise', () => {
    const path: KPathVertex[] = [['L', [0.5, 0.5, 0.5], 2], ['K', [0.375, 0.375, 0.75], 1], ['U', [0.25, 0.625, 0.625], 2], ['X', [0, 0.5, 0.5], 0]];
    const p = expandKPath(path);
    expect(p.labels.map((l) => `${l.label}@${l.index}`)).toEqual(['L@0', 'K@2', 'U@3', 'X@5']);
    expect(p.breaks).toEqual([3]);
    expect(expandKPath(path, { jumpAfterSinglePoint: false }).breaks).toEqual([]);
    // the jump adds no distance
    const lattice = builtinStructure('Si')!.lattice;
    const d = pathDistances(crystalToCartesianK(lattice, p.kpoints), p.breaks);
    expect(d[3]).toBe(d[2]);
    expect(d[4]! - d[3]!).toBeGreaterThan(0);
  });

  it('normalises Γ spellings', () => {
    for (const g of ['G', 'g', 'GAMMA', 'Gamma', '\\Gamma', 'Γ']) expect(normalizeKLabel(g)).toBe('Γ');
    expect(normalizeKLabel(' X ')).toBe('X');
    expect(normalizeKLabel('K1')).toBe('K1');
  });
});

describe('pathDistances / crystalToCartesianK', () => {
  it('gives |Γ–X| = 2π/a for fcc Si (Å⁻¹, 2π included)', () => {
    const si = builtinStructure('Si')!;
    const a = 5.431;
    const cart = crystalToCartesianK(si.lattice, [[0, 0, 0], [0, 0.5, 0.5]]);
    expect(pathDistances(cart)[1]).toBeCloseTo((2 * Math.PI) / a, 10);
    expect(reciprocalLattice(si.lattice)).toHaveLength(3);
  });
});

describe('buildPwBandsInput', () => {
  const structure = builtinStructure('Si')!;
  const req = {
    structure,
    protocol: 'fast' as const,
    family: DEBIAN_QE_EXAMPLES_FAMILY,
    pseudoDir: '/pseudo',
    prefix: 'si',
    valenceElectrons: { Si: 4 },
    path: SI_PATH,
  };

  it('is the scf input with calculation bands, the crystal_b card and nbnd for empty bands', () => {
    const b = buildPwBandsInput(req);
    const scf = buildPwInput({ ...req, calculation: 'scf' });
    const nl = parsePwInputNamelists(b.text);
    expect(nl.control!.calculation).toBe('bands');
    expect(nl.control!.prefix).toBe('si');
    expect(nl.system!.ecutwfc).toBe(scf.ecutwfc);
    expect(nl.system!.nbnd).toBe(8); // 4 occupied + 4 empty
    expect(b.text).not.toContain('K_POINTS automatic');
    expect(b.text.endsWith(kPointsCrystalBCard(SI_PATH))).toBe(true);
    // everything before the cards is what buildPwInput writes for a bands run
    const plain = buildPwInput({ ...req, calculation: 'bands', overrides: { system: { nbnd: 8 } } });
    expect(b.text.replace(/K_POINTS[\s\S]*$/, '')).toBe(plain.text.replace(/K_POINTS[\s\S]*$/, ''));
    expect(b.path.kpoints).toHaveLength(55);
  });

  it('keeps an nbnd given in the overrides', () => {
    const b = buildPwBandsInput({ ...req, overrides: { system: { nbnd: 12 } } });
    expect(parsePwInputNamelists(b.text).system!.nbnd).toBe(12);
  });
});

// ---------------------------------------------------------------------------------------------------------------

describeShared('parsePwBands: pw.x stdout of the QE test-suite (si_bands, tpiba_b path)', () => {
  const stdout = readFileSync(fixture('qe', 'pw-testsuite', 'si_bands', 'pw.out'), 'utf8');

  it('reads every k-point and band, the electrons and alat', () => {
    const b = parsePwBands(stdout);
    expect(b.source).toBe('stdout');
    expect(b.kpointsTpiba).toHaveLength(21);
    expect(b.eigenvaluesEv).toHaveLength(21);
    expect(b.nBands).toBe(8);
    expect(b.eigenvaluesEv[0]).toEqual([-5.6687, 6.336, 6.336, 6.336, 8.8977, 8.8977, 8.8977, 9.8994]);
    expect(b.eigenvaluesEv[10]).toEqual([-1.8691, -0.8929, 1.8512, 3.8081, 7.4704, 10.4622, 13.8961, 14.4265]);
    expect(b.eigenvaluesEv[20]).toEqual(b.eigenvaluesEv[0]);
    expect(b.nElectrons).toBe(8);
    expect(b.alatBohr).toBe(10.2);
    expect(b.spinPolarized).toBe(false);
    expect(b.eigenvaluesDownEv).toBeUndefined();
    expect(b.warnings).toEqual([]);
  });

  it('converts the cartesian k-points (2π/alat) to crystal ones with the printed axes', () => {
    const b = parsePwBands(stdout);
    expect(b.kpointsUnits).toBe('crystal');
    expect(b.kpointsTpiba[5]).toEqual([1, 0, 0]); // X
    // a(1) = (-½, 0, ½), a(2) = (0, ½, ½), a(3) = (-½, ½, 0): c_i = k · a_i
    expect(b.kpoints[5]).toEqual([-0.5, 0, -0.5]);
    expect(b.kpoints[15]).toEqual([0, 0.5, 0]); // L = (½,½,½) 2π/alat
    // Å⁻¹: |Γ–X| = 2π/a with a = 10.2 bohr
    const d = bandsPathDistances(b);
    expect(d[5]).toBeCloseTo((2 * Math.PI) / (10.2 * 0.529177210903), 9);
  });

  it('says why when stdout holds no band energies', () => {
    const many = [
      '     number of k points=   150',
      '                       cart. coord. in units 2pi/alat',
      ...Array.from({ length: 150 }, (_, i) => `        k(${String(i + 1).padStart(5)}) = (   0.0000000   0.0000000   ${(i / 150).toFixed(7)}), wk =   0.0066667`),
      '     Band Structure Calculation',
      '     End of band structure calculation',
      '     Writing output data file pwscf.save',
    ].join('\n');
    expect(() => parsePwBands(many)).toThrow(/150 k-points \(>= 100\) unless verbosity = 'high'; read the XML/);
    expect(() => parsePwBands('     Program PWSCF v.6.7MaX starts\n')).toThrow(/no band energies/);
    expect(() => parsePwBands({})).toThrow(/give the XML/);
  });
});

describeShared('parsePwBands: spin-polarised stdout (Ni, QE test-suite lsda_scf)', () => {
  it('reads two channels', () => {
    const b = parsePwBands(readFileSync(fixture('qe', 'pw-testsuite', 'lsda_scf', 'pw.out'), 'utf8'));
    expect(b.spinPolarized).toBe(true);
    expect(b.eigenvaluesDownEv).toBeDefined();
    expect(b.eigenvaluesEv).toHaveLength(b.eigenvaluesDownEv!.length);
    expect(b.eigenvaluesEv.length).toBe(b.kpointsTpiba.length);
    // ferromagnetic Ni: the up d bands lie below the down ones
    expect(b.eigenvaluesEv[0]![3]!).toBeLessThan(b.eigenvaluesDownEv![0]![3]!);
    expect(b.fermiEnergyEv).toBeTypeOf('number');
  });
});

describe.skipIf(!existsSync(NI_SCF_GZ))(`parsePwBands: Ni lsda scf of QE's PP example02 (needs ${NI_SCF_GZ})`, () => {
  it("explains a real stdout where pw.x left the bands out ('Number of k-points >= 100')", () => {
    // 60 k-points × 2 spins: pw.x printed "Number of k-points >= 100: set verbosity='high' to print the bands."
    expect(() => parsePwBands(gunzipSync(readFileSync(NI_SCF_GZ)).toString('utf8'))).toThrow(/unless verbosity = 'high'; read the XML/);
  });
});

describe.skipIf(!existsSync(LICOO2_SCF_GZ) || !existsSync(FORCE_THEOREM_GZ))(
  `parsePwBands: listings with other lines inside, from QE's examples (needs ${LICOO2_SCF_GZ} and ${FORCE_THEOREM_GZ})`,
  () => {
    const read = (gz: string) => gunzipSync(readFileSync(gz)).toString('utf8');

    it("reads past DFT+U's occupation matrices printed between 'End of self-consistent calculation' and the bands", () => {
      const b = parsePwBands(read(LICOO2_SCF_GZ));
      expect(b.kpointsTpiba).toHaveLength(13);
      expect(b.nBands).toBe(16);
      expect(b.eigenvaluesEv[0]![0]).toBe(-84.2661);
    });

    it("reads past verbosity = 'high' lines (eband, Ef; occupation numbers) and leaves the occupations out", () => {
      const b = parsePwBands(read(FORCE_THEOREM_GZ));
      expect(b.kpointsTpiba).toHaveLength(16);
      expect(b.nBands).toBe(36);
      expect(b.eigenvaluesEv[0]![0]).toBe(-6.997);
      expect(b.fermiEnergyEv).toBe(-0.4547);
    });
  },
);

// ---------------------------------------------------------------------------------------------------------------

const haveQe = existsSync(PW) && existsSync(SI_PSEUDO_GZ);

describe.skipIf(!haveQe)(`real pw.x: Si scf then bands along Γ–X–W–K–Γ–L (needs ${PW} and ${SI_PSEUDO_GZ})`, () => {
  let dir = '';
  let stdout = '';
  let xml = '';
  let bandsInput: ReturnType<typeof buildPwBandsInput>;
  const run = (name: string, text: string) => {
    writeFileSync(join(dir, `${name}.in`), text);
    const out = execFileSync(PW, ['-in', `${name}.in`], { cwd: dir, env: { ...process.env, OMP_NUM_THREADS: '1' }, timeout: 120_000 }).toString();
    writeFileSync(join(dir, `${name}.out`), out);
    return out;
  };

  beforeAll(() => {
    const scratch = siScratch('bands');
    dir = scratch.dir;
    const base = { ...scratch.base, overrides: { system: { ecutwfc: 16 } } };
    run('scf', buildPwInput({ ...base, calculation: 'scf', kpoints: { mesh: [4, 4, 4] } }).text);
    bandsInput = buildPwBandsInput({ ...base, path: SI_PATH });
    stdout = run('bands', bandsInput.text);
    xml = readFileSync(join(dir, 'out', 'si.save', 'data-file-schema.xml'), 'utf8');
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('pw.x accepted the crystal_b card: its k-points are the expanded path', () => {
    const b = parsePwBands(xml);
    expect(b.source).toBe('xml');
    expect(b.calculation).toBe('bands');
    expect(b.kpointsUnits).toBe('crystal');
    expect(b.kpoints).toHaveLength(bandsInput.path.kpoints.length);
    b.kpoints.forEach((k, i) => k.forEach((x, j) => expect(x).toBeCloseTo(bandsInput.path.kpoints[i]![j]!, 8)));
  });

  it('XML eigenvalues (Hartree → eV) match what pw.x printed, at every k-point and band', () => {
    const fromXml = parsePwBands(xml);
    const fromStdout = parsePwBands(stdout);
    expect(fromXml.nBands).toBe(8);
    expect(fromStdout.eigenvaluesEv).toHaveLength(fromXml.eigenvaluesEv.length);
    fromXml.eigenvaluesEv.forEach((row, k) => row.forEach((e, n) => expect(Math.abs(e - fromStdout.eigenvaluesEv[k]![n]!)).toBeLessThanOrEqual(5.1e-5)));
    expect(fromXml.nElectrons).toBe(8);
    expect(fromStdout.nElectrons).toBe(8);
    // both give the same crystal coordinates (stdout to its 7 printed decimals)
    fromXml.kpoints.forEach((k, i) => k.forEach((x, j) => expect(Math.abs(x - fromStdout.kpoints[i]![j]!)).toBeLessThan(1e-6)));
    // and the same path length in Å⁻¹
    const dx = bandsPathDistances(fromXml);
    const ds = bandsPathDistances(fromStdout);
    expect(Math.abs(dx[dx.length - 1]! - ds[ds.length - 1]!)).toBeLessThan(1e-4);
  });

  it('prefers the XML when both are given, and falls back to stdout when the XML is broken', () => {
    expect(parsePwBands({ xml, stdout }).source).toBe('xml');
    const fallback = parsePwBands({ xml: xml.slice(0, xml.length / 2), stdout });
    expect(fallback.source).toBe('stdout');
    expect(fallback.warnings[0]).toMatch(/XML unusable/);
    expect(() => parsePwBands(xml.slice(0, xml.length / 2))).toThrow(/not well-formed/);
  });

  it('the result is plain JSON', () => {
    const b: PwBands = parsePwBands(xml);
    expect(JSON.parse(JSON.stringify(b))).toEqual(b);
  });
});
