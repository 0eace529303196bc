import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPwInput, parsePwInputNamelists } from '../../../src/domain/codes/qe/inputs.ts';
import {
  buildProjwfcInput,
  parsePdosFile,
  parsePdosTot,
  parseProjwfcPdos,
  parseProjwfcStdout,
  pdosFileInfo,
  sumPdos,
} from '../../../src/domain/codes/qe/projwfc.ts';
import { siScratch, SI_PSEUDO_GZ } from '../../support/qe-si.ts';
import { parsePwOutput } from '../../../src/domain/codes/qe/parse.ts';
import { ReadError } from '../../../src/domain/read-error.ts';
import { describeShared, fixture } from '../../support/shared.ts';
import { thrown } from '../../support/thrown.ts';

const PW = '/usr/bin/pw.x';
const PROJWFC = '/usr/bin/projwfc.x';
const EX02 = '/usr/share/doc/quantum-espresso/examples/PP/example02/reference';
const PT_PDOS_OUT = '/usr/share/doc/quantum-espresso/examples/PP/example04/reference/pt.pdos.out.gz';

const trapz = (x: readonly number[], y: readonly number[]) => x.slice(1).reduce((s, xi, i) => s + 0.5 * (xi - x[i]!) * (y[i + 1]! + y[i]!), 0);
const gz = (path: string) => gunzipSync(readFileSync(path)).toString('utf8');
const NONCOLLINEAR = join(import.meta.dirname, '..', '..', 'data', 'projwfc-noncollinear');

describe('buildProjwfcInput', () => {
  it('writes &PROJWFC, readable by the namelist reader', () => {
    const p = buildProjwfcInput({ prefix: 'si', outdir: './out', emin: -10, emax: 15, deltaE: 0.05, degauss: 0.01 });
    expect(p.filpdos).toBe('si');
    expect(p.text).toBe(
      ['&PROJWFC', "  prefix  = 'si'", "  outdir  = './out'", "  filpdos = 'si'", '  Emin    = -10', '  Emax    = 15', '  DeltaE  = 0.05', '  degauss = 0.01', '/', ''].join('\n'),
    );
    expect(parsePwInputNamelists(p.text).projwfc).toEqual({ prefix: 'si', outdir: './out', filpdos: 'si', emin: -10, emax: 15, deltae: 0.05, degauss: 0.01 });
  });

  it('rejects bad windows and names', () => {
    expect(() => buildProjwfcInput({ prefix: 'x', outdir: 'o', emin: 1, emax: 1 })).toThrow(/emin \(1\) must be below emax \(1\)/);
    expect(() => buildProjwfcInput({ prefix: 'x', outdir: 'o', degauss: -0.1 })).toThrow(/degauss must be positive/);
    expect(() => buildProjwfcInput({ prefix: 'x', outdir: 'o', filpdos: '' })).toThrow(/filpdos/);
  });
});

describe('pdosFileInfo', () => {
  it('reads atom, element, wfc and l (and j with spin-orbit) from the file name', () => {
    expect(pdosFileInfo('out/si.pdos_atm#2(Si)_wfc#1(s)')).toEqual({ atomIndex: 2, element: 'Si', wfcIndex: 1, orbital: 's', l: 0 });
    expect(pdosFileInfo('pt.pdos_atm#1(Pt)_wfc#2(d_j2.5)')).toEqual({ atomIndex: 1, element: 'Pt', wfcIndex: 2, orbital: 'd', l: 2, j: 2.5 });
    expect(pdosFileInfo('si.pdos_tot')).toBeUndefined();
    expect(pdosFileInfo('si.dos')).toBeUndefined();
  });
});

