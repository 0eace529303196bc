/**
 * The result of a pw.x run from what its stdout and XML say: stdout's values first, the XML's where stdout is
 * silent, and what follows from them (band gap, occupation of the highest band).
 */
import type { CodeResult } from '../code.ts';
import { RY_TO_EV } from '../../units.ts';
import { PW_SANITY_CHECKS, type PwExitCode } from './exit-codes.ts';
import { isRelaxation, type PwCalculationType } from './pw-parameters.ts';
import { ionicConvergenceDeclared, type PwCellBlock, type PwPositionsBlock, type PwStdoutData } from './pw-stdout.ts';
import type { PwXmlData } from './pw-xml.ts';
import { smearingKind, wgauss } from './smearing.ts';

export type PwBandGapSource =
  /** "highest occupied, lowest unoccupied level" printed by pw.x (fixed occupations with empty bands). */
  | 'stdout-homo-lumo'
  /** highestOccupiedLevel / lowestUnoccupiedLevel of the XML. */
  | 'xml-homo-lumo'
  /**
   * Band energies printed in stdout, fixed occupations, no spin polarisation: nelec/2 bands filled; gap = lowest
   * empty band minimum − highest filled band maximum over the printed k-points (for a `bands` run along a path,
   * the gap along that path). 0 if the bands overlap.
   */
  | 'stdout-band-energies'
  /** The same from the XML eigenvalues. */
  | 'xml-band-energies';

export interface PwResult extends CodeResult {
  exitCode: number;
  exitName: string;
  exitMessage: string;
  /** From the parameters, else the XML input, else guessed from stdout. */
  calculation?: PwCalculationType;
  qeVersion?: string;
  /** `JOB DONE` was printed (pw.x prints it also after SCF non-convergence or max_seconds). */
  jobDone: boolean;
  /** The last `!    total energy` (the final SCF's for relaxations). */
  totalEnergyRy?: number;
  totalEnergyEv?: number;
  /** vc-relax: `Final enthalpy`; relax: `Final energy` is in `finalEnergyRy`. */
  finalEnthalpyRy?: number;
  finalEnergyRy?: number;
  /** "the Fermi energy is" (smearing / tetrahedra); for fixed occupations see highestOccupiedEv. */
  fermiEnergyEv?: number;
  /** Two Fermi energies (fixed total magnetisation). */
  fermiEnergyUpEv?: number;
  fermiEnergyDownEv?: number;
  highestOccupiedEv?: number;
  lowestUnoccupiedEv?: number;
  bandGapEv?: number;
  bandGapSource?: PwBandGapSource;
  numberOfElectrons?: number;
  numberOfAtoms?: number;
  numberOfBands?: number;
  /** k-points of the irreducible wedge as printed (not doubled for spin). */
  numberOfKPoints?: number;
  spinPolarized?: boolean;
  /** Occupations: 'fixed', 'smearing', 'tetrahedra', ... */
  occupations?: string;
  /** Smearing kind ('gaussian', 'mp', 'mv', 'fd') and width (Ry) when smearing is used. */
  smearing?: string;
  smearingWidthRy?: number;
  /** Noncollinear: the magnetisation vector (x, y, z) of the cell, from stdout (2 decimals); its length is `totalMagnetizationBohrMag`. */
  totalMagnetizationVectorBohrMag?: number[];
  /** Iterations of the last SCF. */
  scfIterations?: number;
  /** Iterations of all SCF cycles of the run. */
  totalScfIterations?: number;
  /** Whether the last SCF converged (undefined when the run has no SCF, e.g. nscf/bands). */
  scfConverged?: boolean;
  /** relax/vc-relax/md: ionic configurations whose SCF finished (the final SCF of a vc-relax not included). */
  ionicSteps?: number;
  /** relax/vc-relax: pw.x declared the ionic minimisation converged. */
  ionicConverged?: boolean;
  /** Final forces, one [x, y, z] per atom, Ry/bohr. */
  forcesRyBohr?: number[][];
  totalForceRyBohr?: number;
  /** Final stress tensor, kbar. */
  stressKbar?: number[][];
  pressureKbar?: number;
  /** The last structure printed in stdout; for a relaxation whose stdout has none, the XML's output structure (bohr). */
  finalCell?: PwCellBlock;
  finalPositions?: PwPositionsBlock;
  wallTimeSeconds?: number;
  cpuTimeSeconds?: number;
  /** Notable messages, deduplicated and short. */
  warnings: string[];
  /** The text of `%%%%` error blocks (stdout and CRASH) and other fatal messages, short. */
  errorMessages: string[];
  /**
   * Largest occupation (electrons per state: ×2 for unpolarised runs) of the highest band over k-points and spins;
   * from the XML occupations, or from the printed band energies with the smearing function.
   */
  highestBandOccupationMax?: number;
  /**
   * highestBandOccupationMax > 0.005 (PW_SANITY_CHECKS.INSUFFICIENT_BANDS); only for non-fixed occupations and
   * when occupations are known; undefined otherwise.
   */
  insufficientBands?: boolean;
  /**
   * Fixed occupations and the lowest unoccupied level below the highest occupied one
   * (PW_SANITY_CHECKS.METAL_WITH_FIXED_OCCUPATIONS); undefined unless both levels are known. A zero-gap touch
   * (graphene's Dirac point) is not an overlap.
   */
  metallicWithFixedOccupations?: boolean;
}

