/** Structures named the way a user names them: a built-in name or a file path (reads the file, so not domain). */
import { existsSync, readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { builtinStructure, builtinStructureNames, parseStructureText } from '../domain/structure/index.ts';
import type { Structure } from '../domain/structure/structure.ts';
import { InputError } from './errors.ts';

/** A structure from a built-in name ("Si", "MoS2", ...) or a CIF / POSCAR file path. */
export function resolveStructure(spec: string): Structure {
  const builtin = builtinStructure(spec);
  if (builtin) return builtin;
  if (!existsSync(spec)) {
    throw new InputError(`--structure: "${spec}" is neither a file nor a built-in structure (built-ins: ${builtinStructureNames().join(', ')})`);
  }
  return parseStructureText(readFileSync(spec, 'utf8'), basename(spec));
}
