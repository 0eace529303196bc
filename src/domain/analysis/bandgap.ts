/**
 * Band gaps, band edges, metal detection, energy alignment and simple derived quantities (band widths,
 * parabolic effective masses) from Kohn–Sham eigenvalues on a k-path or a uniform mesh.
 *
 * Pure and deterministic. Energies in eV, path distances in Å⁻¹ with the 2π included (bandsPathDistances or
 * pathDistances of ../codes/qe/bands.ts).
 *
 * Occupations: with `nElectrons`, states are filled at every k-point from the bottom (2 electrons a band, 1 for
 * spin-polarised channels and noncollinear runs). A state left partly filled at some k, or a lowest empty
 * state below the highest filled one elsewhere, makes a metal. Without `nElectrons`, the Fermi level decides:
 * a band that extends more than the tolerance (1 meV) on both sides of E_F makes a metal; otherwise the VBM is
 * the highest energy at or below E_F (+ tolerance: pw.x may put E_F at the VBM) and the CBM the lowest above it.
 *
 * Alignment (LOCAL-STACK.md): insulators are aligned to the VBM, metals to E_F. The "Fermi energy" pw.x and
 * dos.x report for an insulator (tetrahedra, or fixed occupations in a bands run) can lie anywhere in the gap:
 * it is never used as the zero of an insulator.
 */
import type { Vec3 } from '../structure/structure.ts';

/** ħ²/(2 m_e) in eV·Å². */
export const HBAR2_OVER_2ME_EV_A2 = 3.80998;

export type Spin = 'up' | 'down';

export interface KLabel {
  index: number;
  label: string;
}

export interface BandGapInput {
  /** [k][band] in eV (spin up for a spin-polarised run). */
  eigenvaluesEv: readonly (readonly number[])[];
  /** [k][band] in eV, spin down (spin-polarised runs only). */
  eigenvaluesDownEv?: readonly (readonly number[])[];
  /** Number of electrons in the cell (pw.x's `number of electrons` / XML nelec). */
  nElectrons?: number;
  /** Fermi energy, eV: needed for metals (alignment and crossing bands); used alone when nElectrons is absent. */
  fermiEnergyEv?: number;
  /** Noncollinear / spin-orbit run: one electron per band. */
  noncollinear?: boolean;
  /** Coordinates to report with the band edges (any units; say which in your output). */
  kpoints?: readonly Vec3[];
  /** High-symmetry labels at k-point indices (expandKPath(...).labels). */
  labels?: readonly KLabel[];
  /** Path distances in Å⁻¹ (2π included): enables effective masses and distance-based segment fractions. */
  distances?: readonly number[];
  /** Indices where the path jumps (expandKPath(...).breaks): fits never cross them. */
  breaks?: readonly number[];
  /** What the k-points are: a path (bands run) or a uniform mesh (scf/nscf). Only adds a note for a mesh. */
  source?: 'path' | 'mesh';
  /** Energies closer than this are degenerate / the same extremum (default 1e-3 eV). */
  toleranceEv?: number;
  /** Points on each side of a band edge used by the parabolic fit (default 3). */
  fitPoints?: number;
}

export interface KLocation {
  kIndex: number;
  kpoint?: Vec3;
  /** The high-symmetry label when the k-point is one. */
  label?: string;
  /** Between two labelled points: where along the segment (0 = from, 1 = to), by path distance when known. */
  segment?: { from: string; to: string; fraction: number };
}

export interface BandEdge extends KLocation {
  energyEv: number;
  /** 0-based band index (within its spin channel). */
  band: number;
  spin?: Spin;
  /** Other k-points where the same edge energy (within the tolerance) is reached, e.g. Γ at both ends of a path. */
  alsoAt: KLocation[];
}

export interface EffectiveMass {
  edge: 'vbm' | 'cbm';
  band: number;
  spin?: Spin;
  kIndex: number;
  /** 'Γ→X' (one-sided fit from the edge towards X), 'along Γ–X' (two-sided fit inside a segment). */
  direction: string;
  /**
   * Carrier mass in units of m_e: ħ²/(2 m_e) / a for electrons and −ħ²/(2 m_e) / a for holes, where a (eV·Å²) is
   * the fitted curvature E ≈ E0 + a·(k − k0)² (+ linear term for the two-sided fit). Negative when the band
   * does not curve away from the gap in that direction (the edge is not an extremum there; see `extremum`).
   */
  massMe: number;
  curvatureEvA2: number;
  /** Points used besides the edge point. */
  points: number;
  /** Root-mean-square residual of the fit, eV. */
  rmsEv: number;
  /** Largest |k − k0| used, Å⁻¹. */
  rangeInvAngstrom: number;
  extremum: boolean;
}

