/**
 * What a calculation assumes about a structure's electrons when its input does not say: gapped or not (fixed
 * occupations or smearing) and spin-polarised or not. Code-independent; pw.x's writer (codes/qe/inputs.ts) turns
 * the answers into namelists.
 */
import { initialMagneticMoment, isElement, isMetallicElement, SINGLE_OXIDATION_STATES } from './elements.ts';
import type { Structure } from './structure/structure.ts';

/** `insulator`: fixed occupations; `metal`: smearing; `auto`: `expectsGap` decides. */
export const ELECTRONIC_TYPES = ['auto', 'insulator', 'metal'] as const;
export type ElectronicType = (typeof ELECTRONIC_TYPES)[number];

/** `collinear`: spin-polarised (up and down densities); `none`: not; `auto`: collinear for metals with `magneticElements`. */
export const MAGNETISM_MODES = ['auto', 'none', 'collinear'] as const;
export type Magnetism = (typeof MAGNETISM_MODES)[number];

/**
 * Whether a structure is known to have a gap (`electronicType: 'auto'` then means fixed occupations). Smearing is
 * the safe side: on an insulator it costs little (E_F lands in the gap), while fixed occupations on a metal stop
 * pw.x ("charge is wrong"), never converge, or converge to a wrong density. So gapped only when
 * - every element is a non-metal (not in METALLIC_ELEMENTS): Si, diamond, SiC, BN, ice; or
 * - the composition has cations and anions and balances with their SINGLE_OXIDATION_STATES: alkali halides,
 *   alkaline-earth chalcogenides, III-V and II-VI semiconductors, Al2O3, Mg2Si.
 * Everything else gets smearing: borides (MgB2), transition-metal compounds (TiN, and also the insulating TiO2 or
 * NiO, whose metals have several oxidation states), intermetallics. Semimetals made of non-metals (graphite, As,
 * Sb) and semiconductors that LDA makes metallic (InSb) do get fixed occupations: pw.x then fails or shows
 * overlapping bands, and a handler (codes/qe/handlers.ts) switches to smearing.
 */
export function expectsGap(structure: Structure): boolean {
  const species = structure.sites.map((s) => s.species);
  if (species.every((e) => !isMetallicElement(e))) return true;
  let charge = 0;
  let cations = false;
  let anions = false;
  for (const element of species) {
    const state = isElement(element) ? SINGLE_OXIDATION_STATES[element] : undefined;
    if (state === undefined) return false;
    charge += state;
    cations ||= state > 0;
    anions ||= state < 0;
  }
  return cations && anions && charge === 0;
}

/** The elements of a structure that start a spin-polarised run with a moment (open d or f shells), in order of appearance. */
export function magneticElements(structure: Structure): string[] {
  return [...new Set(structure.sites.map((s) => s.species))].filter((e) => initialMagneticMoment(e) > 0);
}
