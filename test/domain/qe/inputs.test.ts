import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { buildPwInput, fortranValue, insulatorBands, parsePwInputNamelists, PwParametersSchema } from '../../../src/domain/codes/qe/inputs.ts';
import type { PwInputRequest } from '../../../src/domain/codes/qe/inputs.ts';
import { PROTOCOLS } from '../../../src/domain/codes/qe/protocols.ts';
import { DEBIAN_QE_EXAMPLES_FAMILY } from '../../../src/domain/codes/qe/pseudos.ts';
import type { PseudoFamily } from '../../../src/domain/codes/qe/pseudos.ts';
import { parsePwOutput } from '../../../src/domain/codes/qe/parse.ts';
import { builtinStructure } from '../../../src/domain/structure/builtins.ts';
import { kMeshFromDistance } from '../../../src/domain/structure/kpoints.ts';
import type { Mat3, Structure } from '../../../src/domain/structure/structure.ts';

const A = 5.431;
const SI: Structure = {
  lattice: [
    [0, A / 2, A / 2],
    [A / 2, 0, A / 2],
    [A / 2, A / 2, 0],
  ],
  sites: [
    { species: 'Si', frac: [0, 0, 0] },
    { species: 'Si', frac: [0.25, 0.25, 0.25] },
  ],
  title: 'Si diamond',
};

const AL_A = 4.05;
const AL: Structure = {
  lattice: [
    [0, AL_A / 2, AL_A / 2],
    [AL_A / 2, 0, AL_A / 2],
    [AL_A / 2, AL_A / 2, 0],
  ],
  sites: [{ species: 'Al', frac: [0, 0, 0] }],
};

const FAMILY: PseudoFamily = {
  ...DEBIAN_QE_EXAMPLES_FAMILY,
  elements: {
    ...DEBIAN_QE_EXAMPLES_FAMILY.elements,
    Al: { file: 'Al.pz-vbc.UPF', ecutwfc: 20, ecutrho: 80 },
    Fe: { file: 'Fe.pz-nd-rrkjus.UPF', ecutwfc: 30, ecutrho: 240 },
    Ti: { file: 'Ti.pz-sp-van_ak.UPF', ecutwfc: 30, ecutrho: 240 },
    O: { file: 'O.pz-rrkjus.UPF', ecutwfc: 30, ecutrho: 240 },
  },
};

const request = (over: Partial<PwInputRequest> = {}): PwInputRequest => ({
  structure: SI,
  calculation: 'scf',
  protocol: 'moderate',
  family: FAMILY,
  pseudoDir: '/scratch/pseudo',
  ...over,
});

/** The message buildPwInput throws. */
function buildError(req: unknown): string {
  try {
    buildPwInput(req as PwInputRequest);
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('expected buildPwInput to throw');
}

/** Non-empty lines of a card, up to the next card. */
function card(text: string, name: string): string[] {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.startsWith(name));
  expect(start, `card ${name}`).toBeGreaterThanOrEqual(0);
  const out: string[] = [lines[start]!];
  for (const l of lines.slice(start + 1)) {
    if (!l.trim() || /^[A-Z_]+(\s|$)/.test(l)) break;
    out.push(l.trim());
  }
  return out;
}

