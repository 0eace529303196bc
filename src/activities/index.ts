/** All activities a CrystalMath worker serves, built from the worker's settings. */
import type { Settings } from '../settings.ts';
import { LocalArtifactStore } from './artifacts.ts';
import { analysisActivities } from './analysis.ts';
import { calculationActivities } from './calculation.ts';
import { nonRetryableReadErrors } from './deterministic.ts';
import { jobActivities } from './jobs.ts';
import { profileDirsFor, type ProfileSource } from './scheduler/profiles.ts';
import { symmetryActivities } from './symmetry.ts';

export interface ActivityOptions {
  /**
   * Directories holding cluster profiles (`<name>.yaml`), first match wins. Default: $CRYSTALMATH_CLUSTERS_DIR,
   * else `<settings.dataDir>/clusters`, then the repository's examples (see src/clusters/loader.ts).
   */
  clusterDirs?: readonly string[];
  /** The task queue of this worker's host (`hostTaskQueue`), when the worker serves one (src/worker.ts does). */
  hostTaskQueue?: string;
}

export function createActivities(
  settings: Pick<Settings, 'workRoot' | 'pseudoRoot' | 'artifactRoot'> & Partial<Pick<Settings, 'dataDir'>>,
  opts: ActivityOptions = {},
) {
  const store = new LocalArtifactStore(settings.artifactRoot);
  const profiles: ProfileSource = { dirs: opts.clusterDirs ?? profileDirsFor(settings.dataDir), localWorkDir: settings.workRoot };
  return nonRetryableReadErrors({
    ...calculationActivities({ workRoot: settings.workRoot, pseudoRoot: settings.pseudoRoot, store, profiles }),
    ...jobActivities({ profiles, ...(opts.hostTaskQueue ? { hostTaskQueue: opts.hostTaskQueue } : {}) }),
    ...analysisActivities({ store, workRoot: settings.workRoot, profiles }),
    ...symmetryActivities(),
  });
}

export type Activities = ReturnType<typeof createActivities>;
