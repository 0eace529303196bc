/**
 * aiida-quantumespresso's pw.x fixture cases (../shared/fixtures/qe/pw/<case>), read and parsed; the labelled
 * reproductions for Si written for the workflow tests (test/data/pw-reproductions/<case>, see its README.md); and
 * reading structure cards back from pw.x inputs and outputs.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parsePwOutput, type PwParseInput, type PwResult } from '../../src/domain/codes/qe/parse.ts';
import { numbersIn } from '../../src/domain/codes/qe/text.ts';
import { fixture } from './shared.ts';

/**
 * A fixture file, or undefined when absent. Some fixture files are git symlinks stored as text
 * ("../failed_g_par/CRASH"): follow those, as a checkout with symlinks would.
 */
export function readMaybe(path: string): string | undefined {
  if (!existsSync(path)) return undefined;
  const text = readFileSync(path, 'utf8');
  const target = text.trim();
  if (/^\.\.\/[^\s]+$/.test(target)) {
    const linked = resolve(dirname(path), target);
    if (existsSync(linked)) return readFileSync(linked, 'utf8');
  }
  return text;
}

/** Parses one case: its stdout, XML and CRASH file, plus whatever the test adds (parameters, walltime flag). */
export function pwCase(name: string, extra: Partial<PwParseInput> = {}): PwResult {
  const dir = fixture('qe', 'pw', name);
  return parsePwOutput({
    stdout: readMaybe(`${dir}/aiida.out`),
    xml: readMaybe(`${dir}/data-file-schema.xml`) ?? readMaybe(`${dir}/data-file.xml`),
    crash: readMaybe(`${dir}/CRASH`),
    ...extra,
  });
}

/** Absolute path of a file under test/data/pw-reproductions: files written for the tests (see its README.md). */
export const reproduction = (...parts: string[]): string =>
  resolve(dirname(fileURLToPath(import.meta.url)), '..', 'data', 'pw-reproductions', ...parts);

/**
 * The rows of numbers under a card (`CELL_PARAMETERS`, `ATOMIC_POSITIONS`) of a pw.x input or output: the first
 * such card, or the last one (an output's final structure). Species labels are dropped.
 */
export function cardRows(text: string, card: string, which: 'first' | 'last' = 'first'): number[][] {
  const lines = text.split('\n');
  const headers = lines.flatMap((l, i) => (l.trimStart().startsWith(card) ? [i] : []));
  const start = which === 'first' ? headers[0] : headers.at(-1);
  if (start === undefined) return [];
  const rows: number[][] = [];
  for (const line of lines.slice(start + 1)) {
    const nums = numbersIn(line.replace(/^\s*[A-Za-z][\w.-]*\s/, ''));
    if (nums.length !== 3) break;
    rows.push(nums);
  }
  return rows;
}