const round = (v: number, digits = 6) => Math.round(v * 10 ** digits) / 10 ** digits + 0; // + 0: no -0

/** What the values below are read against: stdout, XML, and the band energies of stdout's last listing. */
interface Readings {
  s: PwStdoutData;
  xml: PwXmlData;
  /** [spin][k][band], eV */
  bandEnergies?: number[][][];
  fixedOccupations: boolean;
  lsda: boolean;
  noncolin: boolean;
}

/** The result; `s.warnings` gains the insufficient-bands warning when there is one. */
export function pwResult(exit: PwExitCode, s: PwStdoutData, xml: PwXmlData, calculation: PwCalculationType | undefined): PwResult {
  const r: PwResult = { exitCode: exit.code, exitName: exit.name, exitMessage: exit.message, jobDone: s.jobDone, warnings: [], errorMessages: [] };
  if (calculation) r.calculation = calculation;
  if (s.qeVersion) r.qeVersion = s.qeVersion;
  addEnergies(r, s, xml);
  const occupations = addOccupations(r, s, xml);
  const bandEnergies = s.bands?.map((channel) => channel.map((k) => k.energiesEv));
  const readings: Readings = {
    s,
    xml,
    bandEnergies,
    fixedOccupations: occupations === 'fixed',
    lsda: xml.lsda ?? (s.lsda || (bandEnergies?.length ?? 0) > 1),
    noncolin: xml.noncolin ?? s.hints.noncollinear,
  };
  addFermiEnergies(r, readings);
  addPrintedBandEdges(r, readings);
  if (r.bandGapEv === undefined && readings.fixedOccupations && !readings.lsda) addGapFromBandEnergies(r, readings);
  addSizes(r, readings);
  addProgress(r, s, calculation);
  addForcesAndStructure(r, s, xml, isRelaxation(calculation));
  if (s.wallSeconds !== undefined) r.wallTimeSeconds = s.wallSeconds;
  if (s.cpuSeconds !== undefined) r.cpuTimeSeconds = s.cpuSeconds;
  addHighestBandOccupation(r, readings);
  addMetallicWithFixedOccupations(r, readings);
  r.warnings = s.warnings.list();
  r.errorMessages = s.errors.list();
  return r;
}