describeShared('projwfc.x fixture (aiida-quantumespresso, Si, QE 6.6)', () => {
  const dir = fixture('qe', 'projwfc', 'nonpolarised');
  const stdout = () => readFileSync(join(dir, 'aiida.out'), 'utf8');
  const files = () => readdirSync(dir).map((name) => ({ name, text: readFileSync(join(dir, name), 'utf8') }));

  it('stdout: the atomic states with atom, element, l and m', () => {
    const s = parseProjwfcStdout(stdout());
    expect(s.ok).toBe(true);
    expect(s.qeVersion).toBe('6.6');
    expect(s.states).toHaveLength(8);
    expect(s.states[0]).toEqual({ state: 1, atomIndex: 1, element: 'Si', wfcIndex: 1, l: 0, orbital: 's', m: 1 });
    expect(s.states[7]).toEqual({ state: 8, atomIndex: 2, element: 'Si', wfcIndex: 2, l: 1, orbital: 'p', m: 3 });
    expect(s.bandProjections).toBeUndefined();
  });

  it('stdout: Löwdin charges per atom and l, per real harmonic, and the spilling parameter', () => {
    const s = parseProjwfcStdout(stdout());
    expect(s.lowdin).toEqual([
      { atomIndex: 1, element: 'Si', total: 3.9205, byL: { s: 1.0086, p: 2.9118 }, components: { pz: 0.9734, px: 0.9664, py: 0.972 } },
      { atomIndex: 2, element: 'Si', total: 3.9205, byL: { s: 1.0086, p: 2.9118 }, components: { pz: 0.9734, px: 0.9664, py: 0.972 } },
    ]);
    expect(s.spillingParameter).toBe(0.0199);
  });

  it('stdout: projections of every band on the states, on request (continuation lines included)', () => {
    const s = parseProjwfcStdout(stdout(), { bandProjections: true });
    const p = s.bandProjections!;
    expect(p).toHaveLength(16); // 2 k-points × 8 bands
    expect(p[0]).toEqual({ kIndex: 0, k: [0, 0, 0], band: 1, energyEv: -5.79862, weights: [{ state: 1, weight: 0.498 }, { state: 5, weight: 0.498 }], psiSquared: 0.996 });
    const k2b1 = p[8]!;
    expect(k2b1.kIndex).toBe(1);
    expect(k2b1.k).toEqual([-0.5, 0.2886751346, 0.2041241452]);
    expect(k2b1.weights).toHaveLength(8);
    expect(k2b1.weights[7]).toEqual({ state: 6, weight: 0.012 });
    expect(k2b1.psiSquared).toBe(0.997);
    expect(p[15]!.energyEv).toBe(13.72363);
  });

  it('pdos files: total, projections by atom and orbital, m components', () => {
    const pdos = parseProjwfcPdos(files());
    expect(pdos.energiesEv).toEqual([-5.799, -3.799, -1.799, 0.201, 2.201, 4.201, 6.201, 8.201, 10.201, 12.201, 14.201]);
    expect(pdos.total[1]).toBe(0.877);
    expect(pdos.projectedTotal[1]).toBe(0.874);
    expect(pdos.projections.map((p) => `${p.atomIndex}${p.element}${p.wfcIndex}${p.orbital}`)).toEqual(['1Si1s', '1Si2p', '2Si1s', '2Si2p']);
    const p1 = pdos.projections[1]!;
    expect(p1.file).toBe('aiida.pdos_atm#1(Si)_wfc#2(p)');
    expect(p1.components).toHaveLength(3);
    expect(p1.pdos[1]).toBe(0.0851);
    expect(p1.components.map((c) => c[1])).toEqual([0.00946, 0.0568, 0.0189]);
    expect(pdos.warnings).toEqual([]);
    // the projections add up to pdos_tot's pdos column (to the 3 printed digits)
    pdos.energiesEv.forEach((_, i) => {
      const sum = pdos.projections.reduce((s, p) => s + p.pdos[i]!, 0);
      expect(Math.abs(sum - pdos.projectedTotal[i]!)).toBeLessThanOrEqual(0.01 * pdos.projectedTotal[i]! + 1e-6);
    });
  });

  it('sums by element, by l and by element and l', () => {
    const pdos = parseProjwfcPdos(files());
    const byEl = sumPdos(pdos.projections, 'element');
    expect(byEl.map((s) => s.label)).toEqual(['Si']);
    expect(byEl[0]!.values[1]).toBeCloseTo(2 * (0.352 + 0.0851), 12);
    const byL = sumPdos(pdos.projections, 'l');
    expect(byL.map((s) => [s.label, s.orbital, s.element])).toEqual([['s', 's', undefined], ['p', 'p', undefined]]);
    expect(byL[0]!.values[1]).toBeCloseTo(0.704, 12);
    const byElL = sumPdos(pdos.projections, 'element-l');
    expect(byElL.map((s) => s.label)).toEqual(['Si s', 'Si p']);
    expect(byElL[1]!.values[1]).toBeCloseTo(0.1702, 12);
  });

  it('refuses a set without pdos_tot or with mismatched grids', () => {
    const f = files();
    expect(() => parseProjwfcPdos(f.filter((x) => !x.name.endsWith('pdos_tot')))).toThrow('projwfc.x output: no pdos_tot file among the files given');
    const broken = f.map((x) => (x.name.endsWith('wfc#1(s)') ? { ...x, text: x.text.replace('-5.799', '-5.800') } : x));
    expect(() => parseProjwfcPdos(broken)).toThrow("aiida.pdos_atm#1(Si)_wfc#1(s): energy grid differs from aiida.pdos_tot's: files of different runs?");
  });
});

