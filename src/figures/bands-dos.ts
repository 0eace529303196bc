/**
 * Publication figures rendered in Node without a browser: Vega-Lite → Vega (renderer 'none') → SVG → PNG
 * (@resvg/resvg-js with the system fonts).
 *
 * plotBandsDos: a band structure (left) and, optionally, its DOS with projections (right) on one energy axis.
 * The SVG is laid out at about 860 × 640 units with every text ≥ 14 units; the PNG is that SVG scaled to
 * `widthPx` (default 1200 px, so texts are ≥ 19 px there, about 12 pt or more on a page-wide print).
 */
import { writeFileSync } from 'node:fs';
import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import * as vl from 'vega-lite';
import { normalizeKLabel } from '../domain/structure/kpath.ts';

export type EnergyReferenceLabel = 'E − E_VBM' | 'E − E_F';

export interface BandsDosFigureInput {
  bands: {
    /** Path distance of every k-point (Å⁻¹); a repeated distance marks a jump (the lines break there). */
    distances: readonly number[];
    /** [k][band], eV, already aligned (0 = VBM or E_F). */
    eigenvaluesEv: readonly (readonly number[])[];
    /** Spin down of a spin-polarised run, aligned the same way (drawn dashed). */
    eigenvaluesDownEv?: readonly (readonly number[])[];
    /** High-symmetry points; labels at the same distance are joined ('K|U'); G/GAMMA are written Γ. */
    labels: readonly { distance: number; label: string }[];
  };
  dos?: {
    /** Aligned like the bands. */
    energiesEv: readonly number[];
    dos: readonly number[];
    /** Projected DOS (e.g. sumPdos of projwfc.x); on their own energy grid when `energiesEv` is given. */
    projections?: readonly { label: string; values: readonly number[]; energiesEv?: readonly number[] }[];
  };
  title?: string;
  /** Energy range shown, eV (default: the bands' range). */
  energyWindow?: [number, number];
  referenceLabel: EnergyReferenceLabel;
}

export interface FigureOptions {
  svgPath?: string;
  /** Written when given; the PNG is also returned when `png` is true. */
  pngPath?: string;
  png?: boolean;
  /** PNG width in pixels (default 1200). */
  widthPx?: number;
}

export interface FigureOutput {
  svg: string;
  png?: Buffer;
  /** The Vega-Lite spec that was rendered. */
  spec: Record<string, unknown>;
}

/** Vega-Lite names of the marks: the SVG has one `<g class="mark-line role-mark bandLines_marks">` per band line. */
export const BAND_LINE_MARK = 'bandLines';
export const BAND_LINE_DOWN_MARK = 'bandLinesDown';

const FONT = 'DejaVu Sans';
const BAND_COLOR = '#1f3f8f';
const DOWN_COLOR = '#c0392b';
const PALETTE = ['#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#17becf', '#8c564b', '#e377c2', '#bcbd22'];

const REFERENCE_TEXT: Record<EnergyReferenceLabel, string> = { 'E − E_VBM': 'VBM', 'E − E_F': 'Fermi level' };

function checkInput(input: BandsDosFigureInput): void {
  const { distances, eigenvaluesEv, eigenvaluesDownEv, labels } = input.bands;
  if (distances.length < 2) throw new Error('bands: need at least two k-points');
  if (eigenvaluesEv.length !== distances.length) throw new Error(`bands: ${eigenvaluesEv.length} eigenvalue rows for ${distances.length} distances`);
  if (eigenvaluesDownEv && eigenvaluesDownEv.length !== distances.length) throw new Error('bands: spin-down rows do not match the distances');
  for (let i = 1; i < distances.length; i++) {
    if (!(distances[i]! >= distances[i - 1]!)) throw new Error(`bands: distances must not decrease (index ${i})`);
  }
  if (!labels.length) throw new Error('bands: give the high-symmetry labels');
  if (input.dos) {
    const { energiesEv, dos, projections } = input.dos;
    if (dos.length !== energiesEv.length) throw new Error('dos: dos and energies differ in length');
    for (const p of projections ?? []) {
      if (p.values.length !== (p.energiesEv ?? energiesEv).length) throw new Error(`dos: projection ${p.label} differs in length from its energies`);
    }
  }
  if (input.energyWindow && !(input.energyWindow[0] < input.energyWindow[1])) throw new Error('energyWindow must be [min, max] with min < max');
}

/** Rows for the line marks: one line per band and continuous piece of the path (pieces split at jumps). */
function bandRows(distances: readonly number[], eig: readonly (readonly number[])[]): { d: number; e: number; i: number; line: string }[] {
  const rows: { d: number; e: number; i: number; line: string }[] = [];
  const nb = Math.min(...eig.map((r) => r.length));
  for (let b = 0; b < nb; b++) {
    let piece = 0;
    for (let i = 0; i < distances.length; i++) {
      if (i > 0 && distances[i] === distances[i - 1]) piece++;
      rows.push({ d: distances[i]!, e: eig[i]![b]!, i, line: `${b}:${piece}` });
    }
  }
  return rows;
}

