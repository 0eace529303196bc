/** Geometry helpers for structure tests (not a test file itself). */
import { readFileSync } from 'node:fs';
import { fracToCart } from '../../../src/domain/structure/lattice.ts';
import type { Structure, Vec3 } from '../../../src/domain/structure/structure.ts';

/** Text of a file in test/data/structures. */
export const structureData = (name: string): string => readFileSync(new URL(`../../data/structures/${name}`, import.meta.url), 'utf8');

/** Distances (Å, ascending) from site i to every other atom and periodic image within cutoff (images up to ±2 cells). */
export function neighbourDistances(s: Structure, i: number, cutoff: number): number[] {
  const out: number[] = [];
  const a = s.sites[i]!.frac;
  for (const [j, b] of s.sites.entries()) {
    for (let n0 = -2; n0 <= 2; n0++)
      for (let n1 = -2; n1 <= 2; n1++)
        for (let n2 = -2; n2 <= 2; n2++) {
          if (j === i && n0 === 0 && n1 === 0 && n2 === 0) continue;
          const d: Vec3 = [b.frac[0] + n0 - a[0], b.frac[1] + n1 - a[1], b.frac[2] + n2 - a[2]];
          const c = fracToCart(s.lattice, d);
          const r = Math.hypot(...c);
          if (r < cutoff) out.push(r);
        }
  }
  return out.sort((x, y) => x - y);
}

/** Shortest distance (Å) between an atom of species a and one of species b (periodic). */
export function shortestDistance(s: Structure, a: string, b: string): number {
  let best = Infinity;
  s.sites.forEach((si, i) => {
    if (si.species !== a) return;
    const cutoff = 10;
    s.sites.forEach((sj, j) => {
      if (sj.species !== b) return;
      for (let n0 = -2; n0 <= 2; n0++)
        for (let n1 = -2; n1 <= 2; n1++)
          for (let n2 = -2; n2 <= 2; n2++) {
            if (i === j && n0 === 0 && n1 === 0 && n2 === 0) continue;
            const d: Vec3 = [sj.frac[0] + n0 - si.frac[0], sj.frac[1] + n1 - si.frac[1], sj.frac[2] + n2 - si.frac[2]];
            const r = Math.hypot(...fracToCart(s.lattice, d));
            if (r < Math.min(best, cutoff)) best = r;
          }
    });
  });
  return best;
}

/** Count of each species. */
export function speciesCounts(s: Structure): Record<string, number> {
  const out: Record<string, number> = {};
  for (const site of s.sites) out[site.species] = (out[site.species] ?? 0) + 1;
  return out;
}

/** Fractional coordinates wrapped to [0,1) and rounded, sorted, for set comparisons. */
export function fracSet(s: Structure, digits = 3): string[] {
  const w = (x: number) => {
    const v = x - Math.floor(x);
    const r = Number(v.toFixed(digits));
    return (r >= 1 ? 0 : r).toFixed(digits);
  };
  return s.sites.map((site) => `${site.species} ${site.frac.map(w).join(' ')}`).sort();
}

export { thrown } from '../../support/thrown.ts';
