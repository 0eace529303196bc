/** A crystal: lattice vectors (rows, Å), and sites with fractional coordinates. Pure data, JSON-safe. */
export type Vec3 = [number, number, number];
export type Mat3 = [Vec3, Vec3, Vec3];

export interface Site {
  /** Element symbol, e.g. "Si". */
  species: string;
  /** Fractional coordinates in the lattice basis. */
  frac: Vec3;
  /** Site label from the source file (CIF `_atom_site_label`), if any. */
  label?: string;
  /** Per-axis "may move" flags (POSCAR selective dynamics); absent means all free. */
  moves?: [boolean, boolean, boolean];
}

export interface Structure {
  /** Lattice vectors a, b, c as rows, in Ångström. */
  lattice: Mat3;
  sites: Site[];
  /** Free-text title (CIF data block name, POSCAR comment line). */
  title?: string;
}
