/**
 * Do a pw.x stdout and an XML describe the same run? Checked before their values are combined (./parse.ts), so one
 * run's stdout beside another run's XML (a restart that copied its parent's outdir and then failed early, files
 * mixed up by hand, a stale XML) or text that is not pw.x's stdout at all is an error, never a result.
 */
import { PW_FILES, pwXmlPath } from './files.ts';
import type { PwStdoutData } from './pw-stdout.ts';
import type { PwXmlData } from './pw-xml.ts';

/**
 * pw.x prints total energies to 1e-8 Ry and the XML keeps the same number to 15 digits: two runs of one system with
 * slightly different settings differ by more than this (1.7e-5 Ry in aiida-quantumespresso's own vc-relax
 * fixture, whose stdout and XML are of two runs).
 */
export const ENERGY_AGREEMENT_RY = 1e-6;

const FILES = `${PW_FILES.stdout} and ${pwXmlPath().split('/').pop()}`;

/**
 * Why the stdout and the (readable) XML cannot be of one run, or undefined when nothing says so. Compared: the
 * number of atoms, the number of k-points, and the total energy when both say the last SCF converged. A stdout
 * with `JOB DONE` but without the summary every pw.x run prints first (`number of atoms/cell`) is not pw.x's.
 */
export function stdoutXmlDisagreement(s: PwStdoutData, xml: PwXmlData): string | undefined {
  if (s.jobDone && s.nat === undefined) {
    return `${PW_FILES.stdout} says JOB DONE but has none of pw.x's summary (no "number of atoms/cell" line): it is not the stdout of the run that wrote ${pwXmlPath().split('/').pop()}`;
  }
  const differ: string[] = [];
  if (s.nat !== undefined && xml.nat !== undefined && s.nat !== xml.nat) differ.push(`${s.nat} atoms in stdout, ${xml.nat} in the XML`);
  if (s.nks !== undefined && xml.nks !== undefined && s.nks !== xml.nks) differ.push(`${s.nks} k-points in stdout, ${xml.nks} in the XML`);
  const stdoutEnergy = s.frames.at(-1)?.energyRy;
  const converged = s.scfCycles.at(-1)?.state === 'converged' && xml.scfConverged === true;
  if (converged && stdoutEnergy !== undefined && xml.etotRy !== undefined && Math.abs(stdoutEnergy - xml.etotRy) > ENERGY_AGREEMENT_RY) {
    differ.push(`total energy ${stdoutEnergy} Ry in stdout, ${xml.etotRy.toFixed(8)} Ry in the XML`);
  }
  return differ.length ? `${FILES} are not of one run: ${differ.join('; ')}` : undefined;
}