export interface BandWidth {
  band: number;
  spin?: Spin;
  minEv: number;
  maxEv: number;
  widthEv: number;
}

export interface EnergyReference {
  kind: 'vbm' | 'fermi';
  energyEv: number;
  label: 'E − E_VBM' | 'E − E_F';
}

export interface BandGapResult {
  kind: 'insulator' | 'metal';
  method: 'electron-count' | 'fermi-level';
  vbm?: BandEdge;
  cbm?: BandEdge;
  /** CBM − VBM (insulators with empty bands). */
  gapEv?: number;
  /** Whether the smallest direct gap equals the gap (within the tolerance). */
  direct?: boolean;
  /** The smallest CB − VB difference at one k-point, and where. */
  directGap?: KLocation & { energyEv: number };
  fermiEnergyEv?: number;
  /** Metals with a known E_F: the bands whose range contains it. */
  crossingBands?: BandWidth[];
  /** Insulators: bands entirely at or below the VBM. */
  occupiedBands?: number;
  /** Every band of every channel: min, max and width over the k-points given. */
  bandWidths: BandWidth[];
  /**
   * Insulators: VBM − the bottom of the lowest band (total valence-band width); metals with E_F: E_F − the bottom of
   * the lowest band (occupied bandwidth).
   */
  valenceBandWidthEv?: number;
  /** Parabolic fits at the band edges, for every band degenerate at the edge (needs `distances`). */
  effectiveMasses: EffectiveMass[];
  /** The zero for plots: the VBM for insulators, E_F for metals (undefined for a metal without E_F). */
  reference?: EnergyReference;
  notes: string[];
}

interface State {
  e: number;
  band: number;
  spin?: Spin;
}

const r6 = (x: number) => Math.round(x * 1e6) / 1e6 + 0;
const r4 = (x: number) => Math.round(x * 1e4) / 1e4 + 0;

/**
 * Analyse the eigenvalues: VBM, CBM, gap (direct or indirect) and where, the smallest direct gap, metal
 * detection, band widths, effective masses at the edges, and the energy reference for plots.
 * Throws on inconsistent input (ragged arrays, too few bands for the electrons, neither nElectrons nor E_F).
 */