describe.skipIf(!existsSync(`${EX02}/ni.pdos.out.gz`))(`projwfc.x of QE's PP example02: ferromagnetic Ni (needs ${EX02})`, () => {
  it('stdout: d states (l=2, m=1..5) and Löwdin charges per spin', () => {
    const s = parseProjwfcStdout(gz(`${EX02}/ni.pdos.out.gz`));
    expect(s.states.map((x) => `${x.orbital}${x.m}`)).toEqual(['s1', 'd1', 'd2', 'd3', 'd4', 'd5']);
    const ni = s.lowdin[0]!;
    expect(ni).toMatchObject({ atomIndex: 1, element: 'Ni', total: 9.8849, byL: { s: 0.9446, p: 0, d: 8.9403 } });
    expect(ni.spinUp).toMatchObject({ total: 5.234, byL: { s: 0.4655, p: 0, d: 4.7685 } });
    expect(ni.spinUp!.components.dz2).toBe(0.9618);
    expect(ni.spinDown).toMatchObject({ total: 4.6508, byL: { d: 4.1718 } });
    expect(ni.polarization).toMatchObject({ total: 0.5832, byL: { s: -0.0136, d: 0.5968 } });
    expect(s.spillingParameter).toBe(0.0115);
  });

  it('pdos files: spin up and down columns, 5 d components', () => {
    const files = ['ni.pdos_tot', 'ni.pdos_atm#1(Ni)_wfc#1(s)', 'ni.pdos_atm#1(Ni)_wfc#2(d)'].map((name) => ({ name, text: gz(`${EX02}/${name}.gz`) }));
    const pdos = parseProjwfcPdos(files);
    expect(pdos.spin).toBeDefined();
    expect(pdos.energiesEv).toHaveLength(202); // 5.0 to 25.0 eV in 0.1 eV steps, and one more
    const d = pdos.projections[1]!;
    expect(d.orbital).toBe('d');
    expect(d.components).toHaveLength(5);
    expect(d.spin!.up[0]).toBe(-0.295e-10);
    expect(d.pdos[0]).toBeCloseTo(-0.295e-10 - 0.103e-10, 20);
    // majority d states fill more than minority ones below E_F (15.32 eV)
    const below = pdos.energiesEv.map((e) => e <= 15.32);
    const upD = trapz(pdos.energiesEv.filter((_, i) => below[i]), d.spin!.up.filter((_, i) => below[i]));
    const dwD = trapz(pdos.energiesEv.filter((_, i) => below[i]), d.spin!.down.filter((_, i) => below[i]));
    expect(upD - dwD).toBeGreaterThan(0.4);
    const t = parsePdosTot(files[0]!.text);
    expect(t.spin!.projectedUp).toHaveLength(202);
    const bySpin = sumPdos(pdos.projections, 'element')[0]!;
    expect(bySpin.spin!.up[100]).toBeCloseTo(pdos.projections[0]!.spin!.up[100]! + d.spin!.up[100]!, 12);
  });
});

