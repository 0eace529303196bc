/**
 * One real Temporal dev server for the whole suite: the binary scripts/fetch-temporal.sh installed (never a
 * download at run time), started by the project's own launcher, with an on-disk SQLite DB and CrystalMath's
 * search attributes. Test files connect to it with TestWorkflowEnvironment.createFromExistingServer.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startDevServer } from '../../src/devserver.ts';
import { temporalBinary } from '../../src/settings.ts';
import { freePort } from './ports.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    temporalBinary: string;
  }
}

export default async function setup(project: TestProject) {
  const binary = temporalBinary();
  const dir = mkdtempSync(join(tmpdir(), 'crystalmath-test-temporal-'));
  const server = await startDevServer({
    binary,
    dbFile: join(dir, 'temporal.db'),
    logFile: join(dir, 'server.log'),
    port: await freePort(),
    startTimeoutSeconds: 60,
  });
  project.provide('temporalAddress', server.address);
  project.provide('temporalBinary', binary);
  return async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  };
}
