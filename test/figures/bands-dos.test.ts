import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BAND_LINE_DOWN_MARK, BAND_LINE_MARK, bandLineCount, bandsDosSpec, plotBandsDos, type BandsDosFigureInput } from '../../src/figures/bands-dos.ts';
import { alignEnergies, analyzeBandGap } from '../../src/domain/analysis/bandgap.ts';
import { bandsPathDistances, parsePwBands } from '../../src/domain/codes/qe/bands.ts';
import { parseProjwfcPdos, sumPdos } from '../../src/domain/codes/qe/projwfc.ts';
import { describeShared, fixture } from '../support/shared.ts';

/** Band-line paths of a rendered figure: one `<g class="mark-line role-mark <name>_marks">` holding one line path each. */
function countLines(svg: string, mark: string): number {
  const re = new RegExp(`<g class="mark-line role-mark ${mark}_marks"[^>]*>\\s*<path[^>]*role="graphics-symbol"[^>]*aria-roledescription="line mark"`, 'g');
  return svg.match(re)?.length ?? 0;
}

/** The text of every `<text>` element. */
const texts = (svg: string) => [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]!);

function pngSize(png: Uint8Array): { width: number; height: number } {
  expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  expect(String.fromCharCode(...png.subarray(12, 16))).toBe('IHDR');
  return { width: view.getUint32(16), height: view.getUint32(20) };
}

const svgSize = (svg: string) => {
  const m = /<svg[^>]*width="(\d+(?:\.\d+)?)"[^>]*height="(\d+(?:\.\d+)?)"/.exec(svg)!;
  return { width: Number(m[1]), height: Number(m[2]) };
};

/** Three bands on a path Γ–X–K|U–Γ (a jump at K|U), and a DOS with two projections. */
function synthetic(): BandsDosFigureInput {
  const distances: number[] = [];
  for (let i = 0; i <= 10; i++) distances.push(i * 0.1); // Γ → X
  for (let i = 1; i <= 5; i++) distances.push(1 + i * 0.1); // X → K
  distances.push(1.5); // U: same distance, the path jumps
  for (let i = 1; i <= 8; i++) distances.push(1.5 + i * 0.1); // U → Γ
  const eigenvaluesEv = distances.map((d) => [-8 + 2 * Math.cos(d * 3), -Math.abs(Math.sin(d * 2)), 1 + d * d * 0.4]);
  const energiesEv = Array.from({ length: 301 }, (_, i) => -12 + i * 0.05);
  const gauss = (e: number, c: number, w: number) => Math.exp(-(((e - c) / w) ** 2));
  return {
    bands: {
      distances,
      eigenvaluesEv,
      labels: [
        { distance: 0, label: 'G' },
        { distance: 1, label: 'X' },
        { distance: 1.5, label: 'K' },
        { distance: 1.5, label: 'U' },
        { distance: 2.3, label: 'GAMMA' },
      ],
    },
    dos: {
      energiesEv,
      dos: energiesEv.map((e) => gauss(e, -7, 1) + gauss(e, -0.5, 0.5) + gauss(e, 2, 0.8)),
      projections: [
        { label: 'Si s', values: energiesEv.map((e) => 0.8 * gauss(e, -7, 1)) },
        { label: 'Si p', values: energiesEv.map((e) => 0.9 * gauss(e, -0.5, 0.5)) },
      ],
    },
    title: 'Synthetic',
    referenceLabel: 'E − E_VBM',
  };
}