describe('buildPwInput: Si scf', () => {
  const moderate = PROTOCOLS.moderate;
  const out = buildPwInput(request());
  const nl = parsePwInputNamelists(out.text);

  it('writes CONTROL with paths, forces/stress and per-atom thresholds', () => {
    expect(nl.control).toMatchObject({
      calculation: 'scf',
      prefix: 'pwscf',
      outdir: './out',
      pseudo_dir: '/scratch/pseudo',
      tprnfor: true,
      tstress: true,
      forc_conv_thr: moderate.forcConvThr,
    });
    // etot_conv_thr = per atom × nat (2 atoms)
    expect(nl.control!.etot_conv_thr).toBeCloseTo(2 * moderate.etotConvThrPerAtom, 15);
    expect(nl.control).not.toHaveProperty('nstep');
  });

  it('writes SYSTEM with ibrav=0, nat, ntyp, family cutoffs and fixed occupations for Si', () => {
    expect(nl.system).toEqual({
      ibrav: 0,
      nat: 2,
      ntyp: 1,
      ecutwfc: FAMILY.elements.Si!.ecutwfc,
      ecutrho: FAMILY.elements.Si!.ecutrho,
      occupations: 'fixed',
    });
    expect(out.ecutwfc).toBe(FAMILY.elements.Si!.ecutwfc);
    expect(out.ecutrho).toBe(FAMILY.elements.Si!.ecutrho);
  });

  it('writes ELECTRONS with conv_thr = 2 × per-atom threshold', () => {
    expect(nl.electrons!.conv_thr).toBeCloseTo(2 * moderate.convThrPerAtom, 20);
    expect(nl.electrons!.conv_thr).toBe(4e-10);
    expect(nl.electrons).toMatchObject({ mixing_beta: 0.4, electron_maxstep: 80 });
  });

  it('writes no IONS/CELL for scf, and returns the namelists it wrote', () => {
    expect(Object.keys(nl)).toEqual(['control', 'system', 'electrons']);
    expect(out.parameters).toEqual(nl);
  });

  it('writes the cards: species with mass and file, cell in Å, crystal positions, k-mesh from the protocol distance', () => {
    expect(card(out.text, 'ATOMIC_SPECIES')).toEqual(['ATOMIC_SPECIES', 'Si 28.0850 Si.pz-vbc.UPF']);
    const cell = card(out.text, 'CELL_PARAMETERS');
    expect(cell[0]).toBe('CELL_PARAMETERS angstrom');
    expect(cell.slice(1).map((l) => l.split(/\s+/).map(Number))).toEqual(SI.lattice);
    expect(cell[1]).toBe('0.0000000000     2.7155000000     2.7155000000');
    expect(card(out.text, 'ATOMIC_POSITIONS')).toEqual([
      'ATOMIC_POSITIONS crystal',
      'Si   0.0000000000   0.0000000000   0.0000000000',
      'Si   0.2500000000   0.2500000000   0.2500000000',
    ]);
    // moderate: 0.15 Å⁻¹; |b| = 2π√3/5.431 = 2.0038 Å⁻¹ → ceil(13.36) = 14
    expect(out.kpoints).toEqual({ mesh: [14, 14, 14], offset: [0, 0, 0] });
    expect(card(out.text, 'K_POINTS')).toEqual(['K_POINTS automatic', '14 14 14 0 0 0']);
    expect(out.text.endsWith('\n')).toBe(true);
  });

  it('follows the protocol: fast uses 0.30 Å⁻¹ (7×7×7) and looser thresholds; precise scales cutoffs', () => {
    const fast = buildPwInput(request({ protocol: 'fast' }));
    expect(fast.kpoints.mesh).toEqual(kMeshFromDistance(SI.lattice, PROTOCOLS.fast.kpointsDistance));
    expect(fast.kpoints.mesh).toEqual([7, 7, 7]);
    expect(fast.parameters.electrons!.conv_thr).toBeCloseTo(2 * 0.4e-9, 20);
    expect(fast.parameters.control!.forc_conv_thr).toBe(1e-3);
    const precise = buildPwInput(request({ protocol: 'precise' }));
    expect(precise.ecutwfc).toBe(FAMILY.elements.Si!.ecutwfc * PROTOCOLS.precise.cutoffScale);
    expect(precise.kpoints.mesh).toEqual([21, 21, 21]); // 2.0038/0.10 = 20.04 → 21
  });

  it('takes an explicit mesh with offset, or a distance', () => {
    const m = buildPwInput(request({ kpoints: { mesh: [4, 4, 4], offset: [1, 1, 1] } }));
    expect(card(m.text, 'K_POINTS')[1]).toBe('4 4 4 1 1 1');
    const d = buildPwInput(request({ kpoints: { distance: 0.5 } }));
    expect(d.kpoints).toEqual({ mesh: [5, 5, 5], offset: [0, 0, 0] });
  });

  it('uses prefix/outdir from the request and escapes quotes', () => {
    const o = buildPwInput(request({ prefix: 'si2', outdir: '/work/run 1', pseudoDir: "/data/o'brien/pp" }));
    expect(o.text).toContain("pseudo_dir    = '/data/o''brien/pp'");
    const back = parsePwInputNamelists(o.text);
    expect(back.control).toMatchObject({ prefix: 'si2', outdir: '/work/run 1', pseudo_dir: "/data/o'brien/pp" });
  });
});

