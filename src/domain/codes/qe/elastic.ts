/**
 * What the elastic analysis (src/domain/elastic, src/workflows/elastic.ts) needs to know about pw.x.
 *
 * The stress sign convention: pw.x prints "total stress" with P = (σ11 + σ22 + σ33) / 3 of the printed tensor
 * (PW/src/stress.f90), so its tensor is pressure-positive: a compressed cell shows positive diagonal entries.
 * Checked with pw.x 6.7 on Si (diamond, LDA, 20 Ry, 4×4×4): a = 5.32 Å (2 % compressed) prints +45.8 kbar on
 * the diagonal and P = +45.8; a = 5.43 Å prints −16.0; a yz shear of +0.5 % prints −10.2 kbar in yz. The
 * elastic convention (src/domain/elastic/voigt.ts) is tension-positive, so σ = −(printed tensor).
 */
import type { CodeParameters } from '../parameters.ts';
import type { ProtocolName } from '../../protocols.ts';
import type { Mat3 } from '../../structure/structure.ts';
import { KBAR_TO_GPA } from '../../units.ts';
import { PROTOCOLS } from './protocols.ts';

/** The tension-positive Cauchy stress (GPa) of the stress tensor pw.x printed (kbar). */
export function cauchyStressGpaOfPwStress(stressKbar: readonly (readonly number[])[]): Mat3 {
  if (stressKbar.length !== 3 || !stressKbar.every((row) => row.length === 3 && row.every(Number.isFinite))) {
    throw new Error('pw.x stress: expected a 3×3 tensor of numbers (kbar)');
  }
  return stressKbar.map((row) => row.map((v) => -v * KBAR_TO_GPA + 0)) as Mat3;
}

/**
 * Force threshold of the fixed-cell relaxations of strained cells, Ry/bohr. A 1 % shear of Si puts about
 * 7·10⁻³ Ry/bohr on its atoms; stopping at the `fast` protocol's 10⁻³ would leave a seventh of the internal
 * relaxation undone (relaxed-ion C44 several GPa too high), so the elastic analysis relaxes to at most this.
 */
export const ELASTIC_FORCE_THRESHOLD_RY_BOHR = 1e-4;

/**
 * The overrides of a strained cell's pw.x run: CONTROL.forc_conv_thr at most ELASTIC_FORCE_THRESHOLD_RY_BOHR
 * (the protocol's when tighter); the caller's own overrides win.
 */
export function strainedCellParameters(protocol: ProtocolName, overrides: CodeParameters): CodeParameters {
  const forc = Math.min(PROTOCOLS[protocol].forcConvThr, ELASTIC_FORCE_THRESHOLD_RY_BOHR);
  return { ...overrides, control: { forc_conv_thr: forc, ...(overrides.control ?? {}) } };
}
