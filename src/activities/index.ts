/** All activities a CrystalMath worker serves, built from the worker's settings. */
import type { Settings } from '../settings.ts';
import { LocalArtifactStore } from './artifacts.ts';
import { calculationActivities } from './calculation.ts';
import { jobActivities } from './jobs.ts';

export function createActivities(settings: Pick<Settings, 'workRoot' | 'pseudoRoot' | 'artifactRoot'>) {
  const store = new LocalArtifactStore(settings.artifactRoot);
  return {
    ...calculationActivities({ workRoot: settings.workRoot, pseudoRoot: settings.pseudoRoot, store }),
    ...jobActivities,
  };
}

export type Activities = ReturnType<typeof createActivities>;
