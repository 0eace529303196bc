/** The full server's config file, as data: ports, datastores, TLS only when asked, errors that name the field. */
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { TemporalServerConfigError, temporalDynamicConfig, temporalServerConfig, type TemporalServerConfigOptions } from '../../src/deploy/temporal-server-config.ts';

const base: TemporalServerConfigOptions = {
  postgres: { port: 15432, user: 'temporal', password: 'secret' },
  ports: {
    frontend: { grpc: 17233, membership: 16933, http: 17243 },
    history: { grpc: 17234, membership: 16934 },
    matching: { grpc: 17235, membership: 16935 },
    worker: { grpc: 17239, membership: 16939 },
  },
  dynamicConfigFile: '/srv/temporal/dynamic-config.yaml',
};
const tls = {
  caFile: '/c/ca.pem',
  certFile: '/c/server.pem',
  keyFile: '/c/server.key',
  clientCertFile: '/c/client.pem',
  clientKeyFile: '/c/client.key',
  serverName: 'localhost',
};

describe('temporalServerConfig', () => {
  it('gives every service its own ports on 127.0.0.1 and points internal clients at the frontend', () => {
    const c = parse(temporalServerConfig(base));
    expect(c.services.frontend.rpc).toEqual({ grpcPort: 17233, membershipPort: 16933, httpPort: 17243, bindOnIP: '127.0.0.1' });
    expect(c.services.history.rpc).toEqual({ grpcPort: 17234, membershipPort: 16934, bindOnIP: '127.0.0.1' });
    expect(c.services.matching.rpc.grpcPort).toBe(17235);
    expect(c.services.worker.rpc.membershipPort).toBe(16939);
    expect(Object.keys(c.services).sort()).toEqual(['frontend', 'history', 'matching', 'worker']);
    expect(c.global.membership.broadcastAddress).toBe('127.0.0.1');
    expect(c.publicClient.hostPort).toBe('127.0.0.1:17233');
    expect(c.clusterMetadata.enableGlobalNamespace).toBe(false);
    expect(c.clusterMetadata.currentClusterName).toBe(c.clusterMetadata.masterClusterName);
    expect(c.clusterMetadata.clusterInformation[c.clusterMetadata.currentClusterName].rpcAddress).toBe('127.0.0.1:17233');
    expect(c.dcRedirectionPolicy.policy).toBe('noop');
    expect(c.dynamicConfigClient.filepath).toBe('/srv/temporal/dynamic-config.yaml');
    // Nothing on a fixed port that two servers on one machine would fight over.
    expect(c.global.pprof).toBeUndefined();
    expect(c.global.metrics).toBeUndefined();
  });

  it('has two postgres12 datastores: temporal (default) and temporal_visibility', () => {
    const p = parse(temporalServerConfig(base)).persistence;
    expect(p.defaultStore).toBe('temporal');
    expect(p.visibilityStore).toBe('temporal_visibility');
    for (const [store, db] of [['temporal', 'temporal'], ['temporal_visibility', 'temporal_visibility']] as const) {
      expect(p.datastores[store].sql).toMatchObject({ pluginName: 'postgres12', databaseName: db, connectAddr: '127.0.0.1:15432', user: 'temporal', password: 'secret' });
    }
  });

  it('has a TLS section only when asked, for the frontend listener and for the server\'s own clients of it', () => {
    expect(parse(temporalServerConfig(base)).global.tls).toBeUndefined();
    const t = parse(temporalServerConfig({ ...base, tls })).global.tls;
    expect(t.frontend.server).toEqual({ certFile: '/c/server.pem', keyFile: '/c/server.key', requireClientAuth: true, clientCaFiles: ['/c/ca.pem'] });
    expect(t.frontend.client).toEqual({ serverName: 'localhost', rootCaFiles: ['/c/ca.pem'] });
    expect(t.systemWorker).toEqual({ certFile: '/c/client.pem', keyFile: '/c/client.key', client: { serverName: 'localhost', rootCaFiles: ['/c/ca.pem'] } });
    expect(t.internode).toBeUndefined();
    const serverOnly = parse(temporalServerConfig({ ...base, tls: { ...tls, requireClientAuth: false } })).global.tls.frontend.server;
    expect(serverOnly).toEqual({ certFile: '/c/server.pem', keyFile: '/c/server.key' });
  });

  it('names the bad field', () => {
    const bad = (o: unknown) => () => temporalServerConfig(o as TemporalServerConfigOptions);
    expect(bad({ ...base, ports: { ...base.ports, history: { grpc: 'x', membership: 1 } } })).toThrow(/ports\.history\.grpc: /);
    expect(bad({ ...base, postgres: { port: 70000, user: 'u', password: 'p' } })).toThrow(/postgres\.port: /);
    expect(bad({ ...base, tls: { ...tls, serverName: undefined } })).toThrow(/tls\.serverName: /);
    expect(bad({ ...base, ports: { ...base.ports, worker: { grpc: 17233, membership: 16939 } } })).toThrow(/ports\.worker\.grpc: port 17233 is also ports\.frontend\.grpc/);
    expect(bad({ ...base, ports: { ...base.ports, matching: { grpc: 17235, membership: 40000 } } })).toThrow(/ports\.matching\.membership: must be at most 32767/);
    expect(bad({ ...base, dynamicConfigFile: '' })).toThrow(TemporalServerConfigError);
  });
});

describe('temporalDynamicConfig', () => {
  it('is an empty map by default and `key: [{ value }]` otherwise', () => {
    expect(parse(temporalDynamicConfig())).toEqual({});
    expect(parse(temporalDynamicConfig({ 'system.forceSearchAttributesCacheRefreshOnRead': true }))).toEqual({
      'system.forceSearchAttributesCacheRefreshOnRead': [{ value: true }],
    });
  });
});
