import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { availableParallelism, homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { rmSync } from 'node:fs';
import {
  builtinLocalProfile,
  ClusterProfileError,
  clusterDirs,
  EXAMPLE_CLUSTERS_DIR,
  getClusterProfile,
  listClusterProfiles,
  loadClusterProfile,
  parseClusterProfile,
} from '../../../src/clusters/loader.ts';
import { ClusterProfileSchema, findPartition, formatWalltime, mpiArgv, unreachableTimeoutSeconds, walltimeSeconds } from '../../../src/domain/cluster-profile.ts';

const tmp = mkdtempSync(join(tmpdir(), 'crystalmath-clusters-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

let n = 0;
/** Writes `text` as <dir>/<name>.yaml and returns the path. */
function profileFile(text: string, name = 'testcluster', dir = join(tmp, `d${n++}`)): string {
  mkdirSync(dir, { recursive: true });
  const f = join(dir, `${name}.yaml`);
  writeFileSync(f, text);
  return f;
}

const VALID = `
scheduler: slurm
host: login.example.org
user: alice
auth: { type: key, keyFile: keys/id_ed25519 }
hostKeys: ["login.example.org ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK0orCEbxIbsbwc4eRUGGcdrZE/h412nuQOYRYcGuGIV"]
workDir: /scratch/{user}/cm
partitions:
  - { name: short, nodes: 4, coresPerNode: 16, maxWalltime: 4 }
`;

function loadError(text: string, name?: string): ClusterProfileError {
  const f = profileFile(text, name);
  try {
    loadClusterProfile(f);
  } catch (e) {
    expect(e).toBeInstanceOf(ClusterProfileError);
    const err = e as ClusterProfileError;
    expect(err.file).toBe(f);
    expect(err.message).toContain(f);
    expect(err.nonRetryable).toBe(true);
    return err;
  }
  throw new Error('expected the profile to be refused');
}

describe('the beefcake2 example', () => {
  const p = loadClusterProfile(join(EXAMPLE_CLUSTERS_DIR, 'beefcake2.yaml'));

  it('loads with its partitions, GPUs and codes', () => {
    expect(p.name).toBe('beefcake2');
    expect(p.scheduler).toBe('slurm');
    expect(p.transport).toBe('ssh');
    expect(p.partitions.map((x) => x.name)).toEqual(['compute', 'gpu']);
    expect(p.partitions.every((x) => x.coresPerNode === 40)).toBe(true);
    const gpu = findPartition(p, 'gpu')!;
    expect(gpu.gpusPerNode).toBeGreaterThan(0);
    expect(gpu.gpuType).toBe('V100S');
    expect(findPartition(p)?.name).toBe('compute');
    for (const code of ['vasp-std', 'qe-pw', 'yambo', 'crystal23', 'wannier90']) expect(p.executables[code], code).toBeDefined();
    expect(p.executables['qe-pw']!.executable).toBe('pw.x');
    expect(p.executables['yambo-p2y']!.mpi).toBe(false);
    expect(p.mpi).toEqual({ launcher: 'srun', args: [] });
  });

  it('expands {user} and ~/ and never holds a secret', () => {
    expect(p.workDir).toBe(`/scratch/${p.user}/crystalmath`);
    expect(p.auth).toEqual({ type: 'key', keyFile: join(homedir(), '.ssh', 'id_ed25519') });
    expect(p.knownHostsFile).toBe(join(homedir(), '.ssh', 'known_hosts'));
    expect(p.ssh.maxChannels).toBeLessThan(10);
  });

  it('is found by name through the default directories', () => {
    expect(getClusterProfile('beefcake2', clusterDirs({ CRYSTALMATH_CLUSTERS_DIR: join(tmp, 'nothing-here') })).name).toBe('beefcake2');
  });
});

describe('loadClusterProfile', () => {
  it('takes the name from the file and resolves a relative key file against the profile directory', () => {
    const f = profileFile(VALID);
    const p = loadClusterProfile(f);
    expect(p.name).toBe('testcluster');
    expect(p.auth).toEqual({ type: 'key', keyFile: join(f, '..', 'keys', 'id_ed25519') });
    expect(p.workDir).toBe('/scratch/alice/cm');
    expect(p.port).toBe(22);
    expect(p.pollIntervalSeconds).toBe(30);
    expect(walltimeSeconds(p.partitions[0]!.maxWalltime!)).toBe(4 * 3600);
  });

  it('names the file, the field path and the reason for a wrong type', () => {
    const err = loadError(VALID.replace('coresPerNode: 16', 'coresPerNode: sixteen'));
    expect(err.issues).toEqual([{ path: 'partitions[0].coresPerNode', message: expect.stringMatching(/expected number/) }]);
    expect(err.message).toMatch(/partitions\[0\]\.coresPerNode: .*expected number/);
  });

  it('refuses unknown fields (typos) by name', () => {
    const err = loadError(`${VALID}\npartitons: []\n`);
    expect(err.message).toMatch(/Unrecognized key.*partitons/);
  });

  it('refuses a password value and asks for the name of a variable instead', () => {
    const err = loadError(VALID.replace('auth: { type: key, keyFile: keys/id_ed25519 }', 'auth: { type: password, password: hunter2 }'));
    const paths = err.issues.map((i) => i.path);
    expect(paths).toContain('auth.password');
    expect(paths).toContain('auth.passwordEnv');
    expect(err.message).toMatch(/never put a password/);
    expect(err.message).not.toContain('hunter2');
  });

  it('accepts a password by environment-variable name, and agent auth', () => {
    const pw = loadClusterProfile(profileFile(VALID.replace('{ type: key, keyFile: keys/id_ed25519 }', '{ type: password, passwordEnv: CLUSTER_PW }')));
    expect(pw.auth).toEqual({ type: 'password', passwordEnv: 'CLUSTER_PW' });
    const agent = loadClusterProfile(profileFile(VALID.replace('{ type: key, keyFile: keys/id_ed25519 }', '{ type: agent }')));
    expect(agent.auth).toEqual({ type: 'agent', socketEnv: 'SSH_AUTH_SOCK' });
    const bad = loadError(VALID.replace('{ type: key, keyFile: keys/id_ed25519 }', '{ type: password, passwordEnv: "not a name" }'));
    expect(bad.issues[0]!.path).toBe('auth.passwordEnv');
  });

  it('requires host, user and auth for SSH and a partition for SLURM', () => {
    const err = loadError('scheduler: slurm\nhost: h\nworkDir: /w\n');
    expect(err.issues.map((i) => i.path).sort()).toEqual(['auth', 'partitions', 'user']);
  });

  it('checks walltimes, paths, partitions and host-key lines', () => {
    const err = loadError(
      VALID.replace('maxWalltime: 4', 'maxWalltime: "3 days"')
        .replace('workDir: /scratch/{user}/cm', 'workDir: scratch/cm')
        .replace('"login.example.org ssh-ed25519 AAAA', '"login.example.org AAAA'),
    );
    const byPath = Object.fromEntries(err.issues.map((i) => [i.path, i.message]));
    expect(byPath['partitions[0].maxWalltime']).toMatch(/D-HH:MM:SS/);
    expect(byPath['workDir']).toMatch(/absolute/);
    expect(byPath['hostKeys[0]']).toMatch(/known_hosts line/);
    const dup = loadError(VALID.replace('partitions:\n', 'partitions:\n  - { name: short, nodes: 1, coresPerNode: 2 }\n'));
    expect(dup.issues).toEqual([{ path: 'partitions[1].name', message: 'duplicate partition "short"' }]);
  });

  it('gives up on an unreachable cluster after unreachableTimeout: 72 hours unless set (hours or D-HH:MM:SS)', () => {
    expect(unreachableTimeoutSeconds(loadClusterProfile(profileFile(VALID)))).toBe(72 * 3600);
    expect(unreachableTimeoutSeconds(loadClusterProfile(profileFile(`${VALID}unreachableTimeout: "7-00:00:00"\n`)))).toBe(7 * 86400);
    expect(unreachableTimeoutSeconds(loadClusterProfile(profileFile(`${VALID}unreachableTimeout: 12\n`)))).toBe(12 * 3600);
    expect(loadError(`${VALID}unreachableTimeout: "soon"\n`).issues[0]).toMatchObject({ path: 'unreachableTimeout' });
  });

  it('names a bad executables key', () => {
    const err = loadError(`${VALID}executables:\n  "pw x": pw.x\n`);
    expect(err.issues[0]!.path).toBe('executables["pw x"]');
    expect(err.issues[0]!.message).toMatch(/code ids/);
  });

  it('refuses newlines and control characters in what goes into the job script, naming the field', () => {
    const base = { name: 'x', scheduler: 'slurm', workDir: '/w', partitions: [{ name: 'p', nodes: 1, coresPerNode: 1 }] };
    const err = (() => {
      try {
        parseClusterProfile(
          {
            ...base,
            workDir: '/w\n#SBATCH --uid=0',
            partitions: [{ name: 'p', nodes: 1, coresPerNode: 1, gpuType: 'a100\r' }],
            account: 'proj\nrm -rf ~',
            qos: 'normal\t',
            modules: ['gcc/12\ntouch /tmp/pwned'],
            environment: { A: 'ok', B: 'x\ny' },
            mpi: { launcher: 'srun\n', args: ['-n\u0000'] },
            executables: { 'qe-pw': { executable: 'pw.x\nid', modules: ['qe/7\n'], environment: { C: '\u001b[31m' } } },
          },
          'inline',
        );
      } catch (e) {
        return e as ClusterProfileError;
      }
      throw new Error('expected the profile to be refused');
    })();
    expect(err.issues.map((i) => i.path).sort()).toEqual(
      [
        'workDir',
        'partitions[0].gpuType',
        'account',
        'qos',
        'modules[0]',
        'environment.B',
        'mpi.launcher',
        'mpi.args[0]',
        'executables["qe-pw"].executable',
        'executables["qe-pw"].modules[0]',
        'executables["qe-pw"].environment.C',
      ].sort(),
    );
    for (const i of err.issues) expect(i.message, i.path).toMatch(/must be one line, without newlines or other control characters/);
    // Shell text on purpose (several lines) stays allowed, and so do ordinary values.
    const ok = parseClusterProfile({ ...base, prepend: 'source /a\nsource /b', environment: { A: "it's $(here)", N: 4 }, modules: ['qe/7.2'] }, 'inline');
    expect(ok.prepend).toBe('source /a\nsource /b');
  });

  it('reports YAML syntax errors and a name that disagrees with the file name', () => {
    expect(loadError('scheduler: [slurm\n').message).toMatch(/not valid YAML/);
    const err = loadError(`name: other\n${VALID}`);
    expect(err.issues).toEqual([{ path: 'name', message: expect.stringMatching(/testcluster\.yaml/) }]);
  });

  it('reports a missing file', () => {
    expect(() => loadClusterProfile(join(tmp, 'missing.yaml'))).toThrow(/cannot read cluster profile .*missing\.yaml: no such file/);
  });
});

describe('getClusterProfile', () => {
  it('searches the directories in order and lists what exists', () => {
    const a = join(tmp, 'first');
    const b = join(tmp, 'second');
    profileFile(VALID.replace('nodes: 4', 'nodes: 1'), 'site', a);
    profileFile(VALID.replace('nodes: 4', 'nodes: 2'), 'site', b);
    profileFile(VALID, 'other', b);
    expect(getClusterProfile('site', [a, b]).partitions[0]!.nodes).toBe(1);
    expect(getClusterProfile('other', [a, b]).name).toBe('other');
    expect(listClusterProfiles([a, b])).toEqual(['local', 'other', 'site']);
  });

  it('says where it looked when a profile is missing, and refuses path-like names', () => {
    expect(() => getClusterProfile('nope', [tmp])).toThrow(/no cluster profile "nope": looked for nope\.yaml in .*available: local/);
    expect(() => getClusterProfile('../etc/passwd', [tmp])).toThrow(/not a cluster name/);
  });

  it('reads CRYSTALMATH_CLUSTERS_DIR, else $CRYSTALMATH_HOME/clusters, then the examples', () => {
    expect(clusterDirs({ CRYSTALMATH_CLUSTERS_DIR: '/a:/b' })).toEqual(['/a', '/b', EXAMPLE_CLUSTERS_DIR]);
    expect(clusterDirs({ CRYSTALMATH_HOME: '/home/x/cm' })).toEqual(['/home/x/cm/clusters', EXAMPLE_CLUSTERS_DIR]);
  });
});

describe('the built-in local profile', () => {
  it('is this machine: local transport and scheduler, its cores, the settings work directory', () => {
    const p = builtinLocalProfile({ CRYSTALMATH_HOME: '/data/cm' });
    expect(p.name).toBe('local');
    expect(p.transport).toBe('local');
    expect(p.scheduler).toBe('local');
    expect(p.workDir).toBe('/data/cm/work');
    expect(p.partitions[0]!.coresPerNode).toBe(availableParallelism());
    expect(p.executables['qe-pw']!.executable).toBe('pw.x');
    expect(p.auth).toBeUndefined();
  });

  it('is what getClusterProfile("local") returns unless a local.yaml overrides it', () => {
    expect(getClusterProfile('local', [join(tmp, 'none')]).transport).toBe('local');
    const dir = join(tmp, 'override');
    profileFile('scheduler: local\nworkDir: /elsewhere\n', 'local', dir);
    expect(getClusterProfile('local', [dir]).workDir).toBe('/elsewhere');
  });
});

describe('schema helpers', () => {
  it('reads walltimes as hours or SLURM times', () => {
    expect(walltimeSeconds(48)).toBe(48 * 3600);
    expect(walltimeSeconds(0.5)).toBe(1800);
    expect(walltimeSeconds('7-00:00:00')).toBe(7 * 86400);
    expect(walltimeSeconds('1-12:30')).toBe(86400 + 12 * 3600 + 1800);
    expect(walltimeSeconds('2-06')).toBe(2 * 86400 + 6 * 3600);
    expect(walltimeSeconds('12:00:00')).toBe(12 * 3600);
    for (const bad of ['3 days', '12:00', '1-00:61:00', '', -1, 0]) expect(walltimeSeconds(bad), String(bad)).toBeUndefined();
    expect(formatWalltime(86400 + 3661)).toBe('1-01:01:01');
  });

  it('fills MPI launcher placeholders', () => {
    const p = parseClusterProfile({ name: 'x', scheduler: 'local', workDir: '/w', mpi: 'mpirun -np {ranks} --map-by ppr:{ranksPerNode}:node' }, 'inline');
    expect(mpiArgv(p, { ranks: 8, nodes: 2 })).toEqual(['mpirun', '-np', '8', '--map-by', 'ppr:4:node']);
    expect(mpiArgv({ mpi: undefined }, { ranks: 4 })).toEqual([]);
    const srun = ClusterProfileSchema.parse({ name: 'y', scheduler: 'local', workDir: '/w', mpi: { launcher: 'srun', args: ['--cpus-per-task={cpusPerTask}'] } });
    expect(mpiArgv(srun, { ranks: 4, cpusPerTask: 10 })).toEqual(['srun', '--cpus-per-task=10']);
  });
});
