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
/** GPa per kbar (pw.x prints stresses in kbar). */
export const KBAR_TO_GPA = 0.1;
/** GPa per eV/Å³: the SI elementary charge (exact since 2019) over 10⁻³⁰ m³, in units of 10⁹ Pa. */
export const EV_PER_CUBIC_ANGSTROM_TO_GPA = 160.2176634;
