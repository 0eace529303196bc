import { describe, it, expect } from 'vitest';
import { parsePoscar, writePoscar } from '../../../src/domain/structure/poscar.ts';
import { StructureParseError } from '../../../src/domain/structure/errors.ts';
import { builtinStructure, builtinStructureNames } from '../../../src/domain/structure/builtins.ts';
import { cellFormula, volume } from '../../../src/domain/structure/lattice.ts';
import type { Structure } from '../../../src/domain/structure/structure.ts';
import { shortestDistance, thrown } from './helpers.ts';

const GAAS_DIRECT = `GaAs zincblende
   5.653
     0.0 0.5 0.5
     0.5 0.0 0.5
     0.5 0.5 0.0
   Ga As
   1 1
Direct
  0.00 0.00 0.00 Ga
  0.25 0.25 0.25 As
`;

describe('parsePoscar', () => {
  it('reads a VASP 5 Direct POSCAR with a scale factor', () => {
    const s = parsePoscar(GAAS_DIRECT, 'POSCAR');
    expect(s.title).toBe('GaAs zincblende');
    expect(s.lattice[0]).toEqual([0, 5.653 / 2, 5.653 / 2]);
    expect(s.sites).toEqual([
      { species: 'Ga', frac: [0, 0, 0] },
      { species: 'As', frac: [0.25, 0.25, 0.25] },
    ]);
    expect(volume(s.lattice)).toBeCloseTo(5.653 ** 3 / 4, 10);
    expect(shortestDistance(s, 'Ga', 'As')).toBeCloseTo((5.653 * Math.sqrt(3)) / 4, 10);
  });

  it('reads Cartesian positions, scaled by the scale factor like the lattice', () => {
    const text = `Si
2.0
 0 1.3575 1.3575
 1.3575 0 1.3575
 1.3575 1.3575 0
Si
2
Cartesian
 0 0 0
 0.67875 0.67875 0.67875
`;
    const s = parsePoscar(text, 'POSCAR');
    expect(s.lattice[1]).toEqual([2.715, 0, 2.715]);
    expect(s.sites[1]!.frac.map((x) => Number(x.toFixed(12)))).toEqual([0.25, 0.25, 0.25]);
    // "K"/"k" also means Cartesian
    expect(parsePoscar(text.replace('Cartesian', 'kartesisch'), 'POSCAR').sites[1]!.frac[0]).toBeCloseTo(0.25, 12);
  });

  it('a negative scale factor is the target cell volume', () => {
    const text = GAAS_DIRECT.replace('   5.653', '  -45.0').replace(/0\.5/g, '1.0');
    const s = parsePoscar(text, 'POSCAR');
    expect(volume(s.lattice)).toBeCloseTo(45, 10);
    expect(s.lattice[0][1]).toBeCloseTo(s.lattice[0][2], 12);
  });

  it('three scale factors (VASP 6) scale x, y and z separately', () => {
    const text = `tetragonal
1.0 1.0 2.0
 3 0 0
 0 3 0
 0 0 3
Ti
1
Direct
 0 0 0
`;
    expect(parsePoscar(text, 'POSCAR').lattice).toEqual([
      [3, 0, 0],
      [0, 3, 0],
      [0, 0, 6],
    ]);
  });

  it('stores selective-dynamics flags in Site.moves', () => {
    const text = `slab
1.0
 4 0 0
 0 4 0
 0 0 20
Cu O
2 1
Selective dynamics
Direct
 0 0 0.1 F F F
 0.5 0.5 0.2 T T T
 0 0 0.3 F f t
`;
    const s = parsePoscar(text, 'POSCAR');
    expect(s.sites.map((x) => x.moves)).toEqual([
      [false, false, false],
      [true, true, true],
      [false, false, true],
    ]);
    expect(() => parsePoscar(text.replace('0.5 0.5 0.2 T T T', '0.5 0.5 0.2 T T'), 'POSCAR')).toThrow(/line 11 \(selective dynamics\): expected three T\/F flags/);
  });

  it('reads POTCAR-style species names (Fe_pv, VASP 6 hashes) as elements', () => {
    const text = GAAS_DIRECT.replace('   Ga As', '   Ga_d As/5a3b2c');
    expect(parsePoscar(text, 'POSCAR').sites.map((x) => x.species)).toEqual(['Ga', 'As']);
  });

  it('ignores what follows the positions (velocities of a CONTCAR)', () => {
    const text = GAAS_DIRECT + '\n  0.1 0.2 0.3\n  0.0 0.0 0.0\n';
    expect(parsePoscar(text, 'CONTCAR').sites).toHaveLength(2);
  });

  it('a malformed counts line is an error naming the line', () => {
    const e = thrown(() => parsePoscar(GAAS_DIRECT.replace('   1 1', '   1 x'), 'POSCAR')) as StructureParseError;
    expect(e).toBeInstanceOf(StructureParseError);
    expect(e).toMatchObject({ line: 7, field: 'counts' });
    expect(e.message).toBe('POSCAR line 7 (counts): expected 2 positive integer(s), one per species (Ga As), got "1 x"');
    expect(() => parsePoscar(GAAS_DIRECT.replace('   1 1', '   2'), 'POSCAR')).toThrow(/line 7 \(counts\)/);
  });

  it('VASP 4 (no species line) is an error unless the comment line names one element per count', () => {
    const vasp4 = GAAS_DIRECT.replace('   Ga As\n', '').replace('GaAs zincblende', 'zincblende');
    expect(() => parsePoscar(vasp4, 'POSCAR')).toThrow(/^POSCAR line 6 \(species\): not supported yet: VASP 4 POSCAR without species names \(VASP 5 format/);
    // phonopy and ASE write VASP 4 files with the species on the comment line
    const s = parsePoscar(vasp4.replace('zincblende', 'Ga As'), 'POSCAR');
    expect(s.sites.map((x) => x.species)).toEqual(['Ga', 'As']);
  });

  it('other malformed files name the line', () => {
    expect(() => parsePoscar(GAAS_DIRECT.replace('     0.5 0.0 0.5', '     0.5 zero 0.5'), 'POSCAR')).toThrow(/POSCAR line 4 \(lattice\): expected 3 numbers/);
    expect(() => parsePoscar(GAAS_DIRECT.replace('Direct', 'Reciprocal'), 'POSCAR')).toThrow(/line 8 \(coordinate mode\)/);
    expect(() => parsePoscar(GAAS_DIRECT.replace('   Ga As', '   Ga Xx'), 'POSCAR')).toThrow(/line 6 \(species\): "Xx" is not an element symbol/);
    expect(() => parsePoscar(GAAS_DIRECT.replace('   1 1', '   1 2'), 'POSCAR')).toThrow(/POSCAR line 11 \(position\): expected 3 positions \(counts 1 2\), found 2/);
    expect(() => parsePoscar(GAAS_DIRECT.replace('   5.653', '   0'), 'POSCAR')).toThrow(/line 2 \(scale\)/);
    expect(() => parsePoscar('', 'POSCAR')).toThrow(StructureParseError);
  });
});

describe('writePoscar', () => {
  const expectExact = (a: Structure, b: Structure) => {
    a.lattice.forEach((row, i) => row.forEach((x, j) => expect(Math.abs(b.lattice[i]![j]! - x)).toBeLessThan(1e-12)));
    expect(b.sites.length).toBe(a.sites.length);
    a.sites.forEach((s, i) => {
      expect(b.sites[i]!.species).toBe(s.species);
      s.frac.forEach((x, k) => expect(Math.abs(b.sites[i]!.frac[k]! - x)).toBeLessThan(1e-12));
      expect(b.sites[i]!.moves).toEqual(s.moves);
    });
  };

  it('round-trips every built-in structure exactly', () => {
    for (const name of builtinStructureNames()) {
      const s = builtinStructure(name)!;
      const back = parsePoscar(writePoscar(s), 'POSCAR');
      expectExact(s, back);
      expect(back.title).toBe(s.title);
      expect(cellFormula(back)).toBe(cellFormula(s));
    }
  });

  it('groups species in first-appearance order and writes selective dynamics when any site has flags', () => {
    const s: Structure = {
      lattice: [
        [3.1, 0.1, 0],
        [-1.2, 4.4, 0],
        [0.3, 0.2, 9.9],
      ],
      sites: [
        { species: 'O', frac: [0.1, 0.2, 0.3] },
        { species: 'Fe', frac: [0.123456789012345, 0.9, -0.05], moves: [false, true, false] },
        { species: 'O', frac: [1 / 3, 2 / 3, 0.5] },
      ],
      title: 'two\nlines',
    };
    const text = writePoscar(s);
    const lines = text.split('\n');
    expect(lines[0]).toBe('two lines');
    expect(lines[5]).toBe('O Fe');
    expect(lines[6]).toBe('2 1');
    expect(lines[7]).toBe('Selective dynamics');
    expect(lines[8]).toBe('Direct');
    expect(lines[9]).toMatch(/ T T T$/);
    expect(lines[11]).toMatch(/ F T F$/);
    const back = parsePoscar(text, 'POSCAR');
    expectExact({ ...s, sites: [{ ...s.sites[0]!, moves: [true, true, true] }, { ...s.sites[2]!, moves: [true, true, true] }, s.sites[1]!] }, back);
  });

  it('writes no selective-dynamics block when no site has flags', () => {
    expect(writePoscar(builtinStructure('Si')!)).not.toMatch(/Selective/);
  });
});
