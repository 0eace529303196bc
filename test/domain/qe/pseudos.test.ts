import { existsSync, readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { DEBIAN_QE_EXAMPLES_FAMILY, parsePseudoFamily, selectPseudos, upfValenceCharge } from '../../../src/domain/codes/qe/pseudos.ts';
import type { PseudoFamily } from '../../../src/domain/codes/qe/pseudos.ts';
import { atomicMass, isElement, METALLIC_ELEMENTS } from '../../../src/domain/elements.ts';
import type { Mat3, Structure } from '../../../src/domain/structure/structure.ts';

const fcc = (a: number): Mat3 => [
  [0, a / 2, a / 2],
  [a / 2, 0, a / 2],
  [a / 2, a / 2, 0],
];
const zincblende = (x: string, y: string, a: number): Structure => ({
  lattice: fcc(a),
  sites: [
    { species: x, frac: [0, 0, 0] },
    { species: y, frac: [0.25, 0.25, 0.25] },
  ],
});

const validFamily = () => ({
  name: 'test-lda',
  functional: 'PZ',
  elements: {
    Si: { file: 'Si.pz-vbc.UPF', ecutwfc: 30, ecutrho: 120 },
    C: { file: 'C.upf', ecutwfc: 70, ecutrho: 280, source: '/somewhere/C.UPF.gz' },
  },
});

/** The message parsePseudoFamily throws for data. */
function parseError(data: unknown, source = 'families/test.yaml'): string {
  try {
    parsePseudoFamily(data, source);
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('expected parsePseudoFamily to throw');
}

describe('elements', () => {
  it('knows masses and symbols', () => {
    expect(atomicMass('Si')).toBeCloseTo(28.085, 3);
    expect(atomicMass('H')).toBeCloseTo(1.008, 3);
    expect(atomicMass('Bi')).toBeCloseTo(208.9804, 4);
    expect(isElement('Fe')).toBe(true);
    expect(isElement('FE')).toBe(false);
    expect(isElement('Xx')).toBe(false);
    expect(() => atomicMass('Xx')).toThrow(/unknown element/);
  });

  it('classifies metals for the heuristic', () => {
    for (const m of ['Al', 'Na', 'Fe', 'Cu', 'La', 'Pb', 'Bi', 'Ga']) expect(METALLIC_ELEMENTS.has(m as never)).toBe(true);
    for (const n of ['Si', 'C', 'O', 'B', 'As', 'Ge', 'N']) expect(METALLIC_ELEMENTS.has(n as never)).toBe(false);
  });
});

describe('parsePseudoFamily', () => {
  it('accepts a valid family and the built-in Debian family', () => {
    const f = parsePseudoFamily(validFamily(), 'families/test.yaml');
    expect(f.elements.C?.source).toBe('/somewhere/C.UPF.gz');
    expect(parsePseudoFamily(DEBIAN_QE_EXAMPLES_FAMILY, 'builtin').name).toBe('qe-debian-lda');
  });

  it('names the source, the field path and the reason', () => {
    const bad = validFamily();
    bad.elements.Si.ecutwfc = -5;
    const msg = parseError(bad);
    expect(msg).toContain('families/test.yaml');
    expect(msg).toContain('elements.Si.ecutwfc');
    expect(msg).toMatch(/>\s*0|positive/i);
  });

  it('rejects ecutrho < ecutwfc at elements.X.ecutrho', () => {
    const bad = validFamily();
    bad.elements.C.ecutrho = 50;
    expect(parseError(bad)).toMatch(/elements\.C\.ecutrho: must be >= ecutwfc \(70 Ry\)/);
  });

  it('rejects a file with a path or without .upf', () => {
    const withPath = validFamily();
    withPath.elements.Si.file = '/usr/share/pp/Si.pz-vbc.UPF';
    expect(parseError(withPath)).toMatch(/elements\.Si\.file: must be a file name without path separators/);
    const notUpf = validFamily();
    notUpf.elements.Si.file = 'Si.psp8';
    expect(parseError(notUpf)).toMatch(/elements\.Si\.file: must be a \.UPF/);
  });

  it('rejects unknown element keys, missing fields, unknown fields', () => {
    const data = { ...validFamily(), elements: { ...validFamily().elements, Xx: { file: 'X.UPF', ecutwfc: 1, ecutrho: 4 } } };
    expect(parseError(data)).toMatch(/elements\.Xx: 'Xx' is not an element symbol/);
    const { functional: _f, ...noFunctional } = validFamily();
    expect(parseError(noFunctional)).toMatch(/functional:/);
    expect(parseError({ ...validFamily(), cutoffs: 3 })).toMatch(/cutoffs/);
    expect(parseError({ ...validFamily(), elements: {} })).toMatch(/elements: must list at least one element/);
    expect(parseError('not an object')).toMatch(/\(top level\)/);
  });
});

describe('selectPseudos', () => {
  const family: PseudoFamily = DEBIAN_QE_EXAMPLES_FAMILY;

  it('picks file and mass per element, species in order of first appearance', () => {
    const sel = selectPseudos(family, zincblende('Si', 'Si', 5.431));
    expect(sel.species).toEqual([{ element: 'Si', file: 'Si.pz-vbc.UPF', mass: atomicMass('Si') }]);
    expect(sel.ecutwfc).toBe(family.elements.Si!.ecutwfc);
    expect(sel.ecutrho).toBe(family.elements.Si!.ecutrho);
  });

  it('takes the largest cutoffs over the elements', () => {
    const sel = selectPseudos(family, zincblende('Si', 'C', 4.36));
    expect(sel.species.map((s) => s.element)).toEqual(['Si', 'C']);
    expect(sel.ecutwfc).toBe(Math.max(family.elements.Si!.ecutwfc, family.elements.C!.ecutwfc));
    expect(sel.ecutrho).toBe(Math.max(family.elements.Si!.ecutrho, family.elements.C!.ecutrho));
  });

  it('lists every element the family lacks', () => {
    const feo: Structure = {
      lattice: fcc(4.3),
      sites: [
        { species: 'Fe', frac: [0, 0, 0] },
        { species: 'O', frac: [0.5, 0.5, 0.5] },
        { species: 'Si', frac: [0.25, 0.25, 0.25] },
      ],
    };
    expect(() => selectPseudos(family, feo)).toThrow('pseudo family qe-debian-lda has no pseudopotential for: Fe, O');
  });
});

describe('DEBIAN_QE_EXAMPLES_FAMILY', () => {
  const fam = DEBIAN_QE_EXAMPLES_FAMILY;

  it('is norm-conserving style: ecutrho = 4 × ecutwfc, file = basename of the gz source', () => {
    for (const [el, e] of Object.entries(fam.elements)) {
      expect(e.ecutrho, el).toBe(4 * e.ecutwfc);
      expect(e.source, el).toBe(`${e.source!.replace(/[^/]*$/, '')}${e.file}.gz`);
    }
    expect(Object.keys(fam.elements).sort()).toEqual(['B', 'C', 'Ga', 'Mg', 'N', 'Si']);
  });

  it.skipIf(!existsSync('/usr/share/doc/quantum-espresso/examples'))(
    'points at gz files of quantum-espresso-data whose headers say LDA (PZ), NC and the right element',
    () => {
      for (const [el, e] of Object.entries(fam.elements)) {
        const text = gunzipSync(readFileSync(e.source!)).toString('latin1');
        const header = text.slice(0, text.indexOf('</PP_HEADER>') > 0 ? text.indexOf('</PP_HEADER>') : text.indexOf('/>', text.indexOf('<PP_HEADER')));
        const head = header.slice(header.indexOf('<PP_HEADER'));
        // UPF v1: "SLA PZ NOGX NOGC PZ  Exchange-Correlation functional"; UPF v2: functional="PZ"
        expect(head, el).toMatch(/SLA\s+PZ\s+NOGX\s+NOGC|functional="\s*PZ\s*"/);
        expect(head, el).toMatch(/\bNC\b/);
        expect(head, el).toMatch(new RegExp(`(^|\\s|")${el}\\s*("|\\s)`, 'm'));
      }
    },
  );
});

describe('upfValenceCharge', () => {
  it('reads UPF v2 and v1 headers', () => {
    expect(upfValenceCharge('<PP_HEADER\n  z_valence="   13.00"\n  />')).toBe(13);
    expect(upfValenceCharge('<PP_HEADER>\n   0                   Version Number\n    4.00000000000      Z valence\n')).toBe(4);
    expect(upfValenceCharge('no header here')).toBeUndefined();
  });
});