describe.skipIf(!existsSync(PT_PDOS_OUT))(`projwfc.x with spin-orbit: Pt of QE's PP example04 (needs ${PT_PDOS_OUT})`, () => {
  it('reads j and m_j of the states', () => {
    const s = parseProjwfcStdout(gz(PT_PDOS_OUT));
    expect(s.states[0]).toEqual({ state: 1, atomIndex: 1, element: 'Pt', wfcIndex: 1, l: 2, orbital: 'd', j: 1.5, mj: -1.5 });
    expect(s.states[4]).toMatchObject({ j: 2.5, mj: -2.5 });
    expect(s.lowdin[0]).toMatchObject({ total: 9.6293, byL: { s: 1.2442, p: 0, d: 8.3851 } });
  });
});

describe('parsePdosFile / parsePdosTot: what they refuse', () => {
  it('k-resolved files (not supported yet), unknown columns, wrong names, short rows', () => {
    const k = thrown<ReadError>(() => parsePdosTot('# ik   E (eV)  dos(E)    pdos(E)\n 1 -5.0 0.1 0.1\n', 'si.pdos_tot'));
    expect(k).toMatchObject({ kind: 'unsupported', source: 'si.pdos_tot', line: 1 });
    expect(k.message).toBe('si.pdos_tot line 1: not supported yet: k-resolved PDOS (kresolveddos = .true.); run projwfc.x without it');
    expect(() => parsePdosTot('# E (eV)  foo(E)\n 1 2\n')).toThrow(/pdos_tot line 1: unexpected columns E foo/);
    expect(() => parsePdosFile('x.pdos_tot', '# E (eV) dos(E) pdos(E)\n1 2 3\n', 'unpolarised')).toThrow(/x\.pdos_tot: not a pdos_atm/);
    const short = thrown<ReadError>(() => parsePdosFile('x.pdos_atm#1(Si)_wfc#1(s)', '# E (eV)   ldos(E)   pdos(E)\n1 2 3\n1 2\n', 'unpolarised'));
    expect(short).toBeInstanceOf(ReadError);
    expect(short.message).toBe('x.pdos_atm#1(Si)_wfc#1(s) line 3: a row has 2 numbers for 3 columns (E ldos pdos)');
  });
});

describe('PDOS files that do not fit together (real files of different runs)', () => {
  const fe = (name: string) => ({ name, text: readFileSync(join(NONCOLLINEAR, 'fe-noncollinear', name), 'utf8') });
  const ni = (name: string) => ({ name, text: readFileSync(join(NONCOLLINEAR, 'ni-spin-orbit', name), 'utf8') });

  it("a spin-orbit (_j) file beside a noncollinear run's pdos_tot", () => {
    const e = thrown<ReadError>(() => parseProjwfcPdos([fe('fe.pdos_tot'), ni('ni.pdos_atm#1(Ni)_wfc#3(s_j0.5)')]));
    expect(e.message).toBe('ni.pdos_atm#1(Ni)_wfc#3(s_j0.5): a spin-orbit (_j) file among the files of a noncollinear run (pdos_tot): files of different runs?');
  });

  it("a noncollinear d file read as a spin-unpolarised one: the columns say it is not", () => {
    expect(() => parsePdosFile('fe.pdos_atm#1(Fe)_wfc#2(d)', fe('fe.pdos_atm#1(Fe)_wfc#2(d)').text, 'unpolarised')).toThrow(
      /^fe\.pdos_atm#1\(Fe\)_wfc#2\(d\) line 1: unexpected columns E ldosup ldosdw pdosup pdosdw .* for d of a unpolarised run \(expected E ldos pdos pdos pdos pdos pdos\)$/,
    );
  });
});

