/**
 * Cluster profiles as activities see them: read from the worker's own clusters directories at the time of the
 * call (so a worker on a cluster's login node uses its own profile, e.g. `transport: local`, and a central
 * worker the SSH one, for the same workflow), cached for a few seconds (checkJob runs often), and errors
 * turned into non-retryable Temporal failures that name the file and the field.
 */
import { existsSync } from 'node:fs';
import { availableParallelism, totalmem } from 'node:os';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { ClusterProfileError, clusterDirs, getClusterProfile, loadClusterProfile, PROFILE_EXTENSIONS } from '../../clusters/loader.ts';
import { makeLocalProfile } from '../../clusters/local.ts';
import { LOCAL_CLUSTER_NAME, type ClusterProfile, type CodeExecutable } from '../../domain/cluster-profile.ts';

export interface ProfileSource {
  /** Directories searched for `<name>.yaml`, first match wins (see src/clusters/loader.ts). */
  dirs: readonly string[];
  /** Work directory of the built-in `local` profile (the worker's settings), when no local.yaml overrides it. */
  localWorkDir: string;
}

/** The directories a worker with this data directory searches (CRYSTALMATH_CLUSTERS_DIR wins). */
export function profileDirsFor(dataDir: string | undefined, env: NodeJS.ProcessEnv = process.env): string[] {
  return clusterDirs(dataDir ? { ...env, CRYSTALMATH_HOME: dataDir } : env);
}

const TTL_MS = 5_000;
const cache = new Map<string, { at: number; profile?: ClusterProfile; error?: unknown }>();

/** The profile `name` for an activity; a bad or missing profile is a non-retryable `ClusterProfileError` failure. */
export function activityProfile(name: string, source: ProfileSource): ClusterProfile {
  const key = `${source.dirs.join(':')}\0${source.localWorkDir}\0${name}`;
  const hit = cache.get(key);
  const now = Date.now();
  if (hit && now - hit.at < TTL_MS) {
    if (hit.error) throw hit.error;
    return hit.profile!;
  }
  try {
    const profile = loadProfile(name, source);
    cache.set(key, { at: now, profile });
    return profile;
  } catch (e) {
    const failure =
      e instanceof ClusterProfileError
        ? ApplicationFailure.create({ message: e.message, type: 'ClusterProfileError', nonRetryable: true, details: [{ file: e.file, issues: e.issues }] })
        : e;
    cache.set(key, { at: now, error: failure });
    throw failure;
  }
}

function loadProfile(name: string, source: ProfileSource): ClusterProfile {
  if (name === LOCAL_CLUSTER_NAME) {
    // A local.yaml overrides the built-in profile; the built-in one is made from this worker's settings
    // (getClusterProfile's would use the process environment's, and a worker may have others).
    for (const dir of source.dirs) {
      for (const ext of PROFILE_EXTENSIONS) {
        const file = join(dir, `${name}${ext}`);
        if (existsSync(file)) return loadClusterProfile(file);
      }
    }
    return makeLocalProfile({ workDir: source.localWorkDir, cores: availableParallelism(), memoryGb: totalmem() / 1024 ** 3 });
  }
  return getClusterProfile(name, source.dirs);
}

/** The code's executable on a cluster, or a non-retryable failure naming what is missing. */
export function executableFor(profile: ClusterProfile, code: string): CodeExecutable {
  const exe = profile.executables[code];
  if (!exe) {
    throw ApplicationFailure.nonRetryable(
      `cluster ${profile.name} has no executable for ${code} (add executables.${code} to its profile; it has ${Object.keys(profile.executables).join(', ') || 'none'})`,
      'ExecutableMissing',
    );
  }
  return exe;
}

/** Forget cached profiles (tests that rewrite a profile file). */
export function clearProfileCache(): void {
  cache.clear();
}