describe('buildPwInput: electronic type', () => {
  it('auto: Al (all metallic) gets cold smearing with the protocol degauss; Si gets fixed', () => {
    const al = buildPwInput(request({ structure: AL, protocol: 'fast' })).parameters.system!;
    expect(al).toMatchObject({ occupations: 'smearing', smearing: 'cold', degauss: PROTOCOLS.fast.degauss, nat: 1 });
    const si = buildPwInput(request()).parameters.system!;
    expect(si.occupations).toBe('fixed');
    expect(si).not.toHaveProperty('smearing');
    expect(si).not.toHaveProperty('degauss');
  });

  it('an explicit type wins over the heuristic', () => {
    expect(buildPwInput(request({ electronicType: 'metal' })).parameters.system).toMatchObject({ occupations: 'smearing', degauss: 0.02 });
    expect(buildPwInput(request({ structure: AL, electronicType: 'insulator' })).parameters.system!.occupations).toBe('fixed');
  });

  it('auto gives smearing to a metal with a non-metal (MgB2): fixed only for structures known to be gapped', () => {
    const mgb2: Structure = {
      lattice: [
        [3.083, 0, 0],
        [-1.5415, 2.66995, 0],
        [0, 0, 3.521],
      ],
      sites: [
        { species: 'Mg', frac: [0, 0, 0] },
        { species: 'B', frac: [1 / 3, 2 / 3, 0.5] },
        { species: 'B', frac: [2 / 3, 1 / 3, 0.5] },
      ],
    };
    const out = buildPwInput(request({ structure: mgb2 }));
    expect(out.parameters.system).toMatchObject({ occupations: 'smearing', nat: 3, ntyp: 2, ecutwfc: 70, ecutrho: 280 });
    // 3 × 1e-5 is 0.000030000000000000004 in floating point: written rounded to 12 significant digits
    expect(out.text).toContain('etot_conv_thr = 0.00003\n');
  });
});

describe('buildPwInput: magnetism', () => {
  const FE = builtinStructure('Fe')!;
  const valence = { Fe: 8, Ti: 4, O: 6, Si: 4 };
  const system = (over: Partial<PwInputRequest>) => buildPwInput(request({ valenceElectrons: valence, ...over })).parameters.system!;

  it("auto: bcc Fe (smearing, an open d shell) starts spin-polarised with aiida's 5 μB over its 8 valence electrons", () => {
    const fe = system({ structure: FE });
    expect(fe).toMatchObject({ occupations: 'smearing', nspin: 2, 'starting_magnetization(1)': 0.625 });
  });

  it('auto leaves Si and Al unpolarised, and an insulator too (fixed occupations and nspin 2 need tot_magnetization)', () => {
    expect(system({})).not.toHaveProperty('nspin');
    expect(system({ structure: AL })).not.toHaveProperty('nspin');
    const fe = system({ structure: FE, electronicType: 'insulator' });
    expect(fe).not.toHaveProperty('nspin');
    expect(Object.keys(fe).filter((k) => k.startsWith('starting_magnetization'))).toEqual([]);
  });

  it("per species in pw.x's order: 0.1 for an element without a moment, at most 1 (5 μB over Ti's 4 electrons)", () => {
    const tio: Structure = { lattice: [[4.2, 0, 0], [0, 4.2, 0], [0, 0, 4.2]], sites: [{ species: 'O', frac: [0.5, 0, 0] }, { species: 'Ti', frac: [0, 0, 0] }] };
    expect(system({ structure: tio })).toMatchObject({ occupations: 'smearing', nspin: 2, 'starting_magnetization(1)': 0.1, 'starting_magnetization(2)': 1 });
  });

  it("'none' and 'collinear' win over auto; the user's overrides win over both", () => {
    expect(system({ structure: FE, magnetism: 'none' })).not.toHaveProperty('nspin');
    expect(system({ structure: AL, magnetism: 'collinear' })).toMatchObject({ nspin: 2, 'starting_magnetization(1)': 0.1 });
    expect(system({ structure: FE, overrides: { system: { 'starting_magnetization(1)': -0.5 } } })).toMatchObject({ nspin: 2, 'starting_magnetization(1)': -0.5 });
  });

  it('collinear with fixed occupations needs tot_magnetization; a moment needs the valence charge', () => {
    expect(buildError(request({ magnetism: 'collinear', valenceElectrons: valence }))).toMatch(/fixed occupations needs overrides\.system\.tot_magnetization/);
    expect(system({ magnetism: 'collinear', overrides: { system: { tot_magnetization: 0 } } })).toMatchObject({ nspin: 2, occupations: 'fixed', tot_magnetization: 0 });
    expect(buildError(request({ structure: FE }))).toMatch(/valence charge of Fe/);
  });
});