describe('the noncollinear and spin-orbit PDOS of real runs (test/data/projwfc-noncollinear, pw.x + projwfc.x 6.7)', () => {
  const read = (dir: string) =>
    readdirSync(join(NONCOLLINEAR, dir))
      .filter((f) => f.includes('.pdos_'))
      .map((name) => ({ name, text: readFileSync(join(NONCOLLINEAR, dir, name), 'utf8') }));
  const text = (dir: string, name: string) => readFileSync(join(NONCOLLINEAR, dir, name), 'utf8');
  const below = (p: { energiesEv: number[] }, ef: number, y: readonly number[]) => {
    const i = p.energiesEv.findIndex((e) => e > ef);
    return trapz(p.energiesEv.slice(0, i), y.slice(0, i));
  };
  const fermi = (dir: string, prefix: string) => parsePwOutput({ stdout: text(dir, `${prefix}.scf.out`), xml: text(dir, 'data-file-schema.xml') }).fermiEnergyEv!;

  it('noncollinear bcc Fe: pdos_tot `E dos pdosup pdosdw` read, the per-orbital up/dw as s_z components, not spin channels', () => {
    const p = parseProjwfcPdos(read('fe-noncollinear'));
    expect(p.spinTreatment).toBe('noncollinear');
    expect(p.spin).toBeUndefined();
    expect(p.energiesEv).toHaveLength(200);
    expect(p.total[0]).toBe(0.254e-5);
    expect(p.sz).toEqual({ projectedUp: expect.any(Array), projectedDown: expect.any(Array) });
    expect([p.sz!.projectedUp[0], p.sz!.projectedDown[0]]).toEqual([0.123e-5, 0.13e-5]);
    expect(p.projectedTotal[0]).toBeCloseTo(0.253e-5, 12);
    expect(p.projections.map((x) => `${x.orbital}:${x.components.length}:${x.spin === undefined}:${x.sz !== undefined}`)).toEqual(['s:1:true:true', 'd:5:true:true']);
    const d = p.projections[1]!;
    expect(d.sz!.up[0]).toBe(0.276e-7);
    expect(d.pdos[0]).toBeCloseTo(0.276e-7 + 0.202e-7, 15);
    // the projections add up to pdos_tot's (3 printed digits)
    p.energiesEv.forEach((_, i) => {
      const sum = p.projections.reduce((acc, x) => acc + x.pdos[i]!, 0);
      expect(Math.abs(sum - p.projectedTotal[i]!)).toBeLessThanOrEqual(0.01 * p.projectedTotal[i]! + 2e-3);
    });
    // below E_F: Fe's 8 valence electrons; s_z up − down = the z moment, as projwfc.x's Löwdin polarization says
    const ef = fermi('fe-noncollinear', 'fe');
    expect(below(p, ef, p.total)).toBeCloseTo(8, 1);
    const moment = below(p, ef, p.sz!.projectedUp) - below(p, ef, p.sz!.projectedDown);
    const lowdin = parseProjwfcStdout(text('fe-noncollinear', 'fe.pdos.out')).lowdin[0]!;
    expect(moment).toBeCloseTo(lowdin.polarization!.total, 1); // 2.196
    const bySz = sumPdos(p.projections, 'element')[0]!;
    expect(bySz.spin).toBeUndefined();
    expect(bySz.sz!.up[100]).toBeCloseTo(p.projections[0]!.sz!.up[100]! + d.sz!.up[100]!, 15);
  });

  it('noncollinear bcc Fe: the states carry s_z', () => {
    const s = parseProjwfcStdout(text('fe-noncollinear', 'fe.pdos.out'));
    expect(s.ok).toBe(true);
    expect(s.states).toHaveLength(12);
    expect(s.states[0]).toEqual({ state: 1, atomIndex: 1, element: 'Fe', wfcIndex: 1, l: 0, orbital: 's', m: 1, sz: 0.5 });
    expect(s.states[1]).toMatchObject({ l: 0, m: 1, sz: -0.5 });
    expect(s.states.filter((x) => x.orbital === 'd' && x.sz === 0.5)).toHaveLength(5);
  });

  it('spin-orbit fcc Ni: one file per (l, j), one column per m_j; the j = 5/2 d holds 6/4 of the j = 3/2 d', () => {
    const p = parseProjwfcPdos(read('ni-spin-orbit'));
    expect(p.spinTreatment).toBe('spin-orbit');
    expect(p.spin).toBeUndefined();
    expect(p.sz).toBeUndefined();
    expect(p.projections.map((x) => [x.wfcIndex, x.orbital, x.j, x.components.length])).toEqual([
      [1, 'd', 1.5, 4],
      [2, 'd', 2.5, 6],
      [3, 's', 0.5, 2],
    ]);
    for (const x of p.projections) {
      expect(x.spin).toBeUndefined();
      x.pdos.forEach((v, i) => expect(Math.abs(x.components.reduce((a, c) => a + c[i]!, 0) - v)).toBeLessThanOrEqual(0.01 * v + 2e-3));
    }
    p.energiesEv.forEach((_, i) => {
      const sum = p.projections.reduce((acc, x) => acc + x.pdos[i]!, 0);
      expect(Math.abs(sum - p.projectedTotal[i]!)).toBeLessThanOrEqual(0.01 * p.projectedTotal[i]! + 2e-3);
    });
    const [d32, d52] = p.projections.map((x) => trapz(p.energiesEv, x.pdos));
    expect(d52! / d32!).toBeCloseTo(1.5, 1);
    expect(below(p, fermi('ni-spin-orbit', 'ni'), p.total)).toBeCloseTo(9.9, 1); // 10 valence electrons, the window starts at 5 eV
    expect(sumPdos(p.projections, 'l').map((x) => x.label)).toEqual(['d', 's']);
  });

  it('spin-orbit fcc Ni: the states carry j and m_j', () => {
    const s = parseProjwfcStdout(text('ni-spin-orbit', 'ni.pdos.out'));
    expect(s.states.map((x) => `${x.orbital}${x.j}:${x.mj}`).slice(0, 5)).toEqual(['d1.5:-1.5', 'd1.5:-0.5', 'd1.5:0.5', 'd1.5:1.5', 'd2.5:-2.5']);
    expect(s.lowdin[0]).toMatchObject({ total: 9.8872, byL: { s: 0.94, d: 8.9471 } });
  });
});

