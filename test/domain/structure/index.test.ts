import { readFileSync } from 'node:fs';
import { describe, it, expect } from 'vitest';
import { describeShared, fixture } from '../../support/shared.ts';
import {
  StructureParseError,
  builtinStructure,
  cellFormula,
  parseStructureText,
  structureFormatFromName,
  volume,
  writeCif,
  writePoscar,
} from '../../../src/domain/structure/index.ts';
import { neighbourDistances, shortestDistance, speciesCounts, structureData, thrown } from './helpers.ts';

describe('parseStructureText', () => {
  it('chooses the reader from the file name', () => {
    expect(structureFormatFromName('Si.cif')).toBe('cif');
    expect(structureFormatFromName('runs/a/Si.CIF')).toBe('cif');
    expect(structureFormatFromName('POSCAR')).toBe('poscar');
    expect(structureFormatFromName('C:\\runs\\CONTCAR')).toBe('poscar');
    expect(structureFormatFromName('POSCAR_NaCl')).toBe('poscar');
    expect(structureFormatFromName('relaxed.vasp')).toBe('poscar');
    expect(structureFormatFromName('x.poscar')).toBe('poscar');
    expect(structureFormatFromName('structure.txt')).toBeUndefined();
  });

  it('reads a CIF and a POSCAR by name', () => {
    expect(parseStructureText(structureData('Si-Fd-3m.cif'), 'data/Si-Fd-3m.cif').sites).toHaveLength(8);
    const si = builtinStructure('Si')!;
    expect(cellFormula(parseStructureText(writePoscar(si), 'runs/1/CONTCAR'))).toBe('Si2');
  });

  it('sniffs the format when the name does not say', () => {
    expect(parseStructureText(writeCif(builtinStructure('NaCl')!), 'upload.txt').sites).toHaveLength(2);
    expect(parseStructureText(writePoscar(builtinStructure('GaAs')!), 'upload.txt').sites).toHaveLength(2);
  });

  it('an unrecognised file is an error listing the accepted formats', () => {
    const e = thrown(() => parseStructureText('hello\nworld\n', 'notes.txt'));
    expect(e).toBeInstanceOf(StructureParseError);
    expect(e.message).toMatch(/^notes\.txt: not a recognised structure file; accepted formats: CIF \(\*\.cif\) and VASP 5 POSCAR\/CONTCAR/);
  });

  it('errors from the chosen reader come through unchanged', () => {
    expect(() => parseStructureText('data_x\n_cell_length_a abc\n', 'x.cif')).toThrow('x.cif line 2 (_cell_length_a): not a number: "abc"');
  });
});

describeShared('real POSCAR / CONTCAR files (shared fixtures)', () => {
  it('custodian POSCAR (vasp/outputs): Na2FeNiO4, 8 atoms, species labels after the coordinates ignored', () => {
    const s = parseStructureText(readFileSync(fixture('vasp', 'outputs', 'POSCAR'), 'utf8'), 'POSCAR');
    expect(s.title).toBe('Na2 Fe1 Ni1 O4');
    expect(s.sites.map((x) => x.species)).toEqual(['Na', 'Na', 'Fe', 'Ni', 'O', 'O', 'O', 'O']);
    expect(cellFormula(s)).toBe('FeNa2NiO4');
    expect(s.lattice[0]).toEqual([-2.8161, 0, 0]);
    expect(s.sites[4]!.frac).toEqual([0.859265, 0.380245, 0.28147]);
    expect(volume(s.lattice)).toBeCloseTo(2.8161 * 4.877628 * 4.684533, 6);
  });

  it('custodian CONTCAR (nonconv): Si2 in a rotated FCC cell, velocity block ignored', () => {
    const s = parseStructureText(readFileSync(fixture('vasp', 'custodian-cases', 'nonconv', 'CONTCAR'), 'utf8'), 'CONTCAR');
    expect(s.title).toBe('Si2');
    expect(s.sites).toHaveLength(2);
    expect(s.sites.map((x) => x.frac)).toEqual([
      [0.875, 0.875, 0.875],
      [0.125, 0.125, 0.125],
    ]);
    // vectors of length L = a/sqrt(2) (to 1e-6 after relaxation); diamond nearest neighbour a*sqrt(3)/4 = L*sqrt(6)/4
    const L = 4.1518027441400935;
    expect(neighbourDistances(s, 0, 3.0).map((r) => r / ((L * Math.sqrt(6)) / 4))).toEqual([1, 1, 1, 1].map(() => expect.closeTo(1, 5)));
  });

  it('phonopy POSCAR_NaCl (VASP 4 layout, species on the comment line): 4 Na + 4 Cl', () => {
    const s = parseStructureText(readFileSync(fixture('phonopy', 'NaCl-VASP', 'POSCAR_NaCl'), 'utf8'), 'POSCAR_NaCl');
    expect(speciesCounts(s)).toEqual({ Na: 4, Cl: 4 });
    expect(s.sites.slice(0, 4).every((x) => x.species === 'Na')).toBe(true);
    expect(volume(s.lattice)).toBeCloseTo(5.6903014761756712 ** 3, 8);
    expect(shortestDistance(s, 'Na', 'Cl')).toBeCloseTo(5.6903014761756712 / 2, 10);
  });

  it('each real file round-trips through writePoscar and writeCif', () => {
    for (const parts of [['vasp', 'outputs', 'POSCAR'], ['vasp', 'custodian-cases', 'nonconv', 'CONTCAR'], ['phonopy', 'NaCl-VASP', 'POSCAR_NaCl']]) {
      const s = parseStructureText(readFileSync(fixture(...parts), 'utf8'), parts.at(-1)!);
      const again = parseStructureText(writePoscar(s), 'POSCAR');
      expect(again.lattice).toEqual(s.lattice);
      expect(again.sites).toEqual(s.sites);
      const fromCif = parseStructureText(writeCif(s), 'x.cif');
      expect(volume(fromCif.lattice)).toBeCloseTo(volume(s.lattice), 8);
      expect(cellFormula(fromCif)).toBe(cellFormula(s));
    }
  });
});