describe('buildPwInput: relaxations', () => {
  const constrained: Structure = {
    ...SI,
    sites: [
      { species: 'Si', frac: [0, 0, 0], moves: [false, false, false] },
      { species: 'Si', frac: [0.25, 0.25, 0.25], moves: [true, true, true] },
    ],
  };

  it('relax writes IONS and nstep, no CELL, and if_pos flags for constrained sites', () => {
    const out = buildPwInput(request({ structure: constrained, calculation: 'relax' }));
    const nl = parsePwInputNamelists(out.text);
    expect(Object.keys(nl)).toEqual(['control', 'system', 'electrons', 'ions']);
    expect(nl.ions).toEqual({ ion_dynamics: 'bfgs' });
    expect(nl.control!.nstep).toBe(50);
    expect(card(out.text, 'ATOMIC_POSITIONS').slice(1)).toEqual([
      'Si   0.0000000000   0.0000000000   0.0000000000  0 0 0',
      'Si   0.2500000000   0.2500000000   0.2500000000',
    ]);
  });

  it('vc-relax writes CELL with press_conv_thr = the protocol stress threshold', () => {
    const nl = parsePwInputNamelists(buildPwInput(request({ calculation: 'vc-relax', protocol: 'precise' })).text);
    expect(nl.cell).toEqual({ cell_dynamics: 'bfgs', press_conv_thr: PROTOCOLS.precise.stressThresholdKbar });
  });

  it('scf does not write if_pos flags (pw.x would zero the printed forces)', () => {
    const out = buildPwInput(request({ structure: constrained }));
    expect(card(out.text, 'ATOMIC_POSITIONS')[1]).toBe('Si   0.0000000000   0.0000000000   0.0000000000');
  });

  it('nscf/bands skip forces, stress and ionic thresholds', () => {
    const c = buildPwInput(request({ calculation: 'nscf' })).parameters.control!;
    expect(Object.keys(c)).toEqual(['calculation', 'prefix', 'outdir', 'pseudo_dir']);
  });
});

