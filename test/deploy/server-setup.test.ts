/**
 * Connection settings the Temporal way (envconfig: profiles in a TOML file, TEMPORAL_* variables win) and
 * `crystalmath server init` / `server check` on a real server (the suite's dev server, a fresh namespace).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { SEARCH_ATTRIBUTE_NAMES } from '../../src/domain/search-attributes.ts';
import { checkServer, initServer } from '../../src/server-setup.ts';
import { loadSettings } from '../../src/settings.ts';
import { runCli } from '../support/cli.ts';
import {
  connectClientConnection,
  connectionOptions,
  describeTemporalConnection,
  loadTemporalConnectionSettings,
  TemporalSettingsError,
} from '../../src/temporal-connection.ts';

const dir = mkdtempSync(join(tmpdir(), 'crystalmath-envconfig-'));
const configFile = join(dir, 'temporal.toml');
writeFileSync(
  configFile,
  [
    '[profile.default]',
    'address = "10.0.0.1:7233"',
    'namespace = "materials"',
    '',
    '[profile.cloud]',
    'address = "crystal.a1b2c.tmprl.cloud:7233"',
    'namespace = "crystal.a1b2c"',
    'api_key = "sk-very-secret-key"',
    '',
    '[profile.mtls]',
    'address = "temporal.example.org:7233"',
    '[profile.mtls.tls]',
    `server_ca_cert_path = "${join(dir, 'no-such-ca.pem')}"`,
    'server_name = "temporal.example.org"',
    '',
  ].join('\n'),
);

describe('Temporal connection settings (envconfig)', () => {
  it('defaults to the local dev server without a config file', () => {
    const s = loadTemporalConnectionSettings({ HOME: dir });
    expect([s.address, s.namespace]).toEqual(['127.0.0.1:7233', 'default']);
  });

  it('reads the default profile, a named profile (TEMPORAL_PROFILE), and environment variables override the file', () => {
    expect(loadTemporalConnectionSettings({ TEMPORAL_CONFIG_FILE: configFile })).toMatchObject({ address: '10.0.0.1:7233', namespace: 'materials', profileName: 'default' });
    const cloud = loadTemporalConnectionSettings({ TEMPORAL_CONFIG_FILE: configFile, TEMPORAL_PROFILE: 'cloud' });
    expect(cloud).toMatchObject({ address: 'crystal.a1b2c.tmprl.cloud:7233', namespace: 'crystal.a1b2c' });
    // An API key turns TLS on, as in every Temporal SDK.
    expect(connectionOptions(cloud)).toMatchObject({ apiKey: 'sk-very-secret-key', tls: true });
    const overridden = loadTemporalConnectionSettings({ TEMPORAL_CONFIG_FILE: configFile, TEMPORAL_ADDRESS: '127.0.0.1:9999', TEMPORAL_NAMESPACE: 'other' });
    expect([overridden.address, overridden.namespace]).toEqual(['127.0.0.1:9999', 'other']);
    // The CLI, the worker and the client all read settings through loadSettings.
    const settings = loadSettings({ TEMPORAL_CONFIG_FILE: configFile, CRYSTALMATH_HOME: dir });
    expect([settings.temporalAddress, settings.namespace]).toEqual(['10.0.0.1:7233', 'materials']);
  });

  it('never shows the API key: not in the description, not in JSON of the settings', () => {
    const cloud = loadTemporalConnectionSettings({ TEMPORAL_CONFIG_FILE: configFile, TEMPORAL_PROFILE: 'cloud' });
    expect(describeTemporalConnection(cloud)).toMatch(/crystal\.a1b2c\.tmprl\.cloud:7233, namespace crystal\.a1b2c, TLS, API key set/);
    expect(describeTemporalConnection(cloud)).not.toContain('sk-very-secret-key');
    const settings = loadSettings({ TEMPORAL_CONFIG_FILE: configFile, TEMPORAL_PROFILE: 'cloud', CRYSTALMATH_HOME: dir });
    expect(JSON.stringify(settings)).not.toContain('sk-very-secret-key');
    expect(inspect(settings, { depth: 10 })).not.toContain('sk-very-secret-key'); // what console.log prints
  });

  it('bad settings name the setting: an unknown profile, a certificate file that does not exist', () => {
    expect(() => loadTemporalConnectionSettings({ TEMPORAL_CONFIG_FILE: configFile, TEMPORAL_PROFILE: 'nope' })).toThrow(TemporalSettingsError);
    expect(() => loadTemporalConnectionSettings({ TEMPORAL_CONFIG_FILE: configFile, TEMPORAL_PROFILE: 'nope' })).toThrow(/TEMPORAL_PROFILE.*Profile 'nope' not found/);
    const mtls = loadTemporalConnectionSettings({ TEMPORAL_CONFIG_FILE: configFile, TEMPORAL_PROFILE: 'mtls' });
    expect(() => connectionOptions(mtls)).toThrow(/tls section of profile "mtls".*no-such-ca\.pem/);
    const fromEnv = loadTemporalConnectionSettings({ TEMPORAL_TLS_SERVER_CA_CERT_PATH: join(dir, 'missing.pem'), HOME: dir });
    expect(() => connectionOptions(fromEnv)).toThrow(/TEMPORAL_TLS_SERVER_CA_CERT_PATH/);
    const typo = join(dir, 'typo.toml');
    writeFileSync(typo, '[profile.default]\nadress = "x:1"\n');
    expect(() => loadTemporalConnectionSettings({ TEMPORAL_CONFIG_FILE: typo })).toThrow(/adress/);
  });
});

describe('server init where the server refuses administrative calls (as Temporal Cloud does for API keys)', () => {
  // A stand-in for such a server's two services, answering only what these calls need: not a Temporal server.
  const denied = Object.assign(new Error('7 PERMISSION_DENIED: Request unauthorized.'), { code: 7 });
  const refusingServer = (namespaceExists: boolean) =>
    ({
      workflowService: {
        describeNamespace: async () => {
          if (!namespaceExists) throw Object.assign(new Error('5 NOT_FOUND'), { code: 5 });
          return { config: { workflowExecutionRetentionTtl: { seconds: 86_400 } } };
        },
        registerNamespace: async () => {
          throw denied;
        },
      },
      operatorService: {
        listSearchAttributes: async () => ({ customAttributes: {} }),
        addSearchAttributes: async () => {
          throw denied;
        },
      },
    }) as unknown as Connection;

  it('says where to create the namespace, or add the attributes, instead of a raw gRPC error', async () => {
    await expect(initServer(refusingServer(false), 'lab')).rejects.toThrow(/refused to create namespace lab \(permission denied\): create it where your Temporal service manages namespaces/);
    await expect(initServer(refusingServer(true), 'lab')).rejects.toThrow(/refused to add search attributes to lab \(permission denied\): add CrystalMathFormula=Keyword, CrystalMathAnalysis=Keyword/);
  });
});

describe('crystalmath server init / check', () => {
  const address = inject('temporalAddress');
  const namespace = `cm-init-${Date.now()}`;
  let connection: Connection;
  const cli = (...args: string[]) => runCli({ TEMPORAL_ADDRESS: address, TEMPORAL_NAMESPACE: namespace, CRYSTALMATH_HOME: dir }, args);

  beforeAll(async () => {
    connection = await connectClientConnection(loadTemporalConnectionSettings({ TEMPORAL_ADDRESS: address }));
  });
  afterAll(async () => connection?.close());

  it('check on a server without the namespace: lists what is missing, exit code 1', () => {
    const r = cli('server', 'check');
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`namespace ${namespace}: missing`);
    for (const name of SEARCH_ATTRIBUTE_NAMES) expect(r.stdout).toContain(`search attribute ${name} (Keyword): missing`);
  });

  it('init creates the namespace with its retention and every attribute; a second init is a no-op', () => {
    const first = cli('server', 'init', '--retention-days', '7', '--json');
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    const r1 = JSON.parse(first.stdout);
    expect(r1).toMatchObject({ namespace, namespaceState: 'created', retentionDays: 7, ready: true });
    expect(r1.searchAttributes.map((a: { state: string }) => a.state)).toEqual(SEARCH_ATTRIBUTE_NAMES.map(() => 'added'));
    const second = JSON.parse(cli('server', 'init', '--json').stdout);
    expect(second).toMatchObject({ namespaceState: 'present', retentionDays: 7, ready: true });
    expect(second.searchAttributes.map((a: { state: string }) => a.state)).toEqual(SEARCH_ATTRIBUTE_NAMES.map(() => 'present'));
    expect(cli('server', 'check').code).toBe(0);
  });

  it('against a server lacking one attribute, init adds just that one', async () => {
    const [lost, ...kept] = SEARCH_ATTRIBUTE_NAMES;
    await connection.operatorService.removeSearchAttributes({ namespace, searchAttributes: [lost!] });
    const before = await checkServer(connection, namespace);
    expect(before.ready).toBe(false);
    expect(before.searchAttributes.filter((a) => a.state === 'missing').map((a) => a.name)).toEqual([lost]);
    const after = await initServer(connection, namespace);
    expect(after.namespaceState).toBe('present');
    expect(after.searchAttributes).toEqual([{ name: lost, state: 'added' }, ...kept.map((name) => ({ name, state: 'present' }))]);
  });

  it('bad flags and settings: exit code 2 naming the flag or the setting', () => {
    const bad = cli('server', 'init', '--retention-days', '0');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--retention-days: /);
    const r = runCli({ TEMPORAL_CONFIG_FILE: configFile, TEMPORAL_PROFILE: 'missing-profile', CRYSTALMATH_HOME: dir }, ['server', 'check']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/TEMPORAL_PROFILE.*missing-profile/);
  });
});
