/**
 * Results as files people use: JSON, CSV (one row per material, step and property — the dataframe of
 * seed 000) and a LaTeX table. Pure string builders; the caller writes the file.
 */
import { gapCharacter } from '../domain/analysis/bandgap.ts';
import { volume } from '../domain/structure/lattice.ts';
import { RY_TO_EV } from '../domain/units.ts';
import type { PlanResult } from '../workflows/plan.ts';
import type { AnalysisResults } from '../workflows/standard.ts';

export interface PropertyRow {
  formula: string;
  step: string;
  property: string;
  value: number | string;
  unit: string;
}

/** The numbers a plan produced, one row each. */
export function propertyRows(result: PlanResult): PropertyRow[] {
  const rows: PropertyRow[] = [];
  for (const [step, r] of Object.entries(result.results)) {
    const o = r.outputs;
    const add = (property: string, value: number | string | undefined, unit: string) => {
      if (value !== undefined) rows.push({ formula: result.formula, step, property, value, unit });
    };
    add('exit_code', r.exitCode, '');
    add('total_energy', o.totalEnergyEv, 'eV');
    add('final_enthalpy', o.finalEnthalpyRy !== undefined ? o.finalEnthalpyRy * RY_TO_EV : undefined, 'eV');
    add('fermi_energy', o.fermiEnergyEv, 'eV');
    add('highest_occupied_level', o.highestOccupiedEv, 'eV');
    add('lowest_unoccupied_level', o.lowestUnoccupiedEv, 'eV');
    add('band_gap', o.bandGapEv, 'eV');
    add('total_magnetization', o.totalMagnetizationBohrMag, 'mu_B');
    add('absolute_magnetization', o.absoluteMagnetizationBohrMag, 'mu_B');
    add('pressure', o.pressureKbar, 'kbar');
    add('total_force', o.totalForceRyBohr, 'Ry/bohr');
    add('volume', volume(r.finalStructure.lattice), 'angstrom^3');
    add('attempts', r.attempts.length, '');
    add('wall_time', o.wallTimeSeconds, 's');
    // Bands and DOS steps: what their analysis found along the path / on the dense mesh.
    const a = result.analyses?.[step];
    if (a?.bands) {
      add('band_gap_character', gapCharacter(a.bands.gap), '');
      add('vbm_location', a.bands.gap.vbm?.where, '');
      add('cbm_location', a.bands.gap.cbm?.where, '');
      add('k_path', a.kPath ? `${a.kPath.variant} (${a.kPath.internationalSymbol})` : undefined, '');
    }
    if (a?.dos) add('dos_fermi_energy', a.dos.fermiEnergyEv, 'eV');
  }
  return rows;
}

/** The numbers of a standard analysis (relax → scf → bands → DOS), one row each. */
export function analysisRows(r: AnalysisResults): PropertyRow[] {
  const rows: PropertyRow[] = [];
  const add = (property: string, value: number | string | undefined, unit: string) => {
    if (value !== undefined) rows.push({ formula: r.formula, step: 'standard', property, value, unit });
  };
  add('space_group', r.spaceGroup ? `${r.spaceGroup.symbol} (${r.spaceGroup.number})` : undefined, '');
  add('a_before', r.latticeBefore.a, 'angstrom');
  add('a_after', r.latticeAfter.a, 'angstrom');
  add('volume_before', r.latticeBefore.volume, 'angstrom^3');
  add('volume_after', r.latticeAfter.volume, 'angstrom^3');
  add('total_energy', r.totalEnergyEv, 'eV');
  add('band_gap', r.bandGapEv, 'eV');
  add('band_gap_character', r.bandGapCharacter, '');
  add('vbm_location', r.vbm?.where, '');
  add('cbm_location', r.cbm?.where, '');
  add('fermi_energy', r.fermiEnergyEv, 'eV');
  add('total_magnetization', r.totalMagnetizationBohrMag, 'mu_B');
  add('absolute_magnetization', r.absoluteMagnetizationBohrMag, 'mu_B');
  add('cpu_hours', r.cpuHours, 'h');
  return rows;
}

export function toJSON(result: object): string {
  return `${JSON.stringify(result, null, 2)}\n`;
}

export function toCSV(result: PlanResult | AnalysisResults): string {
  return csvOfRows(rowsOf(result));
}

/** Property rows as CSV (formula,step,property,value,unit); for results that make their own rows (the elastic analysis). */
export function csvOfRows(rows: readonly PropertyRow[]): string {
  const quote = (v: string | number) => (typeof v === 'number' ? String(v) : /[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
  const lines = ['formula,step,property,value,unit', ...rows.map((r) => [r.formula, r.step, r.property, r.value, r.unit].map(quote).join(','))];
  return `${lines.join('\n')}\n`;
}

function rowsOf(result: PlanResult | AnalysisResults): PropertyRow[] {
  return 'results' in result ? propertyRows(result) : analysisRows(result);
}

export function toLatexTable(result: PlanResult | AnalysisResults, caption = `Computed properties of ${result.formula}`): string {
  return latexTableOfRows(rowsOf(result), caption);
}

/** Property rows as a LaTeX table. */
export function latexTableOfRows(rows: readonly PropertyRow[], caption: string): string {
  const esc = (s: string) => s.replace(/([_&%#$])/g, '\\$1');
  const fmt = (v: number | string) => (typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toPrecision(8).replace(/\.?0+$/, '')) : esc(v));
  const body = rows
    .filter((r) => r.property !== 'exit_code')
    .map((r) => `${esc(r.formula)} & ${esc(r.step)} & ${esc(r.property.replace(/_/g, ' '))} & ${fmt(r.value)} & ${esc(r.unit.replace('angstrom^3', 'Å$^3$'))} \\\\`);
  return [
    '\\begin{table}',
    '\\centering',
    `\\caption{${esc(caption)}}`,
    '\\begin{tabular}{lllrl}',
    '\\hline',
    'Material & Step & Property & Value & Unit \\\\',
    '\\hline',
    ...body,
    '\\hline',
    '\\end{tabular}',
    '\\end{table}',
    '',
  ].join('\n');
}