describe('parseProjwfcPdos: warnings', () => {
  it('warns when pdos_tot is zero everywhere (projwfc.x 6.7 with degauss after a tetrahedra_opt nscf)', () => {
    const zero = '# E (eV)  dos(E)    pdos(E)\n  -6.285  0.000E+00  0.000E+00\n  -6.265  0.000E+00  0.000E+00\n';
    expect(parseProjwfcPdos([{ name: 'si.pdos_tot', text: zero }]).warnings[0]).toMatch(/zero everywhere.*tetrahedra_opt/);
  });
});

// ---------------------------------------------------------------------------------------------------------------

const haveQe = existsSync(PW) && existsSync(PROJWFC) && existsSync(SI_PSEUDO_GZ);

describe.skipIf(!haveQe)(`real projwfc.x: Si scf → nscf (tetrahedra) → projwfc.x (needs ${PW}, ${PROJWFC} and ${SI_PSEUDO_GZ})`, () => {
  let dir = '';
  let stdout = '';
  const run = (exe: string, name: string, text: string) => {
    writeFileSync(join(dir, `${name}.in`), text);
    return execFileSync(exe, ['-in', `${name}.in`], { cwd: dir, env: { ...process.env, OMP_NUM_THREADS: '1' }, timeout: 120_000 }).toString();
  };

  beforeAll(() => {
    const scratch = siScratch('projwfc');
    dir = scratch.dir;
    const base = { ...scratch.base };
    run(PW, 'scf', buildPwInput({ ...base, calculation: 'scf', kpoints: { mesh: [4, 4, 4] }, overrides: { system: { ecutwfc: 16 } } }).text);
    run(PW, 'nscf', buildPwInput({ ...base, calculation: 'nscf', kpoints: { mesh: [6, 6, 6] }, overrides: { system: { ecutwfc: 16, nbnd: 8, occupations: 'tetrahedra' } } }).text);
    stdout = run(PROJWFC, 'projwfc', buildProjwfcInput({ prefix: 'si', outdir: join(dir, 'out'), filpdos: 'si', deltaE: 0.05 }).text);
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('stdout: 8 states (s, p×3 on two Si), Löwdin charges adding up to 8 minus the spilling', () => {
    const s = parseProjwfcStdout(stdout);
    expect(s.ok).toBe(true);
    expect(s.states.map((x) => `${x.atomIndex}${x.orbital}${x.m}`)).toEqual(['1s1', '1p1', '1p2', '1p3', '2s1', '2p1', '2p2', '2p3']);
    expect(s.lowdin).toHaveLength(2);
    for (const a of s.lowdin) {
      expect(a.byL.s! + a.byL.p!).toBeCloseTo(a.total, 3);
      expect(a.components.px! + a.components.py! + a.components.pz!).toBeCloseTo(a.byL.p!, 3);
    }
    expect(s.lowdin[0]!.total).toBeCloseTo(s.lowdin[1]!.total, 4); // equivalent atoms
    const total = s.lowdin.reduce((acc, a) => acc + a.total, 0);
    expect(total).toBeGreaterThan(8 * (1 - 2 * s.spillingParameter!) - 0.05);
    expect(total).toBeLessThanOrEqual(8);
  });

  it('pdos files: the projections add up to pdos_tot; the valence DOS integrates to 8 electrons', () => {
    const files = readdirSync(dir)
      .filter((f) => f.startsWith('si.pdos'))
      .map((name) => ({ name, text: readFileSync(join(dir, name), 'utf8') }));
    expect(files).toHaveLength(5);
    const pdos = parseProjwfcPdos(files);
    expect(pdos.warnings).toEqual([]);
    expect(pdos.projections).toHaveLength(4);
    pdos.energiesEv.forEach((_, i) => {
      const sum = pdos.projections.reduce((acc, p) => acc + p.pdos[i]!, 0);
      expect(Math.abs(sum - pdos.projectedTotal[i]!)).toBeLessThanOrEqual(0.01 * pdos.projectedTotal[i]! + 1e-6);
    });
    // the valence DOS (tetrahedra: exactly zero in the gap) holds Si's 8 electrons per cell
    const start = pdos.total.findIndex((v) => v > 0);
    const gap = pdos.total.findIndex((v, i) => i > start && v === 0);
    expect(gap).toBeGreaterThan(start);
    expect(trapz(pdos.energiesEv.slice(start - 1, gap + 1), pdos.total.slice(start - 1, gap + 1))).toBeCloseTo(8, 1);
    // s dominates the bottom of the valence band, p its top
    const [s, p] = sumPdos(pdos.projections, 'l');
    expect(s!.values[start + 2]!).toBeGreaterThan(p!.values[start + 2]!);
    expect(p!.values[gap - 3]!).toBeGreaterThan(s!.values[gap - 3]!);
  });
});
