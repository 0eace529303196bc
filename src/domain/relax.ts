/**
 * The relax loop's meta-convergence (aiida-quantumespresso's PwRelaxWorkChain, seed 001): after each full
 * vc-relax, decide whether the geometry can be trusted or another relaxation is needed. Pure, so the
 * workflow stays deterministic and the rule is unit-tested on its own.
 */
import { PROTOCOLS } from './codes/qe/protocols.ts';
import type { ProtocolName } from './protocols.ts';
import { kMeshDensityOk, kMeshFromDistance } from './structure/kpoints.ts';
import { volume } from './structure/lattice.ts';
import type { Mat3 } from './structure/structure.ts';

export interface RelaxIterationFacts {
  protocol: ProtocolName;
  /** Cell the iteration started from and ended with. */
  latticeBefore: Mat3;
  latticeAfter: Mat3;
  /** The k-mesh the iteration ran with. */
  kMesh: [number, number, number];
  /** Pressure (kbar) of the final SCF, which recomputes the basis on the relaxed cell; undefined if not printed. */
  finalPressureKbar: number | undefined;
  /** The calculation's exit code: 501 means the final SCF's stress exceeded the threshold (Pulay stress). */
  exitCode: number;
}

export interface RelaxVerdict {
  converged: boolean;
  /** Relative volume change of this iteration. */
  volumeChange: number;
  stressOk: boolean;
  meshOk: boolean;
  volumeOk: boolean;
  /** The mesh the next iteration must use (a fresh one when the cell outgrew the old). */
  nextKMesh: [number, number, number];
  reason: string;
}

/**
 * Converged when (a) the final SCF's stress is below the protocol's threshold (no Pulay stress), (b) the k-mesh
 * still meets the protocol's k-point density on the relaxed cell, and (c) the volume changed less than the
 * protocol's volume-convergence fraction in this iteration.
 */
export function relaxVerdict(f: RelaxIterationFacts): RelaxVerdict {
  const p = PROTOCOLS[f.protocol];
  const v0 = volume(f.latticeBefore);
  const v1 = volume(f.latticeAfter);
  const volumeChange = Math.abs(v1 - v0) / v0;
  const stressOk = f.exitCode !== 501 && f.finalPressureKbar !== undefined && Math.abs(f.finalPressureKbar) < p.stressThresholdKbar;
  const meshOk = kMeshDensityOk(f.latticeAfter, f.kMesh, p.kpointsDistance);
  const volumeOk = volumeChange < p.volumeConvergence;
  const reasons: string[] = [];
  if (!stressOk) reasons.push(`final-SCF pressure ${f.finalPressureKbar?.toFixed(2) ?? 'unknown'} kbar is not below ${p.stressThresholdKbar} kbar`);
  if (!meshOk) reasons.push(`the ${f.kMesh.join('x')} mesh is too coarse for the relaxed cell`);
  if (!volumeOk) reasons.push(`volume changed by ${(100 * volumeChange).toFixed(2)} % (≥ ${(100 * p.volumeConvergence).toFixed(1)} %)`);
  return {
    converged: stressOk && meshOk && volumeOk,
    volumeChange,
    stressOk,
    meshOk,
    volumeOk,
    nextKMesh: meshOk ? f.kMesh : kMeshFromDistance(f.latticeAfter, p.kpointsDistance, { forceParity: p.kpointsForceParity }),
    reason: reasons.length ? reasons.join('; ') : 'stress, k-mesh and volume converged',
  };
}
