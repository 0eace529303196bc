/**
 * Pseudopotential families on the worker's disk: `<pseudoRoot>/<family>/family.json` beside the UPF files.
 * The Debian family (pseudopotentials that `quantum-espresso-data` ships gzipped among QE's examples) is
 * installed on first use, so a fresh machine needs no extra step.
 */
import { existsSync } from 'node:fs';
import { mkdir, open, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { ApplicationFailure } from '@temporalio/common';
import { DEBIAN_QE_EXAMPLES_FAMILY, parsePseudoFamily, upfValenceCharge, type PseudoFamily } from '../domain/codes/qe/pseudos.ts';

export interface LoadedFamily {
  family: PseudoFamily;
  /** Directory holding the UPF files (becomes pw.x's pseudo_dir). */
  dir: string;
  /** z_valence of each element's pseudopotential, where its header declares one. */
  valenceElectrons: Record<string, number>;
}

export async function loadPseudoFamily(pseudoRoot: string, name: string): Promise<LoadedFamily> {
  const dir = join(pseudoRoot, name);
  const file = join(dir, 'family.json');
  if (!existsSync(file)) {
    if (name !== DEBIAN_QE_EXAMPLES_FAMILY.name) {
      throw ApplicationFailure.nonRetryable(`pseudo family "${name}" not found: expected ${file} (set CRYSTALMATH_PSEUDO_DIR to the directory that holds your families)`, 'PseudoFamilyMissing');
    }
    await installDebianFamily(dir);
  }
  let data: unknown;
  try {
    data = JSON.parse(await readFile(file, 'utf8'));
  } catch (e) {
    throw ApplicationFailure.nonRetryable(`${file}: not valid JSON: ${(e as Error).message}`, 'PseudoFamilyInvalid');
  }
  let family: PseudoFamily;
  try {
    family = parsePseudoFamily(data, file);
  } catch (e) {
    throw ApplicationFailure.nonRetryable((e as Error).message, 'PseudoFamilyInvalid');
  }
  const valenceElectrons: Record<string, number> = {};
  for (const [element, entry] of Object.entries(family.elements)) {
    const upf = join(dir, entry.file);
    if (!existsSync(upf)) {
      throw ApplicationFailure.nonRetryable(`${file}: elements.${element}.file: ${entry.file} is not in ${dir}`, 'PseudoFamilyInvalid');
    }
    const z = upfValenceCharge(await readHead(upf, 20_000));
    if (z !== undefined) valenceElectrons[element] = z;
  }
  return { family, dir, valenceElectrons };
}

/** The first bytes of a file: a UPF header sits well within them, the file may be megabytes. */
async function readHead(path: string, bytes: number): Promise<string> {
  const handle = await open(path, 'r');
  try {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(bytes), 0, bytes, 0);
    return buffer.subarray(0, bytesRead).toString('utf8');
  } finally {
    await handle.close();
  }
}

async function installDebianFamily(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const [element, entry] of Object.entries(DEBIAN_QE_EXAMPLES_FAMILY.elements)) {
    if (!entry.source || !existsSync(entry.source)) {
      throw ApplicationFailure.nonRetryable(
        `pseudopotential for ${element} not found at ${entry.source}: install Debian's quantum-espresso-data (apt-get install quantum-espresso-data)`,
        'PseudoFamilyMissing',
      );
    }
    const upf = gunzipSync(await readFile(entry.source));
    await writeFile(join(dir, `${entry.file}.part`), upf);
    await rename(join(dir, `${entry.file}.part`), join(dir, entry.file));
  }
  // family.json last: its presence means the family is complete.
  await writeFile(join(dir, 'family.json.part'), JSON.stringify(DEBIAN_QE_EXAMPLES_FAMILY, null, 2));
  await rename(join(dir, 'family.json.part'), join(dir, 'family.json'));
}
