/**
 * The pw.x input as the caller hands it to the parser: namelists with keys of any case (`&CONTROL`, `control`),
 * their values as given or as Fortran text, and the calculation types pw.x knows.
 */
import { toNumber } from './text.ts';

export type PwCalculationType = 'scf' | 'nscf' | 'bands' | 'relax' | 'vc-relax' | 'md' | 'vc-md';

const CALCULATIONS: readonly PwCalculationType[] = ['scf', 'nscf', 'bands', 'relax', 'vc-relax', 'md', 'vc-md'];
export function asCalculation(v: unknown): PwCalculationType | undefined {
  if (typeof v !== 'string') return undefined;
  const s = v.trim().toLowerCase().replace(/^['"]|['"]$/g, '');
  return (CALCULATIONS as readonly string[]).includes(s) ? (s as PwCalculationType) : undefined;
}

/** relax / vc-relax: the ionic minimisations (md and vc-md are not). */
export const isRelaxation = (c: PwCalculationType | undefined): boolean => c === 'relax' || c === 'vc-relax';

/** Namelist (lower case, no `&`) → variable (lower case) → value. */
export type Namelists = Map<string, Map<string, unknown>>;

export function normaliseParameters(parameters: Record<string, Record<string, unknown>> | undefined): Namelists {
  const out: Namelists = new Map();
  if (!parameters) return out;
  for (const [ns, vars] of Object.entries(parameters)) {
    if (!vars || typeof vars !== 'object') continue;
    const m = new Map<string, unknown>();
    for (const [k, v] of Object.entries(vars)) m.set(k.toLowerCase(), v);
    out.set(ns.toLowerCase().replace(/^&/, ''), m);
  }
  return out;
}

export function paramNumber(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'string') return toNumber(v.trim());
  return undefined;
}