/** The number of band lines plotBandsDos draws for these bands (bands × continuous pieces of the path, per spin). */
export function bandLineCount(bands: BandsDosFigureInput['bands']): number {
  const jumps = bands.distances.filter((d, i) => i > 0 && d === bands.distances[i - 1]).length;
  const nb = Math.min(...bands.eigenvaluesEv.map((r) => r.length));
  const nd = bands.eigenvaluesDownEv ? Math.min(...bands.eigenvaluesDownEv.map((r) => r.length)) : 0;
  return (nb + nd) * (jumps + 1);
}

/** High-symmetry ticks: labels at (nearly) the same distance are joined with '|'. */
function ticks(labels: BandsDosFigureInput['bands']['labels'], span: number): { d: number; label: string }[] {
  const sorted = [...labels].sort((a, b) => a.distance - b.distance);
  const out: { d: number; label: string }[] = [];
  for (const l of sorted) {
    const name = normalizeKLabel(l.label);
    const last = out[out.length - 1];
    if (last && Math.abs(last.d - l.distance) <= 1e-6 * Math.max(1, span)) {
      if (last.label !== name) last.label = `${last.label}|${name}`;
    } else out.push({ d: l.distance, label: name });
  }
  return out;
}

/** The Vega-Lite spec of plotBandsDos (pure; exported for inspection and tests). */
export function bandsDosSpec(input: BandsDosFigureInput): Record<string, unknown> {
  checkInput(input);
  const { distances, eigenvaluesEv, eigenvaluesDownEv, labels } = input.bands;
  const dMin = distances[0]!;
  const dMax = distances[distances.length - 1]!;
  const span = dMax - dMin;
  const all = [...eigenvaluesEv, ...(eigenvaluesDownEv ?? [])].flat();
  const [eLo, eHi] = input.energyWindow ?? [Math.min(...all), Math.max(...all)];
  const pad = input.energyWindow ? 0 : 0.02 * (eHi - eLo);
  const window: [number, number] = [eLo - pad, eHi + pad];
  const tk = ticks(labels, span);
  const labelExpr =
    tk.map((t) => `abs(datum.value - ${t.d}) < ${Math.max(1e-9, 1e-6 * span)} ? ${JSON.stringify(t.label)} : `).join('') + "''";
  const height = 560;
  const bandsWidth = input.dos ? 580 : 760;
  const yScale = { domain: window, nice: false, zero: false };
  const refText = REFERENCE_TEXT[input.referenceLabel];

  const bandLayers: Record<string, unknown>[] = [
    {
      data: { values: tk.map((t) => ({ d: t.d })) },
      mark: { type: 'rule', color: '#9a9a9a', strokeWidth: 1 },
      encoding: { x: { field: 'd', type: 'quantitative' } },
    },
    {
      data: { values: [{ e: 0 }] },
      mark: { type: 'rule', color: '#555555', strokeDash: [8, 5], strokeWidth: 1.2 },
      encoding: { y: { field: 'e', type: 'quantitative' } },
    },
    {
      name: BAND_LINE_MARK,
      data: { values: bandRows(distances, eigenvaluesEv) },
      mark: { type: 'line', clip: true, color: BAND_COLOR, strokeWidth: 2, interpolate: 'linear' },
      encoding: {
        x: {
          field: 'd',
          type: 'quantitative',
          scale: { domain: [dMin, dMax], nice: false, zero: false },
          axis: {
            title: null,
            values: tk.map((t) => t.d),
            labelExpr,
            labelFontSize: 19,
            labelFlush: false,
            labelOverlap: false,
            grid: false,
            ticks: true,
          },
        },
        y: { field: 'e', type: 'quantitative', scale: yScale, axis: { title: 'Energy (eV)', grid: false } },
        detail: { field: 'line', type: 'nominal' },
        order: { field: 'i', type: 'quantitative' },
      },
    },
  ];
  if (eigenvaluesDownEv) {
    bandLayers.push({
      name: BAND_LINE_DOWN_MARK,
      data: { values: bandRows(distances, eigenvaluesDownEv) },
      mark: { type: 'line', clip: true, color: DOWN_COLOR, strokeWidth: 1.6, strokeDash: [6, 3] },
      encoding: {
        x: { field: 'd', type: 'quantitative' },
        y: { field: 'e', type: 'quantitative' },
        detail: { field: 'line', type: 'nominal' },
        order: { field: 'i', type: 'quantitative' },
      },
    });
  }
  // the zero line's name, at the right end of the rightmost panel (in the DOS panel it sits in the gap of an insulator)
  const showRef = window[0] < 0 && window[1] > 0;
  const refLayer = (x: number, field: string): Record<string, unknown> => ({
    data: { values: [{ [field]: x, e: 0 }] },
    mark: { type: 'text', align: 'right', baseline: 'bottom', dx: -5, dy: -4, fontSize: 15, color: '#444444', text: refText },
    encoding: { x: { field, type: 'quantitative' }, y: { field: 'e', type: 'quantitative' } },
  });
  if (showRef && !input.dos) bandLayers.push(refLayer(dMax, 'd'));
  const bandsPanel: Record<string, unknown> = { width: bandsWidth, height, layer: bandLayers };
  const panels: Record<string, unknown>[] = [bandsPanel];

  if (input.dos) {
    const { energiesEv, dos, projections = [] } = input.dos;
    const inWindow = (e: number) => e >= window[0] && e <= window[1];
    const rows: { e: number; v: number; series: string }[] = [];
    energiesEv.forEach((e, i) => {
      if (inWindow(e)) rows.push({ e, v: dos[i]!, series: 'Total' });
    });
    const projRows: { e: number; v: number; series: string }[] = [];
    for (const p of projections) {
      (p.energiesEv ?? energiesEv).forEach((e, i) => {
        if (inWindow(e)) projRows.push({ e, v: p.values[i]!, series: p.label });
      });
    }
    const vmax = Math.max(1e-9, ...rows.map((r) => r.v), ...projRows.map((r) => r.v));
    const series = ['Total', ...projections.map((p) => p.label)];
    const color = {
      field: 'series',
      type: 'nominal',
      scale: { domain: series, range: ['#404040', ...PALETTE] },
      legend: projections.length ? { title: null, orient: 'bottom-right', labelFontSize: 15, symbolStrokeWidth: 3, fillColor: 'white', padding: 6 } : null,
    };
    const x = { field: 'v', type: 'quantitative', scale: { domain: [0, vmax * 1.08], nice: false, zero: true }, axis: { title: 'DOS (states/eV)', grid: false, tickCount: 3 } };
    const y = { field: 'e', type: 'quantitative', scale: yScale, axis: { title: null, labels: false, grid: false } };
    const dosLayers: Record<string, unknown>[] = [
      {
        data: { values: rows },
        mark: { type: 'area', orient: 'horizontal', clip: true, color: '#c8c8c8', opacity: 0.7 },
        encoding: { x, y },
      },
      {
        name: 'dosLines',
        data: { values: [...rows, ...projRows] },
        mark: { type: 'line', clip: true, strokeWidth: 1.8 },
        encoding: { x, y, color, detail: { field: 'series', type: 'nominal' }, order: { field: 'e', type: 'quantitative' } },
      },
      {
        data: { values: [{ e: 0 }] },
        mark: { type: 'rule', color: '#555555', strokeDash: [8, 5], strokeWidth: 1.2 },
        encoding: { y: { field: 'e', type: 'quantitative' } },
      },
    ];
    if (showRef) dosLayers.push(refLayer(vmax * 1.08, 'v'));
    panels.push({ width: 200, height, layer: dosLayers });
  }

  const spec: Record<string, unknown> = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    background: 'white',
    padding: 12,
    config: {
      font: FONT,
      view: { stroke: '#222222', strokeWidth: 1.2 },
      axis: {
        labelFontSize: 16,
        titleFontSize: 19,
        titleFontWeight: 'normal',
        labelColor: '#111111',
        titleColor: '#111111',
        domainColor: '#222222',
        tickColor: '#222222',
        titlePadding: 10,
      },
      legend: { labelFontSize: 15, titleFontSize: 15 },
      title: { fontSize: 21, subtitleFontSize: 15, anchor: 'start', subtitleColor: '#444444' },
      concat: { spacing: 14 },
    },
    hconcat: panels,
    resolve: { scale: { y: 'shared', color: 'independent' } },
  };
  const spinNote = eigenvaluesDownEv ? '; spin up solid, spin down dashed' : '';
  spec.title = { text: input.title ?? '', subtitle: `energies: ${input.referenceLabel}${spinNote}` };
  return spec;
}

