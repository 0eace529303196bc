import { describe, expect, it } from 'vitest';
import { expectsGap, magneticElements } from '../../src/domain/electronic-defaults.ts';
import type { Structure } from '../../src/domain/structure/structure.ts';

/** A structure with these sites (the cell does not matter to either rule). */
const of = (...species: string[]): Structure => ({
  lattice: [[5, 0, 0], [0, 5, 0], [0, 0, 5]],
  sites: species.map((s, i) => ({ species: s, frac: [i / species.length, 0, 0] })),
});

describe('expectsGap: fixed occupations only for structures known to be gapped', () => {
  it.each([
    ['Si', of('Si', 'Si')],
    ['SiC', of('Si', 'C')],
    ['h-BN', of('B', 'N')],
    ['NaCl', of('Na', 'Cl')],
    ['MgO', of('Mg', 'O')],
    ['GaN', of('Ga', 'N')],
    ['GaAs', of('Ga', 'As')],
    ['ZnO', of('Zn', 'O')],
    ['Al2O3', of('Al', 'Al', 'O', 'O', 'O')],
    ['Mg2Si', of('Mg', 'Mg', 'Si')],
  ])('%s: gapped', (_name, s) => expect(expectsGap(s)).toBe(true));

  it.each([
    ['Al', of('Al')],
    ['bcc Fe', of('Fe')],
    ['TiN (a transition metal)', of('Ti', 'N')],
    ['MgB2 (B has no single state)', of('Mg', 'B', 'B')],
    ['NiO (several states of Ni)', of('Ni', 'O')],
    ['Na2O2 (a peroxide does not balance)', of('Na', 'Na', 'O', 'O')],
    ['NaAl (cations only)', of('Na', 'Al')],
  ])('%s: smearing', (_name, s) => expect(expectsGap(s)).toBe(false));
});

describe('magneticElements', () => {
  it("the elements with an initial moment in aiida's table, once each, in order of appearance", () => {
    expect(magneticElements(of('O', 'Fe', 'O', 'Co', 'Fe'))).toEqual(['Fe', 'Co']);
    expect(magneticElements(of('Gd', 'Cu', 'Yb', 'Pd', 'Si'))).toEqual(['Gd']);
    expect(magneticElements(of('Si', 'Si'))).toEqual([]);
  });
});
