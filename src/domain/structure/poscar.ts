/** VASP POSCAR / CONTCAR reader and writer (VASP 5 layout: species names above the counts). */
import { StructureParseError } from './errors.ts';
import { isElement } from '../elements.ts';
import { cartToFrac, volume } from './lattice.ts';
import { latticeProblem, structureProblem, type StructureLimits } from './sanity.ts';
import type { Mat3, Site, Structure, Vec3 } from './structure.ts';

interface Line {
  text: string;
  /** 1-based. */
  no: number;
}

/** "Si", "Fe_pv", "Fe_sv_GW/7c1a5e9b" (VASP 6 POTCAR tags) → the element; undefined if it is none. */
function speciesName(token: string): string | undefined {
  const el = token.split(/[_/.]/)[0] ?? '';
  return isElement(el) ? el : undefined;
}

/**
 * Read a POSCAR or CONTCAR. Scale: one positive factor multiplies the lattice; one negative value is the
 * target cell volume (Å^3); three values (VASP 6) scale x, y and z separately. Selective-dynamics flags
 * go to `Site.moves`. Anything after the positions (velocities, predictor-corrector data) is ignored.
 * The title is the comment line.
 */
export function parsePoscar(text: string, source: string, options: { limits?: Partial<StructureLimits> } = {}): Structure {
  const all: Line[] = text.replace(/^\uFEFF/, '').split(/\r\n|\r|\n/).map((t, i) => ({ text: t, no: i + 1 }));
  let next = 0;
  const take = (what: string): Line => {
    const l = all[next++];
    if (!l) throw new StructureParseError({ source, line: all.length, field: what, reason: `file ends before the ${what} line` });
    return l;
  };
  const numbers = (l: Line, field: string, count: number): number[] => {
    const toks = l.text.trim().split(/\s+/).slice(0, count);
    const vals = toks.map((t) => Number(t) + 0); // + 0 turns "-0.000" into 0
    if (toks.length < count || toks[0] === '' || vals.some((v) => !Number.isFinite(v))) {
      throw new StructureParseError({ source, line: l.no, field, reason: `expected ${count} numbers, got "${l.text.trim()}"` });
    }
    return vals;
  };

  const title = take('comment').text.trim();

  const scaleLine = take('scale');
  const scaleToks = scaleLine.text.trim().split(/\s+/);
  const scales = numbers(scaleLine, 'scale', scaleToks.length >= 3 && scaleToks.slice(0, 3).every((t) => Number.isFinite(Number(t))) ? 3 : 1);
  if (scales.some((s) => s === 0) || (scales.length === 3 && scales.some((s) => s < 0))) {
    throw new StructureParseError({ source, line: scaleLine.no, field: 'scale', reason: `invalid scale factor "${scaleLine.text.trim()}" (zero, or negative with three factors)` });
  }

  const raw = [0, 1, 2].map(() => numbers(take('lattice'), 'lattice', 3)) as Mat3;
  // Per-Cartesian-axis factors; a negative single value means "scale uniformly to this volume".
  let factor: Vec3;
  if (scales.length === 3) factor = scales as Vec3;
  else {
    const s = scales[0]!;
    const f = s > 0 ? s : Math.cbrt(-s / volume(raw));
    factor = [f, f, f];
  }
  const scaleVec = (v: Vec3): Vec3 => [v[0] * factor[0], v[1] * factor[1], v[2] * factor[2]];
  const lattice = raw.map(scaleVec) as Mat3;
  const cell = latticeProblem(lattice, options.limits);
  if (cell) throw new StructureParseError({ source, line: scaleLine.no + 1 + (cell.axis ?? 0), field: 'lattice', reason: cell.reason, kind: cell.kind });

  // VASP 5: a line of species names, then counts. VASP 4 has only the counts; there we accept species
  // from the comment line when it is exactly one element per count (how phonopy and ASE write VASP 4 files).
  let speciesLine = take('species');
  let species: string[];
  let countsLine: Line;
  const firstTok = speciesLine.text.trim().split(/\s+/)[0] ?? '';
  if (/^\d+$/.test(firstTok)) {
    countsLine = speciesLine;
    const fromTitle = title.split(/\s+/).filter((t) => t !== '');
    const nCounts = countsLine.text.trim().split(/\s+/).length;
    if (fromTitle.length !== nCounts || !fromTitle.every(isElement)) {
      throw new StructureParseError({
        source,
        line: speciesLine.no,
        field: 'species',
        kind: 'unsupported',
        reason: 'VASP 4 POSCAR without species names (VASP 5 format: a line of element symbols above the counts line), unless the comment line names one element per count',
      });
    }
    species = fromTitle;
  } else {
    species = speciesLine.text.trim().split(/\s+/).map((tok) => {
      const el = speciesName(tok);
      if (!el) throw new StructureParseError({ source, line: speciesLine.no, field: 'species', reason: `"${tok}" is not an element symbol` });
      return el;
    });
    countsLine = take('counts');
  }

  const countToks = countsLine.text.trim().split(/\s+/);
  if (countToks.length !== species.length || !countToks.every((t) => /^\d+$/.test(t) && Number(t) > 0)) {
    throw new StructureParseError({
      source,
      line: countsLine.no,
      field: 'counts',
      reason: `expected ${species.length} positive integer(s), one per species (${species.join(' ')}), got "${countsLine.text.trim()}"`,
    });
  }
  const counts = countToks.map(Number);

  let modeLine = take('coordinate mode');
  const selective = /^\s*s/i.test(modeLine.text);
  if (selective) modeLine = take('coordinate mode');
  const mode = modeLine.text.trim()[0]?.toLowerCase();
  const cartesian = mode === 'c' || mode === 'k';
  if (!cartesian && mode !== 'd') {
    throw new StructureParseError({ source, line: modeLine.no, field: 'coordinate mode', reason: `expected "Direct" or "Cartesian", got "${modeLine.text.trim()}"` });
  }

  const sites: Site[] = [];
  const names: string[] = [];
  const lines: number[] = [];
  const total = counts.reduce((a, b) => a + b, 0);
  species.forEach((el, k) => {
    for (let n = 0; n < counts[k]!; n++) {
      const l = all[next++];
      if (!l || l.text.trim() === '') {
        throw new StructureParseError({ source, line: l?.no ?? all.length, field: 'position', reason: `expected ${total} positions (counts ${counts.join(' ')}), found ${sites.length}` });
      }
      const pos = numbers(l, 'position', 3) as Vec3;
      const site: Site = { species: el, frac: cartesian ? cartToFrac(lattice, scaleVec(pos)) : pos };
      if (selective) {
        const flags = l.text.trim().split(/\s+/).slice(3, 6);
        if (flags.length < 3 || !flags.every((f) => /^[TF]$/i.test(f))) {
          throw new StructureParseError({ source, line: l.no, field: 'selective dynamics', reason: `expected three T/F flags after the coordinates, got "${l.text.trim()}"` });
        }
        site.moves = flags.map((f) => f.toUpperCase() === 'T') as [boolean, boolean, boolean];
      }
      sites.push(site);
      names.push(`${el}${n + 1} (line ${l.no})`);
      lines.push(l.no);
    }
  });
  // Velocities and predictor-corrector data follow after a blank line: a position right after the last is one the counts left out.
  const after = all[next];
  if (after && after.text.trim() !== '' && numbersIn3(after.text)) {
    throw new StructureParseError({
      source,
      line: after.no,
      field: 'counts',
      reason: `the counts (${counts.join(' ')}, line ${countsLine.no}) say ${total} position(s), but line ${after.no} is one more; counts and positions disagree`,
    });
  }
  const problem = structureProblem({ lattice, sites }, { ...options, siteNames: names });
  if (problem) {
    const at = problem.field === 'sites' ? lines[problem.sites![1]]! : scaleLine.no + 1;
    throw new StructureParseError({ source, line: at, field: problem.field === 'sites' ? 'position' : 'lattice', reason: problem.reason, kind: problem.kind });
  }
  return { lattice, sites, title };
}

