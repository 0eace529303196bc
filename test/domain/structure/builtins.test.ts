import { describe, it, expect } from 'vitest';
import { builtinStructure, builtinStructureNames } from '../../../src/domain/structure/builtins.ts';
import { cellFormula, cellParameters, volume } from '../../../src/domain/structure/lattice.ts';
import { neighbourDistances, shortestDistance } from './helpers.ts';

describe('builtinStructure', () => {
  it('lists the built-in names and looks them up case-insensitively, with aliases', () => {
    expect(builtinStructureNames()).toEqual(expect.arrayContaining(['Si', 'C', 'GaAs', 'NaCl', 'MgO', 'Al', 'Cu', 'Fe', 'MoS2', 'TiO2']));
    expect(builtinStructure('si')).toEqual(builtinStructure('Si'));
    expect(builtinStructure(' NACL ')?.title).toBe('NaCl (rocksalt, primitive)');
    expect(builtinStructure('diamond')).toEqual(builtinStructure('C'));
    expect(builtinStructure('rutile')).toEqual(builtinStructure('TiO2'));
    expect(builtinStructure('unobtainium')).toBeUndefined();
  });

  it('returns a fresh copy each call', () => {
    const a = builtinStructure('Si')!;
    a.sites[0]!.frac[0] = 0.5;
    a.lattice[0][0] = 99;
    expect(builtinStructure('Si')!.sites[0]!.frac[0]).toBe(0);
    expect(builtinStructure('Si')!.lattice[0][0]).toBe(0);
  });

  it('Si is the 2-atom FCC primitive diamond cell, a = 5.431 Å', () => {
    const s = builtinStructure('Si')!;
    const h = 5.431 / 2;
    expect(s.title).toBe('Si (diamond, primitive)');
    expect(s.lattice).toEqual([
      [0, h, h],
      [h, 0, h],
      [h, h, 0],
    ]);
    expect(s.sites.map((x) => x.frac)).toEqual([
      [0, 0, 0],
      [0.25, 0.25, 0.25],
    ]);
    expect(neighbourDistances(s, 0, 2.5).map((r) => Number(r.toFixed(4)))).toEqual([2.3517, 2.3517, 2.3517, 2.3517]);
  });

  // name, atoms, formula, volume (Å^3), nearest-neighbour pair and distance (Å)
  const cases: [string, number, string, number, [string, string], number][] = [
    ['Si', 2, 'Si2', 5.431 ** 3 / 4, ['Si', 'Si'], (5.431 * Math.sqrt(3)) / 4],
    ['C', 2, 'C2', 3.567 ** 3 / 4, ['C', 'C'], (3.567 * Math.sqrt(3)) / 4],
    ['GaAs', 2, 'AsGa', 5.653 ** 3 / 4, ['Ga', 'As'], (5.653 * Math.sqrt(3)) / 4],
    ['NaCl', 2, 'ClNa', 5.64 ** 3 / 4, ['Na', 'Cl'], 5.64 / 2],
    ['MgO', 2, 'MgO', 4.212 ** 3 / 4, ['Mg', 'O'], 4.212 / 2],
    ['Al', 1, 'Al', 4.05 ** 3 / 4, ['Al', 'Al'], 4.05 / Math.SQRT2],
    ['Cu', 1, 'Cu', 3.615 ** 3 / 4, ['Cu', 'Cu'], 3.615 / Math.SQRT2],
    ['Fe', 1, 'Fe', 2.8665 ** 3 / 2, ['Fe', 'Fe'], (2.8665 * Math.sqrt(3)) / 2],
    ['MoS2', 6, 'Mo2S4', (Math.sqrt(3) / 2) * 3.16 ** 2 * 12.29, ['Mo', 'S'], Math.hypot(3.16 / Math.sqrt(3), (0.621 - 0.75) * 12.29)],
    ['TiO2', 6, 'O4Ti2', 4.594 ** 2 * 2.959, ['Ti', 'O'], Math.sqrt(2 * (4.594 * (0.5 - 0.3048)) ** 2 + (2.959 / 2) ** 2)],
  ];
  it.each(cases)('%s: %i atoms, formula %s, volume and nearest neighbours', (name, atoms, formula, vol, [a, b], nn) => {
    const s = builtinStructure(name)!;
    expect(s.sites).toHaveLength(atoms);
    expect(cellFormula(s)).toBe(formula);
    expect(volume(s.lattice)).toBeCloseTo(vol, 8);
    expect(shortestDistance(s, a, b)).toBeCloseTo(nn, 8);
    expect(s.sites.every((x) => x.frac.every((f) => f >= 0 && f < 1))).toBe(true);
  });

  it('MoS2 is the 2H polytype: Mo trigonal-prismatic with 6 S at 2.41 Å, hexagonal cell', () => {
    const s = builtinStructure('MoS2')!;
    const p = cellParameters(s.lattice);
    expect([p.a, p.b, p.c, p.gamma].map((v) => Number(v.toFixed(6)))).toEqual([3.16, 3.16, 12.29, 120]);
    s.sites.forEach((site, i) => {
      if (site.species !== 'Mo') return;
      const d = neighbourDistances(s, i, 2.6);
      expect(d).toHaveLength(6);
      expect(d[0]).toBeCloseTo(2.415, 2);
    });
  });

  it('TiO2 rutile: each Ti has 6 O neighbours (4 equatorial + 2 apical)', () => {
    const s = builtinStructure('TiO2')!;
    s.sites.forEach((site, i) => {
      if (site.species === 'Ti') expect(neighbourDistances(s, i, 2.1)).toHaveLength(6);
    });
  });
});
