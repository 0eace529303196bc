/**
 * StandardAnalysis on Si with real pw.x, dos.x and projwfc.x: relax → scf → bands → DOS; the numbers are
 * checked against what the codes wrote in that same run, and the figure beyond its existence.
 */
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StandardAnalysis } from '../../src/client.ts';
import type { RelaxResult } from '../../src/workflows/relax.ts';
import { HA_TO_EV } from '../../src/domain/units.ts';
import { jobDirParts, safePathPart } from '../../src/domain/jobs.ts';
import { startTestWorker, testSettings } from '../support/temporal.ts';
import { recordHistory } from '../support/histories.ts';

describe('StandardAnalysis on Si (real pw.x, dos.x, projwfc.x)', () => {
  let env: TestWorkflowEnvironment;
  let stop: (() => Promise<void>) | undefined;
  const settings = testSettings('standard');
  beforeAll(async () => {
    ({ env, stop } = await startTestWorker(settings));
  });
  afterAll(async () => stop?.());

  it('relaxes, finds the indirect gap along Γ–X–W–K–Γ–L–U–W–L–K|U–X, computes the DOS, and draws them', async () => {
    const outputDir = mkdtempSync(join(tmpdir(), 'crystalmath-standard-out-'));
    const runner = new StandardAnalysis({ protocol: 'fast', kpointsPerSegment: 10, outputDir, client: env.client, taskQueue: settings.taskQueue });
    const results = await runner.run('Si');
    const r = results.data;

    expect(r.spaceGroup).toMatchObject({ number: 227, crystalSystem: 'cubic', kPathVariant: 'FCC' });
    // The relaxed lattice constant is what pw.x printed at the end of the last full relaxation.
    const relaxDirs = readdirSync(settings.workRoot).filter((d) => d.startsWith(`${r.workflowId}-relax-full-`)).sort();
    const lastRelax = join(settings.workRoot, relaxDirs.at(-1)!, safePathPart('pw'));
    const attempt = readdirSync(lastRelax).sort().at(-1)!;
    const pwOut = readFileSync(join(lastRelax, attempt, 'pw.out'), 'utf8');
    const cell = /Begin final coordinates[\s\S]*?CELL_PARAMETERS \(angstrom\)\n(.*)\n/.exec(pwOut)![1]!.trim().split(/\s+/).map(Number);
    const aPrinted = Math.hypot(...cell) * Math.SQRT2; // fcc primitive vector length = a / √2
    expect(r.latticeAfter.a * Math.SQRT2).toBeCloseTo(aPrinted, 4);
    expect(aPrinted).toBeGreaterThan(5.3);
    expect(aPrinted).toBeLessThan(5.45);

    // The gap and its character, checked against the eigenvalues pw.x wrote (XML, Hartree) for the bands run.
    expect(r.bandGapCharacter).toBe('indirect');
    expect(r.vbm?.where).toBe('Γ');
    expect(r.cbm?.where).toMatch(/Γ→X/);
    const bandsXml = readFileSync(join(settings.workRoot, ...jobDirParts(`${r.workflowId}-bands`, 'pw', 1), 'out', 'pwscf.save', 'data-file-schema.xml'), 'utf8');
    const eig = [...bandsXml.matchAll(/<eigenvalues size="(\d+)">([^<]+)<\/eigenvalues>/g)].map((m) => m[2]!.trim().split(/\s+/).map((x) => Number(x) * HA_TO_EV));
    const vbm = Math.max(...eig.map((e) => e[3]!));
    const cbm = Math.min(...eig.map((e) => e[4]!));
    expect(r.bandGapEv).toBeCloseTo(cbm - vbm, 4);
    expect(r.bandGapEv!).toBeGreaterThan(0.3);
    expect(r.bandGapEv!).toBeLessThan(0.8);
    expect(r.bandGapSource).toMatch(/^band structure along FCC path \(\d+ k-points\)$/);

    // The k-path, as stored with the band energies.
    const bands = JSON.parse(readFileSync(fileURLToPath(r.bands!.bands.uri), 'utf8'));
    const labels: string[] = [];
    for (const l of bands.labels as { distance: number; label: string }[]) {
      const prev = labels.length ? labels[labels.length - 1]! : undefined;
      const prevDistance = bands.labels[labels.length - 1]?.distance;
      if (prev !== undefined && prevDistance === l.distance && prev !== l.label) labels[labels.length - 1] = `${prev}|${l.label}`;
      else labels.push(l.label);
    }
    expect(labels.join('-').replace(/-?\|-?/g, '|')).toMatch(/^Γ-X-W-K-Γ-L-U-W-L-K\|?U-X$/);
    expect(r.dos?.points).toBeGreaterThan(100);
    expect(r.steps.map((s) => s.name)).toEqual(['relax', 'scf', 'bands', 'nscf']);
    // The DOS window is ±20 eV around the scf's highest occupied level (Si: fixed occupations), not absolute.
    const scfOut = readFileSync(join(settings.workRoot, ...jobDirParts(`${r.workflowId}-scf`, 'pw', 1), 'pw.out'), 'utf8');
    const homo = Number(/highest occupied, lowest unoccupied level \(ev\):\s+(\S+)/.exec(scfOut)![1]);
    const dosIn = readFileSync(join(settings.workRoot, ...jobDirParts(r.workflowId, 'dos', 1), 'dos.in'), 'utf8');
    expect(Number(/Emin\s*=\s*(\S+)/.exec(dosIn)![1])).toBeCloseTo(homo - 20, 2);
    expect(Number(/Emax\s*=\s*(\S+)/.exec(dosIn)![1])).toBeCloseTo(homo + 20, 2);

    // CPU hours: every attempt of every pw.x calculation, the relaxation's initial run and iterations included.
    const childResult = (id: string) => env.client.workflow.getHandle(id).result() as Promise<RelaxResult>;
    const relaxLoop = (await childResult(`${r.workflowId}-relax`)).relax;
    const calculations = [relaxLoop.initialRelaxWorkflowId!, ...relaxLoop.iterations.map((i) => i.workflowId), ...r.steps.slice(1).map((s) => s.workflowId!)];
    expect(calculations.length).toBeGreaterThanOrEqual(5);
    let wallSeconds = 0;
    for (const id of calculations) for (const a of (await childResult(id)).attempts) wallSeconds += a.job.wallSeconds!;
    expect(r.cpuHours * 3600).toBeCloseTo(wallSeconds, 6);

    // Files a scientist keeps: exports and the figure (valid PNG, SVG with axes, labels and band lines).
    const files = readdirSync(outputDir);
    expect(files).toEqual(expect.arrayContaining(['results.json', 'results.csv', 'results.tex', 'Si2_bands_dos.svg', 'Si2_bands_dos.png']));
    expect(readFileSync(join(outputDir, 'results.csv'), 'utf8')).toMatch(/Si2,standard,band_gap_character,indirect,/);
    const png = readFileSync(join(outputDir, 'Si2_bands_dos.png'));
    expect(png.subarray(1, 4).toString('ascii')).toBe('PNG');
    expect(png.readUInt32BE(16)).toBe(1200);
    const svg = readFileSync(join(outputDir, 'Si2_bands_dos.svg'), 'utf8');
    expect(svg).toContain('Energy (eV)');
    for (const label of ['Γ', 'X', 'W', 'K|U', 'L']) expect(svg).toContain(`>${label}<`);
    expect((svg.match(/bandLines_marks/g) ?? []).length).toBeGreaterThanOrEqual(8);
    recordHistory('standard-si.json', await env.client.workflow.getHandle(r.workflowId).fetchHistory(), r.workflowId);
  });
});