/** Whether a line starts with three numbers (a position, with or without flags). */
function numbersIn3(text: string): boolean {
  const toks = text.trim().split(/\s+/).slice(0, 3);
  return toks.length === 3 && toks.every((t) => t !== '' && Number.isFinite(Number(t)));
}

/** Shortest text that reads back as the same double (exponent form only for tiny values), right-aligned. */
function num(x: number): string {
  let s = Math.abs(x) < 1e-6 && x !== 0 ? x.toExponential() : String(x);
  if (!/[.e]/.test(s)) s += '.0';
  return s.padStart(20);
}

/**
 * The structure as a VASP 5 POSCAR, Direct coordinates, scale 1. Sites are grouped by species in order
 * of first appearance (VASP needs each species contiguous). Selective dynamics is written when any site
 * has `moves`; sites without it are written free (T T T).
 */
export function writePoscar(structure: Structure): string {
  const order: string[] = [];
  for (const s of structure.sites) if (!order.includes(s.species)) order.push(s.species);
  const groups = order.map((el) => structure.sites.filter((s) => s.species === el));
  const selective = structure.sites.some((s) => s.moves !== undefined);
  const title = (structure.title ?? '').replace(/[\r\n]+/g, ' ').trim() || order.join(' ');
  const lines = [
    title,
    '1.0',
    ...structure.lattice.map((row) => row.map(num).join(' ')),
    order.join(' '),
    groups.map((g) => g.length).join(' '),
    ...(selective ? ['Selective dynamics'] : []),
    'Direct',
    ...groups.flat().map((s) => {
      const flags = selective ? '  ' + (s.moves ?? [true, true, true]).map((m) => (m ? 'T' : 'F')).join(' ') : '';
      return s.frac.map(num).join(' ') + flags;
    }),
  ];
  return lines.join('\n') + '\n';
}