export function analyzeBandGap(input: BandGapInput): BandGapResult {
  const tol = input.toleranceEv ?? 1e-3;
  const channels: { spin?: Spin; eig: readonly (readonly number[])[] }[] = input.eigenvaluesDownEv
    ? [
        { spin: 'up', eig: input.eigenvaluesEv },
        { spin: 'down', eig: input.eigenvaluesDownEv },
      ]
    : [{ eig: input.eigenvaluesEv }];
  const nk = input.eigenvaluesEv.length;
  if (nk === 0) throw new Error('no k-points');
  for (const ch of channels) {
    if (ch.eig.length !== nk) throw new Error('spin channels have different numbers of k-points');
    const nb = ch.eig[0]!.length;
    if (nb === 0 || ch.eig.some((row) => row.length !== nb || !row.every(Number.isFinite))) {
      throw new Error('eigenvalues must be a rectangular [k][band] array of finite numbers');
    }
  }
  for (const [what, arr] of [['kpoints', input.kpoints], ['distances', input.distances]] as const) {
    if (arr && arr.length !== nk) throw new Error(`${what} has ${arr.length} entries for ${nk} k-points`);
  }
  const perState = input.eigenvaluesDownEv || input.noncollinear ? 1 : 2;
  const notes: string[] = [];
  if (input.source === 'mesh') {
    notes.push('band edges from a uniform k-mesh: an edge between mesh points (e.g. the CBM of Si along Γ–X) is missed; a path or a denser mesh can give a smaller gap');
  }

  const bandWidths: BandWidth[] = [];
  for (const ch of channels) {
    const nb = ch.eig[0]!.length;
    for (let b = 0; b < nb; b++) {
      let min = Infinity;
      let max = -Infinity;
      for (const row of ch.eig) {
        min = Math.min(min, row[b]!);
        max = Math.max(max, row[b]!);
      }
      bandWidths.push(withSpin({ band: b, minEv: r6(min), maxEv: r6(max), widthEv: r6(max - min) }, ch.spin));
    }
  }
  const bottom = Math.min(...bandWidths.map((w) => w.minEv));

  // per-k highest filled and lowest empty state
  const vb: (State | undefined)[] = [];
  const cb: (State | undefined)[] = [];
  let method: BandGapResult['method'];
  let metal = false;
  const ef = input.fermiEnergyEv;
  if (input.nElectrons !== undefined) {
    method = 'electron-count';
    const nel = input.nElectrons;
    if (!(nel > 0) || !Number.isFinite(nel)) throw new Error(`nElectrons must be a positive number, got ${nel}`);
    for (let k = 0; k < nk; k++) {
      const states: State[] = [];
      for (const ch of channels) ch.eig[k]!.forEach((e, band) => states.push(withSpin({ e, band }, ch.spin)));
      states.sort((a, b) => a.e - b.e);
      let left = nel;
      let i = 0;
      for (; i < states.length && left > 1e-6; i++) {
        if (left < perState - 1e-6) {
          metal = true; // a partly filled state
          break;
        }
        left -= perState;
      }
      if (left > 1e-6 && i >= states.length) {
        throw new Error(`${states.length} states hold ${states.length * perState} electrons, fewer than the ${nel} given`);
      }
      vb.push(i > 0 ? states[i - 1] : undefined);
      cb.push(states[i]);
    }
    if (metal) notes.push(`${nel} electrons leave a band partly filled: metal`);
  } else if (ef !== undefined) {
    method = 'fermi-level';
    for (let k = 0; k < nk; k++) {
      let below: State | undefined;
      let above: State | undefined;
      for (const ch of channels) {
        ch.eig[k]!.forEach((e, band) => {
          if (e <= ef + tol && (!below || e > below.e)) below = withSpin({ e, band }, ch.spin);
          if (e > ef + tol && (!above || e < above.e)) above = withSpin({ e, band }, ch.spin);
        });
      }
      vb.push(below);
      cb.push(above);
    }
  } else {
    throw new Error('give nElectrons or fermiEnergyEv: without either, occupied and empty bands cannot be told apart');
  }

  const crossing = ef === undefined ? [] : bandWidths.filter((w) => w.minEv < ef - tol && w.maxEv > ef + tol);
  if (method === 'fermi-level' && crossing.length) metal = true;

  // the extreme state; among k-points equal to it within numerical noise (1e-5 eV: Γ twice on a path), the first
  const argBest = (arr: (State | undefined)[], better: (a: number, b: number) => boolean): number => {
    let best = -1;
    arr.forEach((s, k) => {
      if (s && (best < 0 || better(s.e, arr[best]!.e))) best = k;
    });
    if (best < 0) return best;
    return arr.findIndex((s) => s !== undefined && Math.abs(s.e - arr[best]!.e) <= 1e-5);
  };
  const kv = argBest(vb, (a, b) => a > b);
  const kc = argBest(cb, (a, b) => a < b);
  if (!metal && kv >= 0 && kc >= 0 && cb[kc]!.e - vb[kv]!.e <= 0) {
    metal = true;
    notes.push(`the lowest empty state (${r4(cb[kc]!.e)} eV) lies below the highest filled one (${r4(vb[kv]!.e)} eV): bands overlap, metal (semimetal)`);
  }

  const result: BandGapResult = { kind: metal ? 'metal' : 'insulator', method, bandWidths, effectiveMasses: [], notes };
  if (ef !== undefined) result.fermiEnergyEv = ef;

  if (metal) {
    if (ef !== undefined) {
      result.crossingBands = crossing;
      result.valenceBandWidthEv = r6(ef - bottom);
      result.reference = { kind: 'fermi', energyEv: ef, label: 'E − E_F' };
      if (method === 'electron-count' && crossing.length === 0) notes.push('the electron count says metal but no band crosses the Fermi energy given');
    } else {
      notes.push('metal without a Fermi energy: give fermiEnergyEv (from the scf/nscf) to align and to find the crossing bands');
    }
    return result;
  }

  if (kv < 0) throw new Error('no filled state at any k-point');
  const edge = (arr: (State | undefined)[], k0: number): BandEdge => {
    const s = arr[k0]!;
    const alsoAt: KLocation[] = [];
    arr.forEach((x, k) => {
      if (k !== k0 && x && Math.abs(x.e - s.e) <= tol) alsoAt.push(locate(input, k));
    });
    return withSpin({ ...locate(input, k0), energyEv: r6(s.e), band: s.band, alsoAt }, s.spin);
  };
  result.vbm = edge(vb, kv);
  result.reference = { kind: 'vbm', energyEv: result.vbm.energyEv, label: 'E − E_VBM' };
  const vbmEv = vb[kv]!.e;
  result.valenceBandWidthEv = r6(vbmEv - bottom);
  result.occupiedBands = bandWidths.filter((w) => w.maxEv <= vbmEv + 1e-5).length;
  if (kc < 0) {
    notes.push('no empty band at any k-point: the gap is unknown (compute more bands, e.g. nbnd = occupied + 4)');
  } else {
    result.cbm = edge(cb, kc);
    const cbmEv = cb[kc]!.e;
    result.gapEv = r6(cbmEv - vbmEv);
    let kd = -1;
    for (let k = 0; k < nk; k++) {
      if (vb[k] && cb[k] && (kd < 0 || cb[k]!.e - vb[k]!.e < cb[kd]!.e - vb[kd]!.e)) kd = k;
    }
    const direct = cb[kd]!.e - vb[kd]!.e;
    result.directGap = { ...locate(input, kd), energyEv: r6(direct) };
    result.direct = direct - (cbmEv - vbmEv) <= tol;
  }
  if (ef !== undefined && method === 'electron-count') {
    if (ef > vbmEv + 0.01) {
      notes.push(`the Fermi energy given (${r4(ef)} eV) lies ${r4(ef - vbmEv)} eV above the VBM, inside the gap: energies are aligned to the VBM, not to it`);
    } else if (ef < vbmEv - 0.01) {
      notes.push(`the Fermi energy given (${r4(ef)} eV) lies below the VBM (${r4(vbmEv)} eV): is it from another calculation?`);
    }
  }

  if (input.distances) {
    const d = input.distances;
    for (const [which, arr, k0] of [['vbm', vb, kv], ['cbm', cb, kc]] as const) {
      if (k0 < 0) continue;
      const e0 = arr[k0]!.e;
      const ks = [k0, ...arr.flatMap((x, k) => (k !== k0 && x && Math.abs(x.e - e0) <= tol ? [k] : []))];
      const seen = new Set<string>();
      for (const k of ks) {
        for (const ch of channels) {
          ch.eig[k]!.forEach((e, band) => {
            if (Math.abs(e - e0) > tol) return;
            const column = ch.eig.map((row) => row[band]!);
            for (const m of effectiveMassesAt(column, d, k, which, input, band, ch.spin)) {
              const key = `${m.band}/${m.spin ?? ''}/${m.direction}`;
              if (!seen.has(key)) {
                seen.add(key);
                result.effectiveMasses.push(m);
              }
            }
          });
        }
      }
    }
  }
  return result;
}

