/**
 * Cluster profiles and resource estimates: the pure parts, safe to import anywhere (workflows included).
 * Reading profile files is in `./loader.ts` (`loadClusterProfile`, `getClusterProfile`), imported explicitly
 * by activities, the CLI and tests.
 */
export * from './schema.ts';
export * from './resources.ts';
export * from './redact.ts';
export * from './local.ts';