describe('buildPwInput: overrides', () => {
  it('win over protocol values, add new keys, accept any case', () => {
    const out = buildPwInput(
      request({
        overrides: {
          ELECTRONS: { mixing_beta: 0.3, Conv_Thr: 1e-12 },
          system: { nbnd: 12, 'starting_magnetization(1)': 0.5 },
          control: { verbosity: 'high', max_seconds: 3600 },
        } as never,
      }),
    );
    const nl = parsePwInputNamelists(out.text);
    expect(nl.electrons).toMatchObject({ mixing_beta: 0.3, conv_thr: 1e-12 });
    expect(nl.system).toMatchObject({ nbnd: 12, 'starting_magnetization(1)': 0.5 });
    expect(nl.control).toMatchObject({ verbosity: 'high', max_seconds: 3600 });
    expect(out.text).toContain('conv_thr         = 1.0d-12');
  });

  it('occupations override drops or adds the smearing settings', () => {
    const tetra = buildPwInput(request({ structure: AL, overrides: { system: { occupations: 'tetrahedra' } } })).parameters.system!;
    expect(tetra.occupations).toBe('tetrahedra');
    expect(tetra).not.toHaveProperty('smearing');
    expect(tetra).not.toHaveProperty('degauss');
    const smeared = buildPwInput(request({ overrides: { system: { occupations: 'smearing', degauss: 0.005 } } })).parameters.system!;
    expect(smeared).toMatchObject({ occupations: 'smearing', smearing: 'cold', degauss: 0.005 });
  });

  it('ecutwfc alone scales ecutrho with it; an ecutrho below 4 × ecutwfc is refused', () => {
    const o = buildPwInput(request({ overrides: { system: { ecutwfc: 40 } } }));
    expect([o.ecutwfc, o.ecutrho]).toEqual([40, 160]);
    expect(o.parameters.system).toMatchObject({ ecutwfc: 40, ecutrho: 160 });
    expect(buildError(request({ overrides: { system: { ecutwfc: 40, ecutrho: 100 } } }))).toMatch(/overrides\.system\.ecutrho.*>= 4 × ecutwfc/);
  });

  it('ions/cell overrides are ignored for calculations that do not read them', () => {
    const nl = buildPwInput(request({ overrides: { ions: { trust_radius_ini: 0.2 }, cell: { press: 10 } } })).parameters;
    expect(nl).not.toHaveProperty('ions');
    expect(nl).not.toHaveProperty('cell');
    const vc = buildPwInput(request({ calculation: 'vc-relax', overrides: { cell: { press: 10 } } })).parameters;
    expect(vc.cell).toMatchObject({ press: 10, cell_dynamics: 'bfgs' });
  });

  it('reserved keys are refused with an error naming the key', () => {
    for (const [nl, key] of [
      ['system', 'nat'],
      ['system', 'ntyp'],
      ['system', 'ibrav'],
      ['system', 'celldm(1)'],
      ['control', 'calculation'],
      ['control', 'pseudo_dir'],
      ['control', 'prefix'],
      ['control', 'outdir'],
    ] as const) {
      const msg = buildError(request({ overrides: { [nl]: { [key]: 1 } } }));
      expect(msg, key).toContain(`overrides.${nl}.${key}`);
      expect(msg, key).toContain('cannot be overridden');
    }
  });

  it('unknown namelists, bad key names and bad values are refused naming the field', () => {
    expect(buildError(request({ overrides: { sytem: { nbnd: 4 } } as never }))).toMatch(/overrides: unknown namelist 'sytem'/);
    expect(buildError(request({ overrides: { system: { 'bad key!': 1 } } }))).toMatch(/overrides\.system\.bad key!/);
    expect(buildError(request({ overrides: { system: { nbnd: [1, 2] } } as never }))).toMatch(/overrides\.system\.nbnd/);
    expect(buildError(request({ overrides: { system: { degauss: Number.POSITIVE_INFINITY } } }))).toMatch(/overrides\.system\.degauss/);
    expect(PwParametersSchema.safeParse({ control: { Tprnfor: true, tprnfor: false } }).success).toBe(false);
  });
});

describe('buildPwInput: request validation', () => {
  it('names an unknown calculation or protocol', () => {
    expect(buildError(request({ calculation: 'md' as never }))).toMatch(/^invalid pw\.x input request: calculation: /);
    expect(buildError(request({ protocol: 'slow' as never }))).toMatch(/protocol: .*"fast"\|"moderate"\|"precise"/);
    expect(buildError(request({ electronicType: 'semimetal' as never }))).toMatch(/electronicType/);
  });

  it('names a bad k-point request', () => {
    expect(buildError(request({ kpoints: { mesh: [0, 4, 4] } }))).toMatch(/kpoints/);
    expect(buildError(request({ kpoints: { distance: -1 } }))).toMatch(/kpoints/);
  });

  it('reports elements the family lacks', () => {
    const feo: Structure = { ...SI, sites: [{ species: 'Fe', frac: [0, 0, 0] }, { species: 'O', frac: [0.5, 0.5, 0.5] }] };
    expect(buildError(request({ structure: feo, family: DEBIAN_QE_EXAMPLES_FAMILY }))).toBe('pseudo family qe-debian-lda has no pseudopotential for: Fe, O');
  });

  it('refuses an empty structure', () => {
    expect(buildError(request({ structure: { lattice: SI.lattice, sites: [] } }))).toMatch(/structure\.sites/);
  });
});

