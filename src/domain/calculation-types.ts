/**
 * What can be computed, in one place: the step types of a plan (the seed's WorkflowType), and the calculation
 * types a code runs (the step types plus what only exists inside a code: vc-relax, md), with the spellings
 * users write for them.
 */

/** What a plan step computes (the seed's WorkflowType). */
export const STEP_TYPES = ['relax', 'scf', 'nscf', 'bands', 'dos', 'gw', 'bse', 'phonon', 'elastic', 'transport', 'wannier'] as const;
export type StepType = (typeof STEP_TYPES)[number];

export const CALCULATION_TYPES = [...STEP_TYPES, 'vc-relax', 'md'] as const;
export type CalculationType = (typeof CALCULATION_TYPES)[number];

const CALCULATION_TYPE_ALIASES: Record<string, CalculationType> = {
  g0w0: 'gw',
  gw0: 'gw',
  evgw: 'gw',
  optical: 'bse',
  optics: 'bse',
  dfpt: 'phonon',
  phonons: 'phonon',
  ph: 'phonon',
  vc_relax: 'vc-relax',
  vcrelax: 'vc-relax',
  relaxation: 'relax',
  band: 'bands',
  wannier90: 'wannier',
};

/** The calculation type of a name or alias (`evGW` → `gw`); undefined → `scf`. Throws for unknown names. */
export function calculationTypeOf(type: string | undefined): CalculationType {
  if (type === undefined) return 'scf';
  const t = type.trim().toLowerCase();
  if ((CALCULATION_TYPES as readonly string[]).includes(t)) return t as CalculationType;
  const alias = CALCULATION_TYPE_ALIASES[t];
  if (alias) return alias;
  throw new Error(`unknown calculation type "${type}"; known: ${CALCULATION_TYPES.join(', ')}`);
}