function addEnergies(r: PwResult, s: PwStdoutData, xml: PwXmlData): void {
  const lastEnergyFrame = [...s.frames].reverse().find((f) => f.energyRy !== undefined);
  // the XML energy only stands in for a converged SCF whose `!` line was lost (truncated stdout)
  const energyRy = lastEnergyFrame?.energyRy ?? (xml.scfConverged ? xml.etotRy : undefined);
  if (energyRy !== undefined) {
    r.totalEnergyRy = energyRy;
    r.totalEnergyEv = round(energyRy * RY_TO_EV, 6);
  }
  if (s.finalEnthalpyRy !== undefined) r.finalEnthalpyRy = s.finalEnthalpyRy;
  if (s.finalEnergyRy !== undefined) r.finalEnergyRy = s.finalEnergyRy;
}

/** Occupations and smearing; returns the occupations kind. */
function addOccupations(r: PwResult, s: PwStdoutData, xml: PwXmlData): string | undefined {
  const occupationsKind =
    s.smearing !== undefined
      ? 'smearing'
      : s.tetrahedra
        ? 'tetrahedra'
        : (xml.occupationsKind ?? (s.nks !== undefined ? 'fixed' : undefined));
  if (occupationsKind) r.occupations = occupationsKind;
  const smear = s.smearing ?? (xml.smearing ? smearingKind(xml.smearing) : undefined);
  const widthRy = s.smearingWidthRy ?? xml.degaussRy;
  if (occupationsKind === 'smearing' && smear) {
    r.smearing = smear;
    if (widthRy !== undefined) r.smearingWidthRy = widthRy;
  }
  return occupationsKind;
}

function addFermiEnergies(r: PwResult, { s, xml, fixedOccupations }: Readings): void {
  const fermi = s.fermiEv ?? (!fixedOccupations ? xml.fermiEv : undefined);
  if (fermi !== undefined) r.fermiEnergyEv = round(fermi, 6);
  const fermiUp = s.fermiUpEv ?? xml.fermiUpEv;
  const fermiDown = s.fermiDownEv ?? xml.fermiDownEv;
  if (fermiUp !== undefined && fermiDown !== undefined) {
    r.fermiEnergyUpEv = round(fermiUp, 6);
    r.fermiEnergyDownEv = round(fermiDown, 6);
  }
}

/** HOMO / LUMO as pw.x printed or wrote them, and the gap between. */
function addPrintedBandEdges(r: PwResult, { s, xml }: Readings): void {
  if (s.homoEv !== undefined) {
    r.highestOccupiedEv = s.homoEv;
    if (s.lumoEv !== undefined) {
      r.lowestUnoccupiedEv = s.lumoEv;
      r.bandGapEv = round(Math.max(0, s.lumoEv - s.homoEv), 6);
      r.bandGapSource = 'stdout-homo-lumo';
    }
  } else if (xml.homoEv !== undefined) {
    r.highestOccupiedEv = round(xml.homoEv, 6);
    if (xml.lumoEv !== undefined) {
      r.lowestUnoccupiedEv = round(xml.lumoEv, 6);
      r.bandGapEv = round(Math.max(0, xml.lumoEv - xml.homoEv), 6);
      r.bandGapSource = 'xml-homo-lumo';
    }
  }
}

/** The gap from the band energies (stdout's, else the XML's) of a fixed-occupation, unpolarised run. */
function addGapFromBandEnergies(r: PwResult, { s, xml, bandEnergies, noncolin }: Readings): void {
  const perBand = noncolin ? 1 : 2;
  const nelec = s.nelec ?? xml.nelec;
  const fromStdout = bandEnergies?.length === 1 && bandEnergies[0] ? gapFromBands(bandEnergies[0], nelec, perBand) : undefined;
  const fromXml = !fromStdout && xml.eigenvaluesEv ? gapFromBands(xml.eigenvaluesEv, nelec, perBand) : undefined;
  const g = fromStdout ?? fromXml;
  if (g) {
    r.bandGapEv = round(g.gap, 6);
    r.bandGapSource = fromStdout ? 'stdout-band-energies' : 'xml-band-energies';
    if (r.highestOccupiedEv === undefined) r.highestOccupiedEv = round(g.vbm, 6);
    if (r.lowestUnoccupiedEv === undefined) r.lowestUnoccupiedEv = round(g.cbm, 6);
  }
}