describe('Fortran values', () => {
  it('formats strings, logicals and numbers', () => {
    expect(fortranValue("it's")).toBe("'it''s'");
    expect(fortranValue(true)).toBe('.true.');
    expect(fortranValue(false)).toBe('.false.');
    expect(fortranValue(24)).toBe('24');
    expect(fortranValue(0.0275)).toBe('0.0275');
    expect(fortranValue(4e-10)).toBe('4.0d-10');
    expect(fortranValue(1.5e-5)).toBe('0.000015'); // JS's shortest form, exact
    expect(fortranValue(2.5e-7)).toBe('2.5d-7');
    expect(fortranValue(3 * 1e-5)).toBe('0.000030000000000000004'); // written as given: the builder rounds
    expect(fortranValue(1.5e21)).toBe('1.5d21');
  });
});

describe('parsePwInputNamelists', () => {
  it('reads hand-written inputs: case, d exponents, commas, comments, double quotes, &end', () => {
    const text = `
 &CONTROL
    calculation='scf', prefix = "si" ! a comment, with 'quotes'
    pseudo_dir = 'a/b''c', tstress=.TRUE., tprnfor = .f.
 /
&system
  ibrav=  2, celldm(1) =10.20, nat=  2, ntyp= 1,
  ecutwfc =18.0D0, degauss=1.d-2, starting_magnetization( 1 ) = -0.5E+0
/
&electrons
&end
ATOMIC_SPECIES
 Si  28.086  Si.pz-vbc.UPF
K_POINTS automatic
 4 4 4 1 1 1
`;
    expect(parsePwInputNamelists(text)).toEqual({
      control: { calculation: 'scf', prefix: 'si', pseudo_dir: "a/b'c", tstress: true, tprnfor: false },
      system: { ibrav: 2, 'celldm(1)': 10.2, nat: 2, ntyp: 1, ecutwfc: 18, degauss: 0.01, 'starting_magnetization(1)': -0.5 },
      electrons: {},
    });
  });

  it('round-trips every value type the writer produces', () => {
    const overrides = { control: { title: "a / b ! c 'd'", max_seconds: 1.25e5, disk_io: 'low', lfcp: false } };
    const out = buildPwInput(request({ overrides }));
    expect(parsePwInputNamelists(out.text).control).toMatchObject(overrides.control);
  });

  it('reports unclosed namelists and malformed assignments', () => {
    expect(() => parsePwInputNamelists('&control\n calculation="scf"\n')).toThrow(/not closed/);
    expect(() => parsePwInputNamelists("&control\n calculation 'scf'\n/")).toThrow(/expected '='/);
    expect(() => parsePwInputNamelists("&control\n title='abc\n/")).toThrow(/unterminated string/);
  });
});

const PW_X = '/usr/bin/pw.x';