function withSpin<T extends object>(x: T, spin: Spin | undefined): T & { spin?: Spin } {
  return spin ? { ...x, spin } : x;
}

function labelAt(input: Pick<BandGapInput, 'labels'>, k: number): string | undefined {
  const hits = input.labels?.filter((l) => l.index === k) ?? [];
  return hits.length ? hits.map((l) => l.label).join('|') : undefined;
}

/** Where k-point k is: coordinates, label, or the segment between labels it lies on. */
export function locate(input: Pick<BandGapInput, 'kpoints' | 'labels' | 'distances' | 'breaks'>, k: number): KLocation {
  const loc: KLocation = { kIndex: k };
  const kp = input.kpoints?.[k];
  if (kp) loc.kpoint = [kp[0], kp[1], kp[2]];
  const labels = input.labels ?? [];
  const label = labelAt(input, k);
  if (label) {
    loc.label = label;
    return loc;
  }
  let from: KLabel | undefined;
  let to: KLabel | undefined;
  for (const l of labels) {
    if (l.index < k && (!from || l.index > from.index)) from = l;
    if (l.index > k && (!to || l.index < to.index)) to = l;
  }
  if (from && to && !(input.breaks ?? []).some((b) => b > from.index && b <= to.index)) {
    const d = input.distances;
    const span = d ? d[to.index]! - d[from.index]! : to.index - from.index;
    const pos = d ? d[k]! - d[from.index]! : k - from.index;
    if (span > 0) loc.segment = { from: from.label, to: to.label, fraction: Math.round((pos / span) * 1000) / 1000 };
  }
  return loc;
}

