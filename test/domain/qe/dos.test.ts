import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePwBands } from '../../../src/domain/codes/qe/bands.ts';
import { buildDosInput, parseDosFile, parseDosStdout, parseQeToolStdout } from '../../../src/domain/codes/qe/dos.ts';
import { buildPwInput, parsePwInputNamelists } from '../../../src/domain/codes/qe/inputs.ts';
import { parsePwOutput } from '../../../src/domain/codes/qe/parse.ts';
import { siScratch, SI_PSEUDO_GZ } from '../../support/qe-si.ts';
import { describeShared, fixture } from '../../support/shared.ts';

const PW = '/usr/bin/pw.x';
const DOS = '/usr/bin/dos.x';
const NI_DOS_GZ = '/usr/share/doc/quantum-espresso/examples/PP/example02/reference/ni.dos.gz';

/** Trapezoidal integral of y(x). */
const trapz = (x: readonly number[], y: readonly number[]) => x.slice(1).reduce((s, xi, i) => s + 0.5 * (xi - x[i]!) * (y[i + 1]! + y[i]!), 0);

describe('buildDosInput', () => {
  it('writes &DOS with the keys given, readable by the namelist reader', () => {
    const d = buildDosInput({ prefix: 'si', outdir: './out', emin: -10, emax: 15.5, deltaE: 0.05, degauss: 0.01 });
    expect(d.fildos).toBe('si.dos');
    expect(d.text).toBe(
      ['&DOS', "  prefix  = 'si'", "  outdir  = './out'", "  fildos  = 'si.dos'", '  Emin    = -10', '  Emax    = 15.5', '  DeltaE  = 0.05', '  degauss = 0.01', '/', ''].join('\n'),
    );
    expect(parsePwInputNamelists(d.text)).toEqual({
      dos: { prefix: 'si', outdir: './out', fildos: 'si.dos', emin: -10, emax: 15.5, deltae: 0.05, degauss: 0.01 },
    });
  });

  it('writes only prefix, outdir and fildos by default and honours fildos', () => {
    const d = buildDosInput({ prefix: 'x', outdir: '/scratch/o', fildos: 'total.dos' });
    expect(parsePwInputNamelists(d.text)).toEqual({ dos: { prefix: 'x', outdir: '/scratch/o', fildos: 'total.dos' } });
  });

  it('rejects windows dos.x would choke on', () => {
    expect(() => buildDosInput({ prefix: 'x', outdir: 'o', emin: 5, emax: 1 })).toThrow(/emin \(5\) must be below emax \(1\)/);
    expect(() => buildDosInput({ prefix: 'x', outdir: 'o', deltaE: 0 })).toThrow(/deltaE must be positive/);
    expect(() => buildDosInput({ prefix: 'x', outdir: 'o', degauss: Number.NaN })).toThrow(/degauss must be a finite number/);
    expect(() => buildDosInput({ prefix: '', outdir: 'o' })).toThrow(/prefix must be a non-empty string/);
    expect(() => buildDosInput({ prefix: 'x', outdir: 'a\nb' })).toThrow(/outdir/);
  });
});

describe('parseDosFile', () => {
  it('reads a non-polarised file with EFermi in the header', () => {
    const d = parseDosFile(['#  E (eV)   dos(E)     Int dos(E) EFermi =    6.468 eV', ' -10.000  0.0000E+00  0.0000E+00', '  -9.950  0.1250E+00  0.3125E-02', ''].join('\n'));
    expect(d).toEqual({ energiesEv: [-10, -9.95], dos: [0, 0.125], integrated: [0, 0.003125], fermiEnergyEv: 6.468 });
  });

  it('rejects files that are not dos.x output', () => {
    expect(() => parseDosFile('# header only\n', 'si.dos')).toThrow('si.dos: no data rows');
    expect(() => parseDosFile('1 2\n3 4\n')).toThrow('dos.x .dos file line 1: a row has 2 columns; expected 3 (E, dos, Int) or 4 (E, dosup, dosdw, Int)');
    expect(() => parseDosFile('1 2 3\n4 5\n', 'si.dos')).toThrow('si.dos line 2: a row has 2 columns, the first (line 1) has 3');
  });
});

describeShared('dos.x fixtures (aiida-quantumespresso, spin-polarised)', () => {
  it('reads dosup, dosdw, Int dos and EFermi', () => {
    const d = parseDosFile(readFileSync(fixture('qe', 'dos', 'default', 'aiida.dos'), 'utf8'));
    expect(d.energiesEv).toHaveLength(24);
    expect(d.energiesEv[0]).toBe(-78.957);
    expect(d.energiesEv[23]).toBe(36.043);
    expect(d.fermiEnergyEv).toBe(20.187);
    expect(d.spin!.up[22]).toBe(0.1232);
    expect(d.spin!.down[22]).toBe(1.142);
    expect(d.dos[22]).toBeCloseTo(1.2652, 12);
    expect(d.integrated[23]).toBe(41.99);
  });

  it('reads the stdout: success and the broadening read from the file', () => {
    const s = parseDosStdout(readFileSync(fixture('qe', 'dos', 'default', 'aiida.out'), 'utf8'));
    expect(s).toMatchObject({ ok: true, jobDone: true, errors: [], qeVersion: '6.4.1' });
    expect(s.broadening).toEqual({ kind: 'smearing', ngauss: -1, degaussRy: 0.01, from: 'file' });
  });
});