describe('pw.x accepts what we write', () => {
  it.skipIf(!existsSync(PW_X))('Si scf with the Debian family, fast protocol: converges and ends with JOB DONE', () => {
    const dir = mkdtempSync(join(tmpdir(), 'crystalmath-pw-'));
    try {
      const pseudoDir = join(dir, 'pseudo');
      mkdirSync(pseudoDir);
      const si = DEBIAN_QE_EXAMPLES_FAMILY.elements.Si!;
      writeFileSync(join(pseudoDir, si.file), gunzipSync(readFileSync(si.source!)));
      const input = buildPwInput({
        structure: SI,
        calculation: 'scf',
        protocol: 'fast',
        family: DEBIAN_QE_EXAMPLES_FAMILY,
        pseudoDir,
        outdir: join(dir, 'out'),
        prefix: 'si',
      });
      writeFileSync(join(dir, 'pw.in'), input.text);
      const run = spawnSync(PW_X, ['-in', 'pw.in'], {
        cwd: dir,
        env: { ...process.env, OMP_NUM_THREADS: '1' },
        encoding: 'utf8',
        timeout: 120_000,
      });
      const output = `${run.stdout}\n${run.stderr}`;
      expect(run.status, output.slice(-3000)).toBe(0);
      expect(output).toContain('convergence has been achieved');
      expect(output).toContain('JOB DONE');
      expect(output).toMatch(/number of k points=\s+\d+/);
      expect(output).toMatch(/^!\s+total energy\s+=\s+-15\.8\d+ Ry/m);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('pw.x runs the spin-polarised start we write', () => {
  const FE_UPF = '/usr/share/espresso/pseudo/Fe.pz-nd-rrkjus.UPF'; // quantum-espresso-data, LDA (PZ) ultrasoft
  it.skipIf(!existsSync(PW_X) || !existsSync(FE_UPF))('bcc Fe (built-in), fast protocol: ferromagnetic, about 2.2 μB per atom', () => {
    // 30 / 240 Ry: the moment is within 0.01 μB of 45 / 360 Ry; the fast k-mesh (11x11x11) takes about 6 s on one core.
    const family: PseudoFamily = { name: 'test-fe', functional: 'PZ', elements: { Fe: { file: 'Fe.pz-nd-rrkjus.UPF', ecutwfc: 30, ecutrho: 240 } } };
    const dir = mkdtempSync(join(tmpdir(), 'crystalmath-pw-fe-'));
    try {
      writeFileSync(join(dir, 'Fe.pz-nd-rrkjus.UPF'), readFileSync(FE_UPF));
      const input = buildPwInput({ structure: builtinStructure('Fe')!, calculation: 'scf', protocol: 'fast', family, pseudoDir: dir, outdir: join(dir, 'out'), prefix: 'fe', valenceElectrons: { Fe: 8 } });
      writeFileSync(join(dir, 'pw.in'), input.text);
      const run = spawnSync(PW_X, ['-in', 'pw.in'], { cwd: dir, env: { ...process.env, OMP_NUM_THREADS: '1' }, encoding: 'utf8', timeout: 120_000 });
      expect(run.status, `${run.stdout}\n${run.stderr}`.slice(-3000)).toBe(0);
      const r = parsePwOutput({
        stdout: run.stdout,
        xml: readFileSync(join(dir, 'out', 'fe.save', 'data-file-schema.xml'), 'utf8'),
        schedulerOutOfWalltime: false,
        parameters: input.parameters,
      });
      expect(r).toMatchObject({ exitCode: 0, spinPolarized: true, occupations: 'smearing' });
      expect(r.totalMagnetizationBohrMag).toBeGreaterThan(2.0);
      expect(r.totalMagnetizationBohrMag).toBeLessThan(2.5);
      expect(r.absoluteMagnetizationBohrMag).toBeGreaterThanOrEqual(r.totalMagnetizationBohrMag!);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('buildPwInput: empty bands for an insulator scf', () => {
  it('adds max(4, 20 %) empty bands when the valence charges are known', () => {
    // Si: 2 atoms × 4 electrons = 8 → 4 occupied bands + 4 empty.
    expect(buildPwInput(request({ valenceElectrons: { Si: 4 } })).parameters.system!.nbnd).toBe(8);
    expect(insulatorBands({ ...SI, sites: Array.from({ length: 20 }, () => ({ species: 'Si', frac: [0, 0, 0] })) }, { Si: 4 })).toBe(40 + 8);
  });
  it('leaves nbnd to pw.x for metals, other calculations, unknown charges, and a user nbnd', () => {
    expect(buildPwInput(request({ structure: AL, valenceElectrons: { Al: 3 } })).parameters.system!.nbnd).toBeUndefined();
    expect(buildPwInput(request({ calculation: 'relax', valenceElectrons: { Si: 4 } })).parameters.system!.nbnd).toBeUndefined();
    expect(buildPwInput(request({ valenceElectrons: { Ga: 13 } })).parameters.system!.nbnd).toBeUndefined();
    expect(buildPwInput(request({ valenceElectrons: { Si: 4 }, overrides: { system: { nbnd: 6 } } })).parameters.system!.nbnd).toBe(6);
  });
});
