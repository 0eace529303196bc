/** docker-compose.yml must parse and validate with a real Compose parser (no Docker engine runs here). */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { SEARCH_ATTRIBUTE_NAMES } from '../../src/domain/search-attributes.ts';

describe('docker-compose.yml', () => {
  it('validates with docker-compose config', () => {
    const out = execFileSync('docker-compose', ['-f', 'docker-compose.yml', 'config'], { encoding: 'utf8' });
    const config = parse(out);
    expect(Object.keys(config.services).sort()).toEqual(['crystalmath-worker', 'postgresql', 'temporal', 'temporal-init', 'temporal-schema', 'temporal-ui']);
    expect(config.services.temporal.image).toBe('temporalio/server:1.32.1');
    expect(config.services['crystalmath-worker'].build).toBeDefined();
  });

  it('registers every search attribute the workflows use', () => {
    const text = readFileSync('docker-compose.yml', 'utf8');
    for (const name of SEARCH_ATTRIBUTE_NAMES) expect(text).toContain(name);
  });
});