/** Band edges of [k][band] energies with nelec / electronsPerBand bands filled. */
function gapFromBands(
  bands: number[][],
  nelec: number | undefined,
  electronsPerBand: number,
): { vbm: number; cbm: number; gap: number } | undefined {
  if (nelec === undefined || bands.length === 0) return undefined;
  const nocc = nelec / electronsPerBand;
  if (Math.abs(nocc - Math.round(nocc)) > 1e-6 || Math.round(nocc) < 1) return undefined;
  const n = Math.round(nocc);
  let vbm = -Infinity;
  let cbm = Infinity;
  for (const k of bands) {
    const v = k[n - 1];
    const c = k[n];
    if (v === undefined || c === undefined) return undefined;
    vbm = Math.max(vbm, v);
    cbm = Math.min(cbm, c);
  }
  if (!Number.isFinite(vbm) || !Number.isFinite(cbm)) return undefined;
  return { vbm, cbm, gap: Math.max(0, cbm - vbm) };
}

/** Electrons, atoms, bands, k-points, spin and magnetisation. */
function addSizes(r: PwResult, { s, xml, lsda }: Readings): void {
  const nelec = s.nelec ?? xml.nelec;
  if (nelec !== undefined) r.numberOfElectrons = nelec;
  if (s.nat !== undefined) r.numberOfAtoms = s.nat;
  else if (s.positions) r.numberOfAtoms = s.positions.species.length;
  const nbnd = s.nbnd ?? xml.nbnd ?? xml.nbndUp;
  if (nbnd !== undefined) r.numberOfBands = nbnd;
  const nks = s.nks ?? xml.nks;
  if (nks !== undefined) r.numberOfKPoints = nks;
  if (lsda || xml.lsda !== undefined || s.nks !== undefined) r.spinPolarized = lsda;
  const totalMag = s.totalMag ?? xml.totalMag;
  const absMag = s.absoluteMag ?? xml.absoluteMag;
  if (totalMag !== undefined) r.totalMagnetizationBohrMag = totalMag;
  if (s.totalMagVector) r.totalMagnetizationVectorBohrMag = s.totalMagVector;
  if (absMag !== undefined) r.absoluteMagnetizationBohrMag = absMag;
}

/** SCF iterations and convergence; ionic steps and convergence. */
function addProgress(r: PwResult, s: PwStdoutData, calculation: PwCalculationType | undefined): void {
  const lastScf = s.scfCycles[s.scfCycles.length - 1];
  if (lastScf) r.scfIterations = lastScf.iterations;
  if (s.scfCycles.length) r.totalScfIterations = s.scfCycles.reduce((a, b) => a + b.iterations, 0);
  if (lastScf) r.scfConverged = lastScf.state === 'converged';
  const ionic = isRelaxation(calculation);
  if (ionic || calculation === 'md' || calculation === 'vc-md') {
    const energyFrames = s.frames.filter((f) => f.energyRy !== undefined).length;
    const finalScfFrames = s.finalScf && s.finalScfFrameIndex !== undefined ? s.frames.length - s.finalScfFrameIndex : 0;
    r.ionicSteps = Math.max(0, energyFrames - Math.min(finalScfFrames, energyFrames));
  }
  if (ionic) r.ionicConverged = ionicConvergenceDeclared(s);
}

/** The last forces, stress and structure. */
function addForcesAndStructure(r: PwResult, s: PwStdoutData, xml: PwXmlData, ionic: boolean): void {
  const forcesFrame = [...s.frames].reverse().find((f) => f.forces);
  if (forcesFrame?.forces) r.forcesRyBohr = forcesFrame.forces;
  const totalForceFrame = [...s.frames].reverse().find((f) => f.totalForce !== undefined);
  if (totalForceFrame?.totalForce !== undefined) r.totalForceRyBohr = totalForceFrame.totalForce;
  const stressFrame = [...s.frames].reverse().find((f) => f.stress || f.pressure !== undefined);
  if (stressFrame?.stress) r.stressKbar = stressFrame.stress;
  if (stressFrame?.pressure !== undefined) r.pressureKbar = stressFrame.pressure;
  if (s.cell) r.finalCell = s.cell;
  if (s.positions) r.finalPositions = s.positions;
  if (ionic && !s.cell && !s.positions && xml.outputCell && xml.outputPositions) {
    // A relaxation's stdout without any structure block (cut short, or trimmed): the structure pw.x wrote to its
    // XML, as aiida's output_structure.
    r.finalCell = xml.outputCell;
    r.finalPositions = xml.outputPositions;
  }
}