describe.skipIf(!existsSync(NI_DOS_GZ))(`dos.x file of QE's PP example02, Ni (needs ${NI_DOS_GZ})`, () => {
  it('reads a real spin-polarised file: up + down integrate to the Int dos column', () => {
    const d = parseDosFile(gunzipSync(readFileSync(NI_DOS_GZ)).toString('utf8'));
    expect(d.fermiEnergyEv).toBe(15.32);
    expect(d.spin).toBeDefined();
    const n = d.energiesEv.length;
    // ∫ (up + down) dE from the window start = Int dos(E) (the window starts below the bands)
    expect(trapz(d.energiesEv, d.dos)).toBeCloseTo(d.integrated[n - 1]!, 0);
  });
});

describe('parseDosStdout: failures of real dos.x 6.7 runs', () => {
  const mpiAbort = [
    '--------------------------------------------------------------------------',
    'MPI_ABORT was invoked on rank 0 in communicator MPI_COMM_WORLD',
    'with errorcode 1.',
  ].join('\n');

  it('a missing save directory', () => {
    const stdout = [
      '     Program DOS v.6.7MaX starts on 23Nov2026 at 21:58:14 ',
      '     Reading xml data from directory:',
      '     /tmp/qe-si/out/nope.save/',
      '     Message from routine qexsd_readschema :',
      '     xml data file /tmp/qe-si/out/nope.save/data-file-schema.xml not found',
      '',
      ' %%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%',
      '     Error in routine read_xml_file (1):',
      '     fatal error reading xml file',
      ' %%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%',
      '',
      '     stopping ...',
      mpiAbort,
    ].join('\n');
    const s = parseDosStdout(stdout);
    expect(s.ok).toBe(false);
    expect(s.jobDone).toBe(false);
    expect(s.qeVersion).toBe('6.7MaX');
    expect(s.errors).toEqual(['Error in routine read_xml_file (1): fatal error reading xml file']);
    expect(s.messages[0]).toMatch(/Message from routine qexsd_readschema : xml data file .*nope\.save\/data-file-schema\.xml not found/);
  });

  it('a bad namelist, an abort without message, a truncated output', () => {
    const bad = parseDosStdout(
      [' %%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%', '     Error in routine dos (5010):', '     reading dos namelist', ' %%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%', mpiAbort].join('\n'),
    );
    expect(bad.errors).toEqual(['Error in routine dos (5010): reading dos namelist']);
    expect(parseDosStdout(mpiAbort).errors).toEqual(['dos aborted (MPI_ABORT) without an error message']);
    expect(parseQeToolStdout('     Program DOS v.6.7MaX starts\n', 'dos').errors[0]).toMatch(/no JOB DONE/);
  });
});

// ---------------------------------------------------------------------------------------------------------------

const haveQe = existsSync(PW) && existsSync(DOS) && existsSync(SI_PSEUDO_GZ);

describe.skipIf(!haveQe)(`real dos.x: Si scf → nscf (tetrahedra) → dos.x (needs ${PW}, ${DOS} and ${SI_PSEUDO_GZ})`, () => {
  let dir = '';
  let nscfStdout = '';
  let dosStdout = '';
  let dosFile = '';
  const run = (exe: string, name: string, text: string) => {
    writeFileSync(join(dir, `${name}.in`), text);
    return execFileSync(exe, ['-in', `${name}.in`], { cwd: dir, env: { ...process.env, OMP_NUM_THREADS: '1' }, timeout: 120_000 }).toString();
  };

  beforeAll(() => {
    const scratch = siScratch('dos');
    dir = scratch.dir;
    const base = { ...scratch.base };
    run(PW, 'scf', buildPwInput({ ...base, calculation: 'scf', kpoints: { mesh: [4, 4, 4] }, overrides: { system: { ecutwfc: 16 } } }).text);
    nscfStdout = run(
      PW,
      'nscf',
      buildPwInput({ ...base, calculation: 'nscf', kpoints: { mesh: [6, 6, 6] }, overrides: { system: { ecutwfc: 16, nbnd: 8, occupations: 'tetrahedra' } } }).text,
    );
    const input = buildDosInput({ prefix: 'si', outdir: join(dir, 'out'), emin: -8, emax: 12, deltaE: 0.05 });
    dosStdout = run(DOS, 'dos', input.text);
    dosFile = readFileSync(join(dir, input.fildos), 'utf8');
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('dos.x ran cleanly with the tetrahedra of the nscf', () => {
    const s = parseDosStdout(dosStdout);
    expect(s).toMatchObject({ ok: true, errors: [], qeVersion: expect.stringMatching(/^6\./) });
    expect(s.broadening).toEqual({ kind: 'tetrahedra' });
  });

  it('the .dos file: the window asked for, EFermi of the nscf, 8 electrons below the gap', () => {
    const d = parseDosFile(dosFile);
    expect(d.spin).toBeUndefined();
    expect(d.energiesEv[0]).toBe(-8);
    expect(d.energiesEv[d.energiesEv.length - 1]).toBe(12);
    expect(d.energiesEv).toHaveLength(401);
    const nscf = parsePwOutput({ stdout: nscfStdout, expectXml: false });
    expect(d.fermiEnergyEv).toBeCloseTo(nscf.fermiEnergyEv!, 2);
    // Si: 8 valence electrons per cell; the integrated DOS sits at 8 across the gap (above the VBM of ~6 eV)
    const homo = Math.max(...parsePwBands(nscfStdout).eigenvaluesEv.map((row) => row[3]!));
    const inGap = d.energiesEv.findIndex((e) => e > homo + 0.1);
    expect(d.integrated[inGap]).toBeCloseTo(8, 1);
    expect(d.dos[inGap]).toBe(0);
    // the columns agree: ∫ dos dE ≈ Int dos
    expect(trapz(d.energiesEv.slice(0, inGap + 1), d.dos.slice(0, inGap + 1))).toBeCloseTo(8, 1);
  });
});
