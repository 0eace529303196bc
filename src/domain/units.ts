/**
 * Unit conversions, each written once. CODATA 2018 values, the ones Quantum ESPRESSO's Modules/constants.f90
 * uses (AUTOEV, RYTOEV, BOHR_RADIUS_ANGS), so numbers converted here agree with what pw.x prints in eV and Å.
 */

/** eV per hartree (CODATA 2018 Hartree energy). */
export const HA_TO_EV = 27.211386245988;
/** eV per rydberg: a rydberg is half a hartree. */
export const RY_TO_EV = HA_TO_EV / 2;
/** Å per bohr (CODATA 2018 Bohr radius). */
export const BOHR_TO_ANGSTROM = 0.529177210903;
