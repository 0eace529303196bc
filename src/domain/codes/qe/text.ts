/**
 * How QE's programs write values in their text output: numbers (Fortran `D` exponents, numbers run together),
 * logicals, durations ("1h 2m") and the error messages framed by `%%%%%` lines.
 */

export const NUM = String.raw`[-+]?(?:\d+\.?\d*|\.\d+)(?:[eEdD][-+]?\d+)?`;
export const NUM_RE = new RegExp(NUM, 'g');

export function toNumber(s: string | undefined): number | undefined {
  if (s === undefined) return undefined;
  const v = Number.parseFloat(s.replace(/[dD]/, 'e'));
  if (!Number.isFinite(v)) return undefined;
  return v === 0 ? 0 : v; // no -0: JSON cannot carry it
}

/** All numbers of a line; Fortran output may glue them ("-0.3536-0.3536"), which this splits. */
export function numbersIn(s: string): number[] {
  const out: number[] = [];
  for (const m of s.matchAll(NUM_RE)) {
    const v = toNumber(m[0]);
    if (v !== undefined) out.push(v);
  }
  return out;
}

/** The number captured by the first group of `re` in `line`. */
export function firstNumberAfter(line: string, re: RegExp): number | undefined {
  const m = re.exec(line);
  return m ? toNumber(m[1]) : undefined;
}

/** A logical given as a boolean or written as Fortran or the XML do (`.true.`, `T`, `false`). */
export function asLogical(v: unknown): boolean | undefined {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'string') {
    const s = v.trim().toLowerCase().replace(/^\.|\.$/g, '');
    if (s === 'true' || s === 't') return true;
    if (s === 'false' || s === 'f') return false;
  }
  return undefined;
}

/** "1d 2h 3m", "1h 2m", "1m 2.34s", "3.73s" → seconds. */
export function qeDurationToSeconds(text: string): number | undefined {
  let total = 0;
  let any = false;
  for (const m of text.matchAll(/(\d+(?:\.\d*)?)\s*([dhms])/g)) {
    const v = Number.parseFloat(m[1] ?? '');
    if (!Number.isFinite(v)) continue;
    any = true;
    total += v * (m[2] === 'd' ? 86400 : m[2] === 'h' ? 3600 : m[2] === 'm' ? 60 : 1);
  }
  return any ? Math.round(total * 1000) / 1000 : undefined;
}

/** Texts between `%%%%%` lines, joined into one line each. */
export function errorBlocks(text: string): string[] {
  if (!text.includes('%%%%%')) return [];
  const out: string[] = [];
  let current: string[] | undefined;
  for (const line of text.split('\n')) {
    if (/^\s*%{5,}\s*$/.test(line)) {
      if (current) {
        if (current.length) out.push(current.join(' '));
        current = undefined;
      } else current = [];
      continue;
    }
    if (current && line.trim()) current.push(line.trim());
  }
  if (current?.length) out.push(current.join(' '));
  return out;
}
