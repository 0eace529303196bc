/**
 * The structure a relax / vc-relax ended with, from the last `CELL_PARAMETERS` / `ATOMIC_POSITIONS` blocks pw.x
 * printed (PwResult.finalCell / finalPositions, see ./parse.ts). Pure.
 *
 * Units understood:
 *   cell:      angstrom, bohr, alat (× alat; the alat of the header `CELL_PARAMETERS (alat= 10.2)`)
 *   positions: crystal, angstrom, bohr, alat
 * A relax does not print the cell (it does not change): the input lattice is kept. When a block is in alat units
 * and no alat was printed, alat is the length of the input's first lattice vector: that is pw.x's alat for
 * `ibrav = 0` with `CELL_PARAMETERS angstrom` (what ./inputs.ts writes), and pw.x keeps it fixed through a vc-relax.
 *
 * Sites keep the input's species, label and selective-dynamics `moves` (pw.x prints the sites in input order).
 */
import { cartToFrac, norm } from '../../structure/lattice.ts';
import type { Mat3, Site, Structure, Vec3 } from '../../structure/structure.ts';
import { ReadError } from '../../read-error.ts';
import { BOHR_TO_ANGSTROM } from '../../units.ts';
import type { PwResult } from './parse.ts';

const SOURCE = 'pw.x output';
const malformed = (reason: string) => new ReadError({ source: SOURCE, reason });

function vec3(row: readonly number[] | undefined, what: string): Vec3 {
  if (!row || row.length !== 3 || !row.every(Number.isFinite)) throw malformed(`structure: ${what} is not three finite numbers`);
  return [row[0]!, row[1]!, row[2]!];
}

const scale = (v: Vec3, f: number): Vec3 => [v[0] * f, v[1] * f, v[2] * f];

/** Å per unit of a cell / position block, or undefined for 'crystal' (handled by the caller). */
function angstromPerUnit(units: string, alatBohr: number | undefined, input: Structure, what: string): number {
  const u = units.trim().toLowerCase();
  if (u === 'angstrom') return 1;
  if (u === 'bohr') return BOHR_TO_ANGSTROM;
  if (u === 'alat') {
    if (alatBohr !== undefined) {
      if (!(alatBohr > 0)) throw malformed(`structure: ${what} has a non-positive alat (${alatBohr})`);
      return alatBohr * BOHR_TO_ANGSTROM;
    }
    // pw.x's alat for ibrav = 0 and CELL_PARAMETERS in angstrom/bohr: |a1| of the input cell
    return norm(input.lattice[0]);
  }
  throw new ReadError({ source: SOURCE, field: what, kind: 'unsupported', reason: `units '${units}' (read: angstrom, bohr, alat${what.startsWith('ATOMIC') ? ', crystal' : ''})` });
}

/**
 * The output structure of a relax / vc-relax. Throws a ReadError saying why when the output has no structure (no
 * `ATOMIC_POSITIONS` block was printed), or when it does not match the input (site count or species).
 */
export function structureFromPwOutput(result: PwResult, input: Structure): Structure {
  const pos = result.finalPositions;
  if (!pos || pos.positions.length === 0) {
    throw malformed(`no structure (no ATOMIC_POSITIONS block was printed; exit ${result.exitCode} ${result.exitName})`);
  }
  if (pos.positions.length !== input.sites.length || pos.species.length !== input.sites.length) {
    throw malformed(`structure has ${pos.positions.length} sites but the input structure has ${input.sites.length}`);
  }

  let lattice: Mat3;
  let alatBohr: number | undefined;
  const cell = result.finalCell;
  if (cell) {
    if (cell.vectors.length !== 3) throw malformed('structure: CELL_PARAMETERS does not have three vectors');
    alatBohr = cell.alatBohr;
    const f = angstromPerUnit(cell.units, alatBohr, input, 'CELL_PARAMETERS');
    lattice = [
      scale(vec3(cell.vectors[0], 'CELL_PARAMETERS row 1'), f),
      scale(vec3(cell.vectors[1], 'CELL_PARAMETERS row 2'), f),
      scale(vec3(cell.vectors[2], 'CELL_PARAMETERS row 3'), f),
    ];
  } else {
    lattice = [[...input.lattice[0]], [...input.lattice[1]], [...input.lattice[2]]];
  }

  const units = pos.units.trim().toLowerCase();
  const crystal = units === 'crystal';
  const f = crystal ? 1 : angstromPerUnit(units, alatBohr, input, 'ATOMIC_POSITIONS');

  const sites: Site[] = input.sites.map((site, i) => {
    const printed = pos.species[i] ?? '';
    if (printed.toLowerCase() !== site.species.toLowerCase()) {
      throw malformed(`structure: site ${i + 1} is ${printed || '(none)'} but the input has ${site.species} there`);
    }
    const p = vec3(pos.positions[i], `ATOMIC_POSITIONS row ${i + 1}`);
    const frac = crystal ? p : cartToFrac(lattice, scale(p, f));
    const out: Site = { species: site.species, frac: frac.map((x) => (Object.is(x, -0) ? 0 : x)) as Vec3 };
    if (site.label !== undefined) out.label = site.label;
    if (site.moves) out.moves = [...site.moves];
    return out;
  });

  const out: Structure = { lattice, sites };
  if (input.title !== undefined) out.title = input.title;
  return out;
}