/**
 * Band structure (+ DOS) figure as SVG, and PNG when `pngPath` or `png` is given. Writes `svgPath` / `pngPath`
 * when given. Every band is one line (split at path jumps); high-symmetry points are vertical rules with their
 * labels as x ticks; the zero of energy is a dashed line labelled VBM or Fermi level.
 */
export async function plotBandsDos(input: BandsDosFigureInput, options: FigureOptions = {}): Promise<FigureOutput> {
  const spec = bandsDosSpec(input);
  const compiled = vl.compile(spec as unknown as vl.TopLevelSpec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  let svg: string;
  try {
    svg = await view.toSVG();
  } finally {
    view.finalize();
  }
  const out: FigureOutput = { svg, spec };
  if (options.svgPath) writeFileSync(options.svgPath, svg);
  if (options.pngPath || options.png) {
    const widthPx = options.widthPx ?? 1200;
    if (!(Number.isInteger(widthPx) && widthPx >= 100 && widthPx <= 20000)) throw new Error(`widthPx must be an integer in 100..20000, got ${widthPx}`);
    const png = new Resvg(svg, {
      fitTo: { mode: 'width', value: widthPx },
      background: 'white',
      font: { loadSystemFonts: true, defaultFontFamily: FONT },
    })
      .render()
      .asPng();
    out.png = png;
    if (options.pngPath) writeFileSync(options.pngPath, png);
  }
  return out;
}