/** Overlapping band edges under fixed occupations: a metal (pw.x says nothing when the electron count is even). */
function addMetallicWithFixedOccupations(r: PwResult, { fixedOccupations, s }: Readings): void {
  const homo = r.highestOccupiedEv;
  const lumo = r.lowestUnoccupiedEv;
  if (!fixedOccupations || homo === undefined || lumo === undefined) return;
  r.metallicWithFixedOccupations = lumo < homo;
  if (r.metallicWithFixedOccupations) {
    s.warnings.add(`fixed occupations, but the lowest unoccupied level (${round(lumo, 4)} eV) lies below the highest occupied one (${round(homo, 4)} eV): a metal; use smearing`);
  }
}

/** Insufficient bands (aiida's sanity_check_insufficient_bands): the highest band's occupation per k and spin. */
function addHighestBandOccupation(r: PwResult, readings: Readings): void {
  const threshold = PW_SANITY_CHECKS.INSUFFICIENT_BANDS.occupationThreshold;
  const { xml } = readings;
  const fromXml = xml.occupations !== undefined && xml.eigenvaluesEv !== undefined;
  const occMax = fromXml ? highestBandOccupationFromXml(xml) : highestBandOccupationFromSmearing(readings);
  if (occMax === undefined) return;
  r.highestBandOccupationMax = round(occMax, 6);
  // fixed occupations: a full highest band is pw.x's default for an insulator, not a lack of bands
  if (readings.fixedOccupations && fromXml) return;
  r.insufficientBands = occMax > threshold;
  if (r.insufficientBands) {
    readings.s.warnings.add(
      `insufficient bands: the highest band holds up to ${round(occMax, 4)} electrons (> ${threshold}); increase nbnd`,
    );
  }
}

function highestBandOccupationFromXml(xml: PwXmlData): number | undefined {
  if (!xml.occupations) return undefined;
  const scale = xml.lsda || xml.noncolin ? 1 : 2;
  const up = xml.lsda ? (xml.nbndUp ?? xml.nbnd) : undefined;
  let max = -Infinity;
  for (const occ of xml.occupations) {
    const tops = up !== undefined && occ.length > up ? [occ[up - 1], occ[occ.length - 1]] : [occ[occ.length - 1]];
    for (const t of tops) if (t !== undefined) max = Math.max(max, t * scale);
  }
  return Number.isFinite(max) ? max : undefined;
}

/** From stdout's band energies, Fermi energies and smearing. */
function highestBandOccupationFromSmearing({ s, bandEnergies, noncolin }: Readings): number | undefined {
  if (!s.smearing || !s.smearingWidthRy || !bandEnergies?.some((channel) => channel.length > 0)) return undefined;
  const widthEv = s.smearingWidthRy * RY_TO_EV;
  const spinFermi = [s.fermiUpEv ?? s.fermiEv, s.fermiDownEv ?? s.fermiEv];
  const scale = bandEnergies.length > 1 || noncolin ? 1 : 2;
  let max = -Infinity;
  bandEnergies.forEach((spin, is) => {
    const ef = spinFermi[is];
    if (ef === undefined) return;
    for (const k of spin) {
      const top = k[k.length - 1];
      if (top !== undefined) max = Math.max(max, wgauss((ef - top) / widthEv, s.smearing ?? 'gaussian') * scale);
    }
  });
  return Number.isFinite(max) ? max : undefined;
}
