/** The SLURM executor and everything it needs on a cluster: profiles, status cache, staging, heartbeats. */
export { cancelSlurmJob, checkSlurmJob, readExitMarker, submitSlurmJob } from './slurm.ts';
export { resetStatusCaches, schedulerMetrics, SlurmStatusCache, statusCacheFor, type SchedulerMetrics, type SlurmJobStatus } from './status-cache.ts';
export { activityProfile, clearProfileCache, executableFor, profileDirsFor, type ProfileSource } from './profiles.ts';
export { copyRemoteParentFiles, ensureRemotePseudoFamily, readRemoteText, remotePath, remotePseudoDir, withLocalTemp } from './staging.ts';
export { keepAlive } from './heartbeat.ts';
