/**
 * pw.x protocols: fast / moderate / precise.
 *
 * Numbers from aiida-quantumespresso's PwBaseWorkChain protocol file
 * `src/aiida_quantumespresso/workflows/protocols/pw/base.yaml` (aiidateam/aiida-quantumespresso, as of
 * commit 17f0fd89 "Protocols: Update k-point sampling protocols", 2025-03-28, unchanged since). That
 * commit renamed moderate → balanced and precise → stringent; aiida keeps the old names as aliases,
 * and so do our three names. Shared by all three (aiida `default_inputs`): cold smearing,
 * `electron_maxstep` 80, `mixing_beta` 0.4, `tprnfor`/`tstress` true, force parity off, at most 5
 * restarts. `conv_thr` and `etot_conv_thr` are given per atom and multiplied by the number of atoms;
 * `forc_conv_thr` is not scaled.
 *
 * Ours, not aiida's (aiida switches between SSSP efficiency/precision families instead):
 * - `cutoffScale`: multiplier on the pseudo family's cutoffs (1, 1, 1.25).
 * - `stressThresholdKbar`: the relax loop's convergence bound on |pressure| / stress, written as
 *   `press_conv_thr` for vc-relax. 0.5 kbar for moderate is aiida's PwRelaxWorkChain value
 *   (`press_conv_thr: 0.5` in `protocols/pw/relax.yaml`, same for all its protocols); 1.0 (fast)
 *   and 0.1 (precise) are our choice.
 * - `volumeConvergence`: relative volume change below which a vc-relax need not be rerun from the
 *   new cell; from aiida's relax.yaml before its 2025-09 rework (fast 0.05, moderate 0.02,
 *   precise 0.01).
 * - `nstep`: pw.x's own default for relaxations (50), written explicitly.
 */

import { isProtocolName, PROTOCOL_NAMES, type ProtocolName } from '../../protocols.ts';

export interface PwProtocol {
  name: ProtocolName;
  description: string;
  /** k-point spacing in Å⁻¹ with 2π included (see structure/kpoints.ts). */
  kpointsDistance: number;
  /** Round odd mesh counts up to even. */
  kpointsForceParity: boolean;
  /** ELECTRONS.conv_thr per atom, Ry. */
  convThrPerAtom: number;
  /** CONTROL.etot_conv_thr per atom, Ry. */
  etotConvThrPerAtom: number;
  /** CONTROL.forc_conv_thr, Ry/bohr (not scaled). */
  forcConvThr: number;
  /** SYSTEM.smearing for metals. */
  smearing: 'cold';
  /** SYSTEM.degauss for metals, Ry. */
  degauss: number;
  /** ELECTRONS.electron_maxstep. */
  electronMaxstep: number;
  /** ELECTRONS.mixing_beta. */
  mixingBeta: number;
  /** CONTROL.nstep for relax / vc-relax. */
  nstep: number;
  /** Multiplier on the pseudo family's recommended cutoffs. */
  cutoffScale: number;
  /** Stress / pressure convergence bound of the relax loop, kbar (CELL.press_conv_thr). */
  stressThresholdKbar: number;
  /** Relative volume change that is small enough to stop re-relaxing. */
  volumeConvergence: number;
  /** Bound on restarts of one calculation by the error handlers. */
  maxIterations: number;
}

const SHARED = {
  kpointsForceParity: false,
  smearing: 'cold',
  electronMaxstep: 80,
  mixingBeta: 0.4,
  nstep: 50,
  maxIterations: 5,
} as const;

export const PROTOCOLS: Readonly<Record<ProtocolName, Readonly<PwProtocol>>> = {
  fast: {
    ...SHARED,
    name: 'fast',
    description: 'Low precision at minimal cost, for testing (aiida "fast").',
    kpointsDistance: 0.3,
    convThrPerAtom: 0.4e-9,
    etotConvThrPerAtom: 1e-4,
    forcConvThr: 1e-3,
    degauss: 0.0275,
    cutoffScale: 1,
    stressThresholdKbar: 1.0,
    volumeConvergence: 0.05,
  },
  moderate: {
    ...SHARED,
    name: 'moderate',
    description: 'Normal precision at moderate cost (aiida "balanced", formerly "moderate").',
    kpointsDistance: 0.15,
    convThrPerAtom: 0.2e-9,
    etotConvThrPerAtom: 1e-5,
    forcConvThr: 1e-4,
    degauss: 0.02,
    cutoffScale: 1,
    stressThresholdKbar: 0.5,
    volumeConvergence: 0.02,
  },
  precise: {
    ...SHARED,
    name: 'precise',
    description: 'High precision at higher cost (aiida "stringent", formerly "precise").',
    kpointsDistance: 0.1,
    convThrPerAtom: 0.1e-9,
    etotConvThrPerAtom: 0.5e-5,
    forcConvThr: 0.5e-4,
    degauss: 0.0125,
    cutoffScale: 1.25,
    stressThresholdKbar: 0.1,
    volumeConvergence: 0.01,
  },
};

/** The protocol of that name; throws listing the valid names otherwise. */
export function getProtocol(name: string): PwProtocol {
  if (!isProtocolName(name)) throw new Error(`unknown protocol '${name}': expected one of ${PROTOCOL_NAMES.join(', ')}`);
  return PROTOCOLS[name];
}
