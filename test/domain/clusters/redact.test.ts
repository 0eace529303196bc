import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXAMPLE_CLUSTERS_DIR, loadClusterProfile, parseClusterProfile } from '../../../src/clusters/loader.ts';
import { looksSecret, REDACTED, redactProfile, summarizeProfile } from '../../../src/clusters/redact.ts';

const profile = parseClusterProfile(
  {
    name: 'secretive',
    scheduler: 'slurm',
    host: 'hpc.example.org',
    user: 'bob',
    auth: { type: 'password', passwordEnv: 'HPC_PASSWORD' },
    hostKeys: ['hpc.example.org ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK0orCEbxIbsbwc4eRUGGcdrZE/h412nuQOYRYcGuGIV'],
    workDir: '/home/bob/cm',
    partitions: [{ name: 'p', nodes: 1, coresPerNode: 8 }],
    environment: { OMP_NUM_THREADS: '1', LICENSE_TOKEN: 'tok-123456', DB_PASSWORD: 'pw-987654' },
    prepend: 'export VASP_API_KEY=key-555555\nexport PATH=/opt/bin:$PATH',
    executables: { 'vasp-std': { executable: 'vasp_std', environment: { VASP_SECRET: 'sec-424242', VASP_HOME: '/opt/vasp' } } },
  },
  'inline',
);

describe('redactProfile', () => {
  it('replaces secret-looking values and keeps everything else', () => {
    const safe = redactProfile(profile);
    const text = JSON.stringify(safe);
    for (const secret of ['tok-123456', 'pw-987654', 'key-555555', 'sec-424242']) expect(text).not.toContain(secret);
    expect(safe.environment).toEqual({ OMP_NUM_THREADS: '1', LICENSE_TOKEN: REDACTED, DB_PASSWORD: REDACTED });
    expect(safe.prepend).toBe(`export VASP_API_KEY=${REDACTED}\nexport PATH=/opt/bin:$PATH`);
    expect(safe.executables['vasp-std']!.environment).toEqual({ VASP_SECRET: REDACTED, VASP_HOME: '/opt/vasp' });
    // The variable's NAME is not a secret; the password itself never exists in a profile.
    expect(safe.auth).toEqual({ type: 'password', passwordEnv: 'HPC_PASSWORD' });
    expect(safe.host).toBe('hpc.example.org');
  });

  it('leaves the original untouched', () => {
    redactProfile(profile);
    expect(profile.environment.LICENSE_TOKEN).toBe('tok-123456');
  });

  it('keeps key paths', () => {
    const b = loadClusterProfile(join(EXAMPLE_CLUSTERS_DIR, 'beefcake2.yaml'));
    expect(redactProfile(b).auth).toEqual(b.auth);
    expect(redactProfile(b).partitions).toEqual(b.partitions);
  });

  it('knows which names look secret', () => {
    for (const n of ['PASSWORD', 'db_pass', 'GITHUB_TOKEN', 'API_KEY', 'AWS_SECRET_ACCESS_KEY', 'MY_CREDENTIALS']) expect(looksSecret(n), n).toBe(true);
    for (const n of ['PATH', 'OMP_NUM_THREADS', 'SLURM_CONF', 'VASP_HOME']) expect(looksSecret(n), n).toBe(false);
  });
});

describe('summarizeProfile', () => {
  it('describes how the cluster is reached without environment values', () => {
    const s = summarizeProfile(profile);
    expect(s).toContain('secretive: slurm over ssh bob@hpc.example.org:22 (password from $HPC_PASSWORD, 1 pinned host key(s))');
    expect(s).not.toMatch(/tok-|pw-|key-5|sec-4/);
    const b = summarizeProfile(loadClusterProfile(join(EXAMPLE_CLUSTERS_DIR, 'beefcake2.yaml')));
    expect(b).toMatch(/gpu \(8×40 cores, 4×V100S/);
  });
});
