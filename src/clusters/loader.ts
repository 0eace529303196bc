/**
 * Reads cluster profiles from disk: one `<name>.yaml` (or `.yml`, `.json`) per cluster. The only module of
 * `src/clusters` that does I/O; everything it returns is validated by `ClusterProfileSchema`.
 *
 * Search order (first match wins):
 *   1. `$CRYSTALMATH_CLUSTERS_DIR` (a `:`-separated list), else `$CRYSTALMATH_HOME/clusters`
 *      (the settings' data directory + `/clusters`);
 *   2. the repository's `clusters/` examples (e.g. `beefcake2.yaml`);
 *   3. the built-in `local` profile (a `local.yaml` in 1 or 2 overrides it).
 *
 * Relative `keyFile` / `knownHostsFile` paths are resolved against the profile file's directory, and `~/`
 * against the home directory of the user running the worker.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { availableParallelism, homedir, totalmem } from 'node:os';
import { basename, dirname, extname, isAbsolute, join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { loadSettings, REPO_ROOT } from '../settings.ts';
import { makeLocalProfile } from './local.ts';
import { CLUSTER_NAME_RE, ClusterProfileSchema, formatIssuePath, LOCAL_CLUSTER_NAME, type ClusterProfile } from '../domain/cluster-profile.ts';

export const PROFILE_EXTENSIONS = ['.yaml', '.yml', '.json'] as const;
/** The repository's example profiles. */
export const EXAMPLE_CLUSTERS_DIR = join(REPO_ROOT, 'clusters');

export interface ProfileIssue {
  /** `partitions[0].coresPerNode`, or `(top level)`, or `(file)` for read and YAML errors. */
  path: string;
  message: string;
}

/** A profile that cannot be used: names the file, each field path and the reason. Never worth a retry. */
export class ClusterProfileError extends Error {
  override readonly name = 'ClusterProfileError';
  readonly nonRetryable = true;
  constructor(
    message: string,
    readonly file: string | undefined,
    readonly issues: ProfileIssue[] = [],
  ) {
    super(message);
  }
}

/** Where profiles are looked for, in order (existing or not). */
export function clusterDirs(env: NodeJS.ProcessEnv = process.env): string[] {
  const configured = env.CRYSTALMATH_CLUSTERS_DIR
    ? env.CRYSTALMATH_CLUSTERS_DIR.split(':').filter(Boolean).map((d) => resolve(d))
    : [join(loadSettings(env).dataDir, 'clusters')];
  return [...configured, EXAMPLE_CLUSTERS_DIR];
}

function issueMessage(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_key' && issue.issues.length > 0) return `${issue.message}: ${issue.issues.map((i) => i.message).join('; ')}`;
  return issue.message;
}

const expandHome = (p: string): string => (p === '~' ? homedir() : p.startsWith('~/') ? join(homedir(), p.slice(2)) : p);
const localPath = (p: string, baseDir: string): string => {
  const e = expandHome(p);
  return isAbsolute(e) ? e : resolve(baseDir, e);
};

/** Validates already-parsed profile data; `source` names it in errors (a file path or a description). */
export function parseClusterProfile(data: unknown, source: string, baseDir = process.cwd()): ClusterProfile {
  const result = ClusterProfileSchema.safeParse(data);
  if (!result.success) {
    const issues = result.error.issues.map((i) => ({ path: formatIssuePath(i.path), message: issueMessage(i) }));
    throw new ClusterProfileError(
      `invalid cluster profile ${source}:\n${issues.map((i) => `  ${i.path}: ${i.message}`).join('\n')}`,
      source,
      issues,
    );
  }
  const p = result.data;
  if (p.auth?.type === 'key') p.auth = { ...p.auth, keyFile: localPath(p.auth.keyFile, baseDir) };
  if (p.knownHostsFile) p.knownHostsFile = localPath(p.knownHostsFile, baseDir);
  return p;
}

/** Reads and validates one profile file. The file's name (without extension) is the default `name` and must match it. */
export function loadClusterProfile(file: string): ClusterProfile {
  const path = resolve(file);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const reason = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message;
    throw new ClusterProfileError(`cannot read cluster profile ${path}: ${reason}`, path, [{ path: '(file)', message: reason }]);
  }
  let data: unknown;
  try {
    data = parseYaml(text, { prettyErrors: true, uniqueKeys: true });
  } catch (e) {
    const reason = (e as Error).message.split('\n')[0] ?? String(e);
    throw new ClusterProfileError(`cluster profile ${path} is not valid YAML/JSON: ${reason}`, path, [{ path: '(file)', message: reason }]);
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new ClusterProfileError(`invalid cluster profile ${path}:\n  (top level): expected a mapping of fields`, path, [
      { path: '(top level)', message: 'expected a mapping of fields' },
    ]);
  }
  const stem = basename(path, extname(path));
  const record = data as Record<string, unknown>;
  if (record.name === undefined && CLUSTER_NAME_RE.test(stem)) record.name = stem;
  else if (typeof record.name === 'string' && record.name !== stem) {
    const message = `is "${record.name}" but the file is named ${basename(path)}; they must agree`;
    throw new ClusterProfileError(`invalid cluster profile ${path}:\n  name: ${message}`, path, [{ path: 'name', message }]);
  }
  return parseClusterProfile(record, path, dirname(path));
}

/** The built-in `local` profile for this machine and settings. */
export function builtinLocalProfile(env: NodeJS.ProcessEnv = process.env): ClusterProfile {
  return makeLocalProfile({
    workDir: loadSettings(env).workRoot,
    cores: availableParallelism(),
    memoryGb: totalmem() / 1024 ** 3,
  });
}

function findProfileFile(name: string, dirs: readonly string[]): string | undefined {
  for (const dir of dirs) {
    for (const ext of PROFILE_EXTENSIONS) {
      const f = join(dir, name + ext);
      if (existsSync(f)) return f;
    }
  }
  return undefined;
}

/** Names of every profile found in `dirs`, plus `local`, sorted. */
export function listClusterProfiles(dirs: readonly string[] = clusterDirs()): string[] {
  const names = new Set<string>([LOCAL_CLUSTER_NAME]);
  for (const dir of dirs) {
    let entries: string[];
    try {
      entries = readdirSync(dir);
    } catch {
      continue;
    }
    for (const f of entries) {
      const ext = extname(f);
      const stem = basename(f, ext);
      if ((PROFILE_EXTENSIONS as readonly string[]).includes(ext) && CLUSTER_NAME_RE.test(stem)) names.add(stem);
    }
  }
  return [...names].sort();
}

/** The profile called `name`: the first `<name>.yaml|.yml|.json` in `dirs`, else the built-in `local`. */
export function getClusterProfile(name: string, dirs: readonly string[] = clusterDirs()): ClusterProfile {
  if (!CLUSTER_NAME_RE.test(name)) {
    throw new ClusterProfileError(`"${name}" is not a cluster name (letters, digits, _ . -)`, undefined, [{ path: 'name', message: 'not a cluster name' }]);
  }
  const file = findProfileFile(name, dirs);
  if (file) return loadClusterProfile(file);
  if (name === LOCAL_CLUSTER_NAME) return builtinLocalProfile();
  throw new ClusterProfileError(
    `no cluster profile "${name}": looked for ${name}.yaml in ${dirs.join(', ') || '(no directories)'}; available: ${listClusterProfiles(dirs).join(', ')}`,
    undefined,
  );
}