/** Indices walking from k in direction s (±1) while staying on one straight segment: stop after a label, before a break. */
function sidePoints(input: BandGapInput, nk: number, k: number, s: 1 | -1, max: number): number[] {
  const breaks = new Set(input.breaks ?? []);
  const labelIdx = new Set((input.labels ?? []).map((l) => l.index));
  const out: number[] = [];
  let j = k;
  while (out.length < max) {
    const next = j + s;
    if (next < 0 || next >= nk) break;
    if (breaks.has(s > 0 ? next : j)) break; // the step between j and next is a jump
    const dd = Math.abs(input.distances![next]! - input.distances![j]!);
    if (dd <= 1e-12) break;
    out.push(next);
    j = next;
    if (labelIdx.has(next)) break;
  }
  return out;
}

function nameOf(input: BandGapInput, k: number): string {
  return labelAt(input, k) ?? `k${k}`;
}

/** The label the walk from k in direction s reaches first (else the last index's name). */
function towards(input: BandGapInput, nk: number, k: number, s: 1 | -1): string {
  const breaks = new Set(input.breaks ?? []);
  for (let j = k + s; j >= 0 && j < nk; j += s) {
    if (breaks.has(s > 0 ? j : j + 1)) return nameOf(input, j - s);
    const l = labelAt(input, j);
    if (l) return l;
  }
  return nameOf(input, s > 0 ? nk - 1 : 0);
}

function effectiveMassesAt(
  column: number[],
  distances: readonly number[],
  k: number,
  edge: 'vbm' | 'cbm',
  input: BandGapInput,
  band: number,
  spin: Spin | undefined,
): EffectiveMass[] {
  const n = Math.max(1, input.fitPoints ?? 3);
  const nk = column.length;
  const left = sidePoints(input, nk, k, -1, n);
  const right = sidePoints(input, nk, k, 1, n);
  const e0 = column[k]!;
  const d0 = distances[k]!;
  const sign = edge === 'cbm' ? 1 : -1;
  const out: EffectiveMass[] = [];
  const make = (direction: string, a: number, pts: number[], rms: number): EffectiveMass => {
    const mass = a === 0 ? Infinity : (sign * HBAR2_OVER_2ME_EV_A2) / a;
    return withSpin(
      {
        edge,
        band,
        kIndex: k,
        direction,
        massMe: r4(mass),
        curvatureEvA2: r4(a),
        points: pts.length,
        rmsEv: r6(rms),
        rangeInvAngstrom: r4(Math.max(...pts.map((j) => Math.abs(distances[j]! - d0)))),
        extremum: mass > 0,
      },
      spin,
    );
  };
  const interior = !labelAt(input, k) && left.length > 0 && right.length > 0 && left.length + right.length >= 3;
  if (interior) {
    // E − E0 = c0 + c1·x + a·x², x = d − d0, least squares over both sides and the edge point
    const pts = [...left, ...right];
    const xs = [0, ...pts.map((j) => distances[j]! - d0)];
    const ys = [0, ...pts.map((j) => column[j]! - e0)];
    const c = quadraticFit(xs, ys);
    if (c) {
      const rms = Math.sqrt(xs.reduce((acc, x, i) => acc + (c[0] + c[1] * x + c[2] * x * x - ys[i]!) ** 2, 0) / xs.length);
      const from = towards(input, nk, k, -1);
      const to = towards(input, nk, k, 1);
      out.push(make(`along ${from}–${to}`, c[2], pts, rms));
    }
    return out;
  }
  for (const [s, pts] of [[-1, left], [1, right]] as const) {
    if (pts.length < 2) continue;
    // one-sided: E − E0 = a·x² (zero slope at an extremum), a = Σx²y / Σx⁴
    let sx4 = 0;
    let sx2y = 0;
    for (const j of pts) {
      const x = distances[j]! - d0;
      sx4 += x ** 4;
      sx2y += x * x * (column[j]! - e0);
    }
    const a = sx2y / sx4;
    const rms = Math.sqrt(pts.reduce((acc, j) => acc + (a * (distances[j]! - d0) ** 2 - (column[j]! - e0)) ** 2, 0) / pts.length);
    out.push(make(`${nameOf(input, k)}→${towards(input, nk, k, s)}`, a, pts, rms));
  }
  return out;
}

