/**
 * Staging on a cluster through its Transport: work directories, input files, the pseudopotential family
 * (uploaded once per cluster), a parent's files for restarts (copied on the cluster), and outputs read back.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import type { ClusterProfile } from '../../domain/cluster-profile.ts';
import { shellQuote } from '../../domain/shell.ts';
import type { LoadedFamily } from '../pseudos.ts';
import { TransportFileError, type Transport } from '../transport/index.ts';

export const remotePath = (...parts: string[]): string => parts.map((p, i) => (i === 0 ? p.replace(/\/+$/, '') : p.replace(/^\/+|\/+$/g, ''))).join('/');

/** Where a cluster keeps its copy of a pseudopotential family: `<workDir>/pseudos/<family>`. */
export const remotePseudoDir = (profile: ClusterProfile, family: string): string => remotePath(profile.workDir, 'pseudos', family);

const FAMILY_MARKER = '.crystalmath-family';
const uploads = new Map<string, Promise<void>>();

/**
 * Makes sure the cluster holds this exact family (same files, same bytes) and returns its directory there.
 * Uploaded once per cluster: a marker file holds the family's checksum, written after every file is in place
 * (each file is uploaded to a temporary name and renamed, so a job never reads half a file). Concurrent
 * prepares in one worker share one upload.
 */
export async function ensureRemotePseudoFamily(t: Transport, profile: ClusterProfile, loaded: LoadedFamily): Promise<string> {
  const dir = remotePseudoDir(profile, loaded.family.name);
  const files = ['family.json', ...new Set(Object.values(loaded.family.elements).map((e) => e.file))];
  const hash = createHash('sha256');
  for (const f of files) hash.update(f).update('\0').update(await readFile(join(loaded.dir, f))).update('\0');
  const sum = hash.digest('hex');
  const key = `${profile.name}\0${dir}\0${sum}`;
  let p = uploads.get(key);
  if (!p) {
    p = uploadFamily(t, dir, loaded.dir, files, sum);
    uploads.set(key, p);
    p.catch(() => uploads.delete(key));
  }
  await p;
  return dir;
}

async function uploadFamily(t: Transport, dir: string, localDir: string, files: string[], sum: string): Promise<void> {
  const marker = remotePath(dir, FAMILY_MARKER);
  try {
    if ((await t.readFile(marker, 'utf8')).trim() === sum) return;
  } catch (e) {
    if (!(e instanceof TransportFileError && e.code === 'ENOENT')) throw e;
  }
  await t.mkdirp(dir);
  const tag = randomBytes(4).toString('hex');
  for (const f of files) await t.upload(join(localDir, f), remotePath(dir, `${f}.part-${tag}`));
  const moves = files.map((f) => `mv -f ${shellQuote(remotePath(dir, `${f}.part-${tag}`))} ${shellQuote(remotePath(dir, f))}`);
  const r = await t.exec({ script: `set -e\n${moves.join('\n')}\nprintf '%s\\n' ${shellQuote(sum)} > ${shellQuote(marker)}\n` });
  if (r.code !== 0) throw ApplicationFailure.retryable(`installing pseudopotentials in ${dir} on ${t.cluster} failed: ${r.stderr.trim()}`, 'StagingFailed');
}

/**
 * A restart's parent files, copied on the cluster (`cp -r`, no round trip through the worker): the parent's
 * `<from>` (its `out/` or `out/<prefix>.save`) to the same place in the new work directory.
 */
export async function copyRemoteParentFiles(t: Transport, from: string, to: string): Promise<void> {
  const parent = to.replace(/\/[^/]+\/?$/, '') || '/';
  const script = [`[ -e ${shellQuote(from)} ] || exit 3`, `mkdir -p ${shellQuote(parent)} || exit 1`, `rm -rf ${shellQuote(to)}`, `cp -r ${shellQuote(from)} ${shellQuote(to)}`, ''].join('\n');
  const r = await t.exec({ script });
  if (r.code === 3) {
    throw ApplicationFailure.nonRetryable(`cannot restart from ${from} on ${t.cluster}: the parent calculation left no such files`, 'RestartFilesMissing');
  }
  if (r.code !== 0) throw ApplicationFailure.retryable(`copying ${from} to ${to} on ${t.cluster} failed: ${r.stderr.trim()}`, 'StagingFailed');
}

/** A file's text, or undefined when it does not exist. */
export async function readRemoteText(t: Transport, path: string): Promise<string | undefined> {
  try {
    return await t.readFile(path, 'utf8');
  } catch (e) {
    if (e instanceof TransportFileError && e.code === 'ENOENT') return undefined;
    throw e;
  }
}

/** Runs `fn` with a private local temporary directory, removed afterwards. */
export async function withLocalTemp<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'crystalmath-stage-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
