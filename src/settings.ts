/**
 * Where things live on the machine running the CLI, the worker or the tests. Environment variables win;
 * defaults keep everything under one data directory so a user can find (and delete) it.
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

import { loadTemporalConnectionSettings, plainConnectionSettings, type TemporalConnectionSettings } from './temporal-connection.ts';

export { DEFAULT_NAMESPACE, DEFAULT_TEMPORAL_ADDRESS } from './temporal-connection.ts';
export const DEFAULT_TASK_QUEUE = 'crystalmath';
export const DEFAULT_UI_PORT = 8233;

export interface Settings {
  /** Root of CrystalMath's own files: the dev server's SQLite DB, work directories, artifacts, pseudopotentials. */
  dataDir: string;
  /** Frontend address and namespace, as resolved by Temporal's environment configuration. */
  temporalAddress: string;
  namespace: string;
  /** The full connection settings (profile, TLS, API key); absent means plaintext to `temporalAddress`. */
  temporal?: TemporalConnectionSettings;
  taskQueue: string;
  /** Directory holding pseudopotential families, one sub-directory each with a family.json. */
  pseudoRoot: string;
  /** Where calculations run (one directory per workflow step and attempt). */
  workRoot: string;
  /** The local artifact store. */
  artifactRoot: string;
}

export function loadSettings(env: NodeJS.ProcessEnv = process.env): Settings {
  const xdg = env.XDG_DATA_HOME && env.XDG_DATA_HOME !== '' ? env.XDG_DATA_HOME : join(homedir(), '.local', 'share');
  const dataDir = resolve(env.CRYSTALMATH_HOME ?? join(xdg, 'crystalmath'));
  const temporal = loadTemporalConnectionSettings(env);
  return {
    dataDir,
    temporalAddress: temporal.address,
    namespace: temporal.namespace,
    temporal,
    taskQueue: env.CRYSTALMATH_TASK_QUEUE ?? DEFAULT_TASK_QUEUE,
    pseudoRoot: resolve(env.CRYSTALMATH_PSEUDO_DIR ?? join(dataDir, 'pseudos')),
    workRoot: resolve(env.CRYSTALMATH_WORK_DIR ?? join(dataDir, 'work')),
    artifactRoot: resolve(env.CRYSTALMATH_ARTIFACT_DIR ?? join(dataDir, 'artifacts')),
  };
}

/** The connection settings of `settings`, whether loaded from the environment or built by hand (tests, scripts). */
export function temporalConnectionOf(settings: Pick<Settings, 'temporalAddress' | 'namespace' | 'temporal'>): TemporalConnectionSettings {
  return { ...(settings.temporal ?? plainConnectionSettings(settings.temporalAddress)), address: settings.temporalAddress, namespace: settings.namespace };
}

/** The `temporal` CLI binary: $CRYSTALMATH_TEMPORAL_BIN, else the one scripts/fetch-temporal.sh installed, else PATH. */
export function temporalBinary(env: NodeJS.ProcessEnv = process.env): string {
  if (env.CRYSTALMATH_TEMPORAL_BIN) return env.CRYSTALMATH_TEMPORAL_BIN;
  const local = join(REPO_ROOT, '.tools', 'bin', 'temporal');
  if (existsSync(local)) return local;
  for (const dir of (env.PATH ?? '').split(':')) {
    if (dir && existsSync(join(dir, 'temporal'))) return join(dir, 'temporal');
  }
  throw new Error('The temporal CLI was not found. Run scripts/fetch-temporal.sh (or scripts/setup.sh), or set CRYSTALMATH_TEMPORAL_BIN.');
}
