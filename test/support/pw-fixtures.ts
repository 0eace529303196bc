/** aiida-quantumespresso's pw.x fixture cases (../shared/fixtures/qe/pw/<case>), read and parsed. */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parsePwOutput, type PwParseInput, type PwResult } from '../../src/domain/codes/qe/parse.ts';
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
