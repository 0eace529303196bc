/**
 * `transportFor(profile)`: how activities reach a cluster. Over SSH when the profile says `transport: ssh`
 * (one pooled connection per cluster per worker process), else the worker's own machine.
 */
import type { ClusterProfile } from '../../domain/cluster-profile.ts';
import { LocalTransport } from './local.ts';
import { closeSshTransports, sshTransportFor } from './ssh.ts';
import type { Transport } from './types.ts';

export * from './errors.ts';
export * from './types.ts';
export { LocalTransport } from './local.ts';
export { SshTransport, closeSshTransports, sshConnectionAttempts, sshConnectionsOpened, sshTransportFor, type SshTransportOptions } from './ssh.ts';
export { fingerprintSha256, parseKnownHosts, verifyHostKey, type KnownHostEntry } from './known-hosts.ts';

const locals = new Map<string, LocalTransport>();

export function transportFor(profile: ClusterProfile): Transport {
  if (profile.transport === 'ssh') return sshTransportFor(profile);
  let t = locals.get(profile.name);
  if (!t) locals.set(profile.name, (t = new LocalTransport(profile.name)));
  return t;
}

/** Closes every pooled connection: call at worker shutdown and in test teardown. */
export async function closeAllTransports(): Promise<void> {
  locals.clear();
  await closeSshTransports();
}