/** Least-squares c0 + c1 x + c2 x² (normal equations, Cramer's rule); undefined when singular. */
function quadraticFit(xs: number[], ys: number[]): [number, number, number] | undefined {
  const s = [0, 0, 0, 0, 0];
  const t = [0, 0, 0];
  xs.forEach((x, i) => {
    for (let p = 0; p < 5; p++) s[p]! += x ** p;
    for (let p = 0; p < 3; p++) t[p]! += ys[i]! * x ** p;
  });
  const m = [
    [s[0]!, s[1]!, s[2]!],
    [s[1]!, s[2]!, s[3]!],
    [s[2]!, s[3]!, s[4]!],
  ];
  const det3 = (a: number[][]) =>
    a[0]![0]! * (a[1]![1]! * a[2]![2]! - a[1]![2]! * a[2]![1]!) -
    a[0]![1]! * (a[1]![0]! * a[2]![2]! - a[1]![2]! * a[2]![0]!) +
    a[0]![2]! * (a[1]![0]! * a[2]![1]! - a[1]![1]! * a[2]![0]!);
  const det = det3(m);
  if (Math.abs(det) < 1e-14) return undefined;
  const col = (c: number) => m.map((row, i) => row.map((v, j) => (j === c ? t[i]! : v)));
  return [det3(col(0)) / det, det3(col(1)) / det, det3(col(2)) / det];
}

/** Eigenvalues minus a reference (a number in eV, or the `reference` of analyzeBandGap). */
export function alignEnergies(eigenvaluesEv: readonly (readonly number[])[], reference: number | { energyEv: number }): number[][] {
  const ref = typeof reference === 'number' ? reference : reference.energyEv;
  if (!Number.isFinite(ref)) throw new Error('the energy reference must be a finite number');
  return eigenvaluesEv.map((row) => row.map((e) => e - ref + 0)); // + 0: no -0 (JSON)
}

/** The zero for plots (VBM for insulators, E_F for metals); throws for a metal whose Fermi energy is unknown. */
export function energyReference(result: BandGapResult): EnergyReference {
  if (!result.reference) throw new Error('no energy reference: a metal needs its Fermi energy (fermiEnergyEv)');
  return result.reference;
}

/**
 * The band gap an analysis reports and where it really comes from: the band structure when it decides (an
 * insulator's CBM − VBM along the path; 0 for a metal), else the scf's own levels on its k-mesh (no bands run, or
 * a path without an empty band), else none.
 */
export function reportedBandGap(
  path: { gap: { kind: BandGapResult['kind']; gapEv?: number }; description: string } | undefined,
  scf: { bandGapEv?: number },
): { gapEv?: number; from: 'band structure' | 'scf' | 'none'; source: string } {
  if (path?.gap.kind === 'metal') return { gapEv: 0, from: 'band structure', source: `band structure along ${path.description}: a metal` };
  if (path?.gap.gapEv !== undefined) return { gapEv: path.gap.gapEv, from: 'band structure', source: `band structure along ${path.description}` };
  const why = path ? ' (the band structure has no empty band)' : '';
  if (scf.bandGapEv !== undefined) return { gapEv: scf.bandGapEv, from: 'scf', source: `scf k-mesh HOMO/LUMO${why}` };
  return { from: 'none', source: `none: no gap from the scf k-mesh${path ? ' nor from the band structure' : ''}` };
}

/** The gap's character as people say it: a metal, or a direct / indirect gap. */
export function gapCharacter(gap: { kind: BandGapResult['kind']; direct?: boolean }): 'metal' | 'direct' | 'indirect' {
  return gap.kind === 'metal' ? 'metal' : gap.direct ? 'direct' : 'indirect';
}
