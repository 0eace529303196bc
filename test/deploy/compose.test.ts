/**
 * docker-compose.yml must parse and validate with a real Compose parser (Debian's docker-compose: no Docker
 * engine runs here), and pin the versions the production-topology tests run.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { FULL_SERVER_VERSION, postgresBinDir } from '../support/full-server.ts';

const config = parse(execFileSync('docker-compose', ['-f', 'docker-compose.yml', 'config'], { encoding: 'utf8' }));
const services = config.services as Record<string, { image?: string; build?: unknown; command?: string[]; environment?: Record<string, string> }>;
const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };

describe('docker-compose.yml', () => {
  it('validates with docker-compose config: PostgreSQL, schema job, server, init, UI, workers, release job', () => {
    expect(Object.keys(services).sort()).toEqual(['crystalmath-init', 'crystalmath-release', 'crystalmath-worker', 'postgresql', 'temporal', 'temporal-schema', 'temporal-ui']);
    expect(services['crystalmath-worker']!.build).toBeDefined();
    expect(Object.keys(config.volumes).sort()).toEqual(['crystalmath-data', 'postgres-data']);
  });

  it('pins the Temporal server and admin tools to the version the full-server tests run', () => {
    expect(services.temporal!.image).toBe(`temporalio/server:${FULL_SERVER_VERSION}`);
    expect(services['temporal-schema']!.image).toBe(`temporalio/admin-tools:${FULL_SERVER_VERSION}`);
    expect(services['crystalmath-release']!.image).toBe(`temporalio/admin-tools:${FULL_SERVER_VERSION}`);
    for (const s of Object.values(services)) expect(s.image, JSON.stringify(s)).toMatch(/:[0-9][\w.-]*$/); // no `latest`
  });

  it('runs PostgreSQL of the major version the full-server tests run on (where PostgreSQL is installed)', () => {
    const bin = postgresBinDir();
    if (!bin) return; // a user's clone without PostgreSQL: nothing to compare with
    expect(services.postgresql!.image).toMatch(new RegExp(`^postgres:${basename(dirname(bin))}\\.`));
  });

  it('sets up the server with `crystalmath server init` and versions workers with the package version', () => {
    expect(services['crystalmath-init']!.command).toEqual(['server', 'init']);
    expect(services['crystalmath-worker']!.image).toBe(`crystalmath-worker:${pkg.version}`);
    expect(services['crystalmath-worker']!.environment).toMatchObject({ TEMPORAL_DEPLOYMENT_NAME: 'crystalmath', TEMPORAL_WORKER_BUILD_ID: pkg.version, CRYSTALMATH_LOG_FORMAT: 'json' });
    // The build id is the release everywhere: the job that makes it current, and the init job's image.
    expect(services['crystalmath-release']!.environment).toMatchObject({ BUILD_ID: pkg.version });
    expect(services['crystalmath-init']!.image).toBe(`crystalmath-worker:${pkg.version}`);
  });
});
