/**
 * The codes CrystalMath runs, by id: one line per code (its folder implements ./code.ts). Pure, so workflows
 * resolve a calculation's code from here too. `registerCode` adds a code from outside src/ (a plug-in, or a
 * test's toy code): call it in the module that builds the worker's activities and in the worker's workflow
 * bundle entry, so both sides know it.
 */
import type { Code, CodeResult } from './code.ts';
import { qePw } from './qe/pw.ts';

const CODES = new Map<string, Code>([[qePw.id, qePw as unknown as Code]]);

export function registerCode<R extends CodeResult>(code: Code<R>): void {
  const known = CODES.get(code.id);
  if (known && known !== (code as unknown as Code)) throw new Error(`code ${code.id} is already registered`);
  CODES.set(code.id, code as unknown as Code);
}

export function findCode(id: string): Code | undefined {
  return CODES.get(id);
}

/** The code of that id; throws naming the registered ones otherwise. */
export function codeById(id: string): Code {
  const code = CODES.get(id);
  if (!code) throw new Error(`unknown code "${id}" (registered: ${registeredCodeIds().join(', ')})`);
  return code;
}

export function registeredCodeIds(): string[] {
  return [...CODES.keys()];
}
