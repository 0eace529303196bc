/**
 * Chemical elements: symbols, standard atomic weights, a coarse "is a metal" classification, the oxidation states
 * of textbook ionic compounds and the initial magnetic moments of spin-polarised runs.
 *
 * Masses are IUPAC standard atomic weights (abridged to at most 4 decimals; for elements with an
 * interval the conventional value is used). For the radioactive elements without a standard atomic
 * weight (Tc, Pm, Po..Ac, Np, Pu) the mass number of the longest-lived isotope is used, as periodic
 * tables do. pw.x only uses the mass for dynamics, so these values never affect an scf energy.
 */

const MASSES = {
  H: 1.008, He: 4.0026,
  Li: 6.94, Be: 9.0122, B: 10.81, C: 12.011, N: 14.007, O: 15.999, F: 18.9984, Ne: 20.1797,
  Na: 22.9898, Mg: 24.305, Al: 26.9815, Si: 28.085, P: 30.9738, S: 32.06, Cl: 35.45, Ar: 39.948,
  K: 39.0983, Ca: 40.078,
  Sc: 44.9559, Ti: 47.867, V: 50.9415, Cr: 51.9961, Mn: 54.938, Fe: 55.845, Co: 58.9332, Ni: 58.6934,
  Cu: 63.546, Zn: 65.38,
  Ga: 69.723, Ge: 72.63, As: 74.9216, Se: 78.971, Br: 79.904, Kr: 83.798,
  Rb: 85.4678, Sr: 87.62,
  Y: 88.9058, Zr: 91.224, Nb: 92.9064, Mo: 95.95, Tc: 98, Ru: 101.07, Rh: 102.9055, Pd: 106.42,
  Ag: 107.8682, Cd: 112.414,
  In: 114.818, Sn: 118.71, Sb: 121.76, Te: 127.6, I: 126.9045, Xe: 131.293,
  Cs: 132.9055, Ba: 137.327,
  La: 138.9055, Ce: 140.116, Pr: 140.9077, Nd: 144.242, Pm: 145, Sm: 150.36, Eu: 151.964, Gd: 157.25,
  Tb: 158.9254, Dy: 162.5, Ho: 164.9303, Er: 167.259, Tm: 168.9342, Yb: 173.045, Lu: 174.9668,
  Hf: 178.49, Ta: 180.9479, W: 183.84, Re: 186.207, Os: 190.23, Ir: 192.217, Pt: 195.084, Au: 196.9666,
  Hg: 200.592,
  Tl: 204.38, Pb: 207.2, Bi: 208.9804, Po: 209, At: 210, Rn: 222,
  Fr: 223, Ra: 226,
  Ac: 227, Th: 232.0377, Pa: 231.0359, U: 238.0289, Np: 237, Pu: 244,
} as const satisfies Record<string, number>;

/**
 * An element symbol with a mass here (H..Pu), e.g. "Si". (`structure/elements.ts` knows all 118
 * symbols for parsing; this module is about physical data.)
 */
export type ElementSymbol = keyof typeof MASSES;

/** Symbols with a mass here (H..Pu), in order of atomic number. */
export const ELEMENTS_WITH_MASS: readonly ElementSymbol[] = Object.keys(MASSES) as ElementSymbol[];

export function isElement(sym: string): sym is ElementSymbol {
  return Object.prototype.hasOwnProperty.call(MASSES, sym);
}

/** Atomic number (1 for H); throws on an unknown symbol. */
export function atomicNumber(sym: string): number {
  if (!isElement(sym)) throw new Error(`unknown element symbol '${sym}'`);
  return ELEMENTS_WITH_MASS.indexOf(sym) + 1;
}

/** Standard atomic weight in amu (g/mol); throws on an unknown symbol. */
export function atomicMass(sym: string): number {
  if (!isElement(sym)) throw new Error(`unknown element symbol '${sym}'`);
  return MASSES[sym];
}

/**
 * Elements that are metals as elemental solids: alkali and alkaline-earth metals, the transition
 * metals (groups 3-12), lanthanides and actinides, and the post-transition metals Al, Ga, In, Sn,
 * Tl, Pb, Bi. It says nothing about compounds (MgB2 is a metal, NaCl is not): see `expectsGap` in
 * ../electronic-defaults.ts for the rule that uses it.
 */