describe('plotBandsDos: synthetic bands and DOS', () => {
  const dir = mkdtempSync(join(tmpdir(), 'crystalmath-fig-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('draws one line per band and path piece, the high-symmetry labels, axis titles and the reference', async () => {
    const input = synthetic();
    const { svg } = await plotBandsDos(input);
    // 3 bands × 2 pieces (the path jumps at K|U)
    expect(bandLineCount(input.bands)).toBe(6);
    expect(countLines(svg, BAND_LINE_MARK)).toBe(6);
    const t = texts(svg);
    expect(t).toContain('Energy (eV)');
    expect(t).toContain('DOS (states/eV)');
    expect(t).toContain('Synthetic');
    expect(t).toContain('energies: E − E_VBM');
    expect(t).toContain('VBM');
    // G and GAMMA written Γ, K and U joined at the jump
    expect(t.filter((x) => x === 'Γ')).toHaveLength(2);
    expect(t).toContain('X');
    expect(t).toContain('K|U');
    expect(t).not.toContain('G');
    expect(t).not.toContain('K');
    // the legend of the projections
    expect(t).toEqual(expect.arrayContaining(['Total', 'Si s', 'Si p']));
    // negative tick labels use a real minus sign
    expect(t.some((x) => /^−\d/.test(x))).toBe(true);
    // the DOS panel: an area (total) and three lines (total + 2 projections)
    expect(svg.match(/aria-roledescription="area mark"/g)).toHaveLength(1);
    expect(countLines(svg, 'dosLines')).toBe(3);
  });

  it('is readable at paper size: every text ≥ 14 SVG units, ≥ 19 px in the 1200 px PNG', async () => {
    const { svg, png } = await plotBandsDos(synthetic(), { png: true });
    const sizes = [...svg.matchAll(/font-size="(\d+(?:\.\d+)?)px"/g)].map((m) => Number(m[1]));
    expect(sizes.length).toBeGreaterThan(10);
    expect(Math.min(...sizes)).toBeGreaterThanOrEqual(14);
    const s = svgSize(svg);
    const p = pngSize(png!);
    expect(p.width).toBe(1200);
    expect(p.height).toBe(Math.round((1200 * s.height) / s.width));
    expect((Math.min(...sizes) * p.width) / s.width).toBeGreaterThanOrEqual(19);
    // a landscape figure of sensible proportions
    expect(p.height / p.width).toBeGreaterThan(0.5);
    expect(p.height / p.width).toBeLessThan(1);
  });

  it('writes the SVG and PNG files asked for, at the width asked for', async () => {
    const svgPath = join(dir, 'f.svg');
    const pngPath = join(dir, 'f.png');
    const out = await plotBandsDos(synthetic(), { svgPath, pngPath, widthPx: 800 });
    expect(readFileSync(svgPath, 'utf8')).toBe(out.svg);
    const png = readFileSync(pngPath);
    expect(Buffer.compare(png, out.png!)).toBe(0);
    expect(pngSize(png).width).toBe(800);
    await expect(plotBandsDos(synthetic(), { png: true, widthPx: 10 })).rejects.toThrow(/widthPx/);
  });

  it('bands alone, spin down dashed, an energy window', async () => {
    const input = synthetic();
    delete input.dos;
    input.bands.eigenvaluesDownEv = input.bands.eigenvaluesEv.map((row) => row.map((e) => e + 0.3));
    input.energyWindow = [-3, 3];
    input.referenceLabel = 'E − E_F';
    const { svg, spec } = await plotBandsDos(input, { pngPath: join(dir, 'spin.png') });
    expect(countLines(svg, BAND_LINE_MARK)).toBe(6);
    expect(countLines(svg, BAND_LINE_DOWN_MARK)).toBe(6);
    expect(bandLineCount(input.bands)).toBe(12);
    const t = texts(svg);
    expect(t).not.toContain('DOS (states/eV)');
    expect(t).toContain('Fermi level');
    expect(t).toContain('energies: E − E_F; spin up solid, spin down dashed');
    // the window is the y domain: its ends are tick labels, nothing beyond
    expect(t).toContain('−3.0');
    expect(t).toContain('3.0');
    expect(t).not.toContain('−3.5');
    expect(t).not.toContain('3.5');
    expect(JSON.stringify(spec)).toContain('"domain":[-3,3]');
  });

  it('refuses inconsistent input', () => {
    const a = synthetic();
    a.bands.eigenvaluesEv = a.bands.eigenvaluesEv.slice(1);
    expect(() => bandsDosSpec(a)).toThrow(/eigenvalue rows for 25 distances/);
    const b = synthetic();
    b.dos!.projections = [{ label: 'x', values: [1, 2] }];
    expect(() => bandsDosSpec(b)).toThrow(/projection x differs in length from its energies/);
    const c = synthetic();
    c.energyWindow = [2, 1];
    expect(() => bandsDosSpec(c)).toThrow(/energyWindow/);
    const d = synthetic();
    d.bands.distances = [...d.bands.distances].reverse();
    expect(() => bandsDosSpec(d)).toThrow(/must not decrease/);
  });
});

describeShared('plotBandsDos: real QE outputs (test-suite Si bands, aiida projwfc Si)', () => {
  it('plots the si_bands path aligned to its VBM with the projwfc DOS', async () => {
    const b = parsePwBands(readFileSync(fixture('qe', 'pw-testsuite', 'si_bands', 'pw.out'), 'utf8'));
    const d = bandsPathDistances(b);
    const labels = [{ index: 0, label: 'G' }, { index: 5, label: 'X' }, { index: 10, label: 'W' }, { index: 15, label: 'L' }, { index: 20, label: 'G' }];
    const gap = analyzeBandGap({ eigenvaluesEv: b.eigenvaluesEv, nElectrons: b.nElectrons, labels, distances: d });
    const dir = fixture('qe', 'projwfc', 'nonpolarised');
    const files = ['aiida.pdos_tot', 'aiida.pdos_atm#1(Si)_wfc#1(s)', 'aiida.pdos_atm#1(Si)_wfc#2(p)', 'aiida.pdos_atm#2(Si)_wfc#1(s)', 'aiida.pdos_atm#2(Si)_wfc#2(p)']
      .filter((n) => existsSync(join(dir, n)))
      .map((name) => ({ name, text: readFileSync(join(dir, name), 'utf8') }));
    const pdos = parseProjwfcPdos(files);
    const { svg, png } = await plotBandsDos(
      {
        bands: { distances: d, eigenvaluesEv: alignEnergies(b.eigenvaluesEv, gap.reference!), labels: labels.map((l) => ({ distance: d[l.index]!, label: l.label })) },
        dos: {
          energiesEv: pdos.energiesEv.map((e) => e - 6.0), // that run's own VBM is not known here: a rough shift
          dos: pdos.total,
          projections: sumPdos(pdos.projections, 'l').map((s) => ({ label: `Si ${s.label}`, values: s.values })),
        },
        title: 'Si',
        referenceLabel: gap.reference!.label,
      },
      { png: true },
    );
    expect(countLines(svg, BAND_LINE_MARK)).toBe(8);
    const t = texts(svg);
    for (const l of ['Γ', 'X', 'W', 'L']) expect(t).toContain(l);
    expect(t.filter((x) => x === 'Γ')).toHaveLength(2);
    expect(t).toEqual(expect.arrayContaining(['Energy (eV)', 'DOS (states/eV)', 'Si s', 'Si p']));
    expect(pngSize(png!).width).toBe(1200);
  });
});
