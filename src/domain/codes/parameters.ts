/**
 * A code's parameters as groups of keys (a pw.x namelist, an INCAR, a d12 block), and the one way repairs,
 * custom rules and strategies change them: edits applied to the overrides, with the changes recorded as
 * 'group.key' { from, to } against what the failed attempt ran with. Keys match case-insensitively (Fortran
 * namelists and INCARs do); a written key is lower case.
 */
export type ParameterValue = string | number | boolean;
export type ParameterGroup = Record<string, ParameterValue>;
export type CodeParameters = Partial<Record<string, ParameterGroup>>;

/** One changed value: `null` means not set (the code's default). */
export interface ParameterChange {
  from: ParameterValue | null;
  to: ParameterValue | null;
}
/** Keyed 'group.key' (e.g. 'electrons.mixing_beta'), or 'resources.x' for changes of the job's resources. */
export type ParameterChanges = Record<string, ParameterChange>;

export interface ParameterEdit {
  group: string;
  key: string;
  /** New value; undefined removes the key from the overrides (the code's default applies). */
  value: ParameterValue | undefined;
  /** The value the code used when the failed attempt did not set the key (for `changes.from`). */
  assumed?: ParameterValue;
}

/** 12 significant digits: products of decimal factors come out as written (0.4 × 0.8 = 0.32). */
export function roundSignificant(x: number): number {
  return Number(x.toPrecision(12));
}

export function getParameter(params: CodeParameters, group: string, key: string): ParameterValue | undefined {
  const g = params[group];
  if (!g) return undefined;
  if (key in g) return g[key];
  const lk = key.toLowerCase();
  for (const [k, v] of Object.entries(g)) if (k.toLowerCase() === lk) return v;
  return undefined;
}

/** A number, also from Fortran-style strings ('1.0d-6'). */
export function numberValue(v: ParameterValue | undefined): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'string') {
    const n = Number(v.trim().replace(/[dD]/, 'e'));
    return v.trim() !== '' && Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

/** A string value, trimmed and lower case. */
export function stringValue(v: ParameterValue | undefined): string | undefined {
  return typeof v === 'string' ? v.trim().toLowerCase() : undefined;
}

/** A numeric parameter of the failed attempt, or the default. */
export function numberParameter(params: CodeParameters, group: string, key: string, fallback: number): number {
  return numberValue(getParameter(params, group, key)) ?? fallback;
}

function cloneParameters(p: CodeParameters): CodeParameters {
  const out: CodeParameters = {};
  for (const [group, values] of Object.entries(p)) if (values) out[group] = { ...values };
  return out;
}

/**
 * New overrides = `overrides` with `edits` applied in order; `changes` lists what differs from the parameters
 * the failed attempt ran with (`parameters`). Used by every repair (a code's restart settings are edits too).
 */
export function applyParameterEdits(
  ctx: { parameters: CodeParameters; overrides: CodeParameters },
  edits: readonly ParameterEdit[],
): { overrides: CodeParameters; changes: ParameterChanges } {
  const overrides = cloneParameters(ctx.overrides);
  const changes: ParameterChanges = {};
  for (const e of edits) {
    const key = e.key.toLowerCase();
    const g = (overrides[e.group] ??= {});
    for (const k of Object.keys(g)) if (k.toLowerCase() === key) delete g[k];
    if (e.value !== undefined) g[key] = e.value;
    if (Object.keys(g).length === 0) delete overrides[e.group];
    const from = getParameter(ctx.parameters, e.group, key) ?? e.assumed ?? null;
    const to = e.value ?? null;
    const name = `${e.group}.${key}`;
    if (from !== to) changes[name] = { from, to };
    else delete changes[name];
  }
  return { overrides, changes };
}