export const METALLIC_ELEMENTS: ReadonlySet<ElementSymbol> = new Set<ElementSymbol>([
  // alkali
  'Li', 'Na', 'K', 'Rb', 'Cs', 'Fr',
  // alkaline earth
  'Be', 'Mg', 'Ca', 'Sr', 'Ba', 'Ra',
  // transition metals
  'Sc', 'Ti', 'V', 'Cr', 'Mn', 'Fe', 'Co', 'Ni', 'Cu', 'Zn',
  'Y', 'Zr', 'Nb', 'Mo', 'Tc', 'Ru', 'Rh', 'Pd', 'Ag', 'Cd',
  'Hf', 'Ta', 'W', 'Re', 'Os', 'Ir', 'Pt', 'Au', 'Hg',
  // lanthanides
  'La', 'Ce', 'Pr', 'Nd', 'Pm', 'Sm', 'Eu', 'Gd', 'Tb', 'Dy', 'Ho', 'Er', 'Tm', 'Yb', 'Lu',
  // actinides
  'Ac', 'Th', 'Pa', 'U', 'Np', 'Pu',
  // post-transition metals
  'Al', 'Ga', 'In', 'Sn', 'Tl', 'Pb', 'Bi',
]);

export function isMetallicElement(sym: string): boolean {
  return isElement(sym) && METALLIC_ELEMENTS.has(sym);
}

/**
 * The one oxidation state of the ions of textbook ionic and covalent insulators: cations of the alkali (+1) and
 * alkaline-earth (+2) metals, Zn and Cd (+2), Al, Ga and In (+3); anions C, Si, Ge (−4: Al4C3, Mg2Si), the
 * pnictogens N, P, As, Sb (−3), the chalcogens O, S, Se, Te (−2) and the halogens F, Cl, Br, I (−1). Elements
 * with several common states (transition metals, Sn, Tl, Pb, H, B, ...) have none.
 */
export const SINGLE_OXIDATION_STATES: Readonly<Partial<Record<ElementSymbol, number>>> = {
  Li: 1, Na: 1, K: 1, Rb: 1, Cs: 1,
  Be: 2, Mg: 2, Ca: 2, Sr: 2, Ba: 2, Zn: 2, Cd: 2,
  Al: 3, Ga: 3, In: 3,
  C: -4, Si: -4, Ge: -4,
  N: -3, P: -3, As: -3, Sb: -3,
  O: -2, S: -2, Se: -2, Te: -2,
  F: -1, Cl: -1, Br: -1, I: -1,
};

/**
 * Initial magnetic moments (μB per atom) of a spin-polarised start: those of aiida-quantumespresso's
 * `workflows/protocols/magnetization.yaml` (the table its `get_magnetization` reads): 5 for the transition metals
 * of groups 3 to 9 and Ni, Pt, for La, Ce, Gd, Lu and Ac to Np; 7 for the other lanthanides but Yb, and Pu.
 * Elements not listed have 0 there (closed shells: Cu, Zn, Pd, Ag, Au, Yb, main-group elements).
 */
const INITIAL_MAGNETIC_MOMENTS: Readonly<Partial<Record<ElementSymbol, number>>> = {
  Sc: 5, Ti: 5, V: 5, Cr: 5, Mn: 5, Fe: 5, Co: 5, Ni: 5,
  Y: 5, Zr: 5, Nb: 5, Mo: 5, Tc: 5, Ru: 5, Rh: 5,
  Hf: 5, Ta: 5, W: 5, Re: 5, Os: 5, Ir: 5, Pt: 5,
  La: 5, Ce: 5, Pr: 7, Nd: 7, Pm: 7, Sm: 7, Eu: 7, Gd: 5, Tb: 7, Dy: 7, Ho: 7, Er: 7, Tm: 7, Lu: 5,
  Ac: 5, Th: 5, Pa: 5, U: 5, Np: 5, Pu: 7,
};

/** The initial magnetic moment of an element, μB per atom (0: starts without one). */
export function initialMagneticMoment(sym: string): number {
  return (isElement(sym) && INITIAL_MAGNETIC_MOMENTS[sym]) || 0;
}
