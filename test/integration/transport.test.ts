/**
 * Transports against the real thing: the key-only sshd and single-node SLURM started by
 * scripts/local-cluster.sh (see test/support/cluster.ts), and the local machine.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AuthError,
  closeAllTransports,
  CommandTimeoutError,
  ConnectionError,
  fingerprintSha256,
  HostKeyError,
  LocalTransport,
  parseKnownHosts,
  sshConnectionAttempts,
  sshConnectionsOpened,
  SshTransport,
  transportFor,
  TransportFileError,
  type Transport,
} from '../../src/activities/transport/index.ts';
import type { ClusterProfile } from '../../src/domain/cluster-profile.ts';
import { sleep } from '../../src/process.ts';
import { describeCluster, ed25519Blob, killSshSessions, startLocalCluster, type LocalCluster } from '../support/cluster.ts';
import { freePort } from '../support/ports.ts';

const canaryName = `crystalmath-pwned-${process.pid}`;
/** Where an injected `touch` would leave its mark: an absolute path, and a bare name in likely cwds. */
const canary = join(tmpdir(), canaryName);
const canaries = () => [canary, join(homedir(), canaryName), join(process.cwd(), canaryName)];
/** File names a shell would act on if they were ever pasted into a command line unquoted (no `/` in names). */
const NASTY = [
  "'; rm -rf ~ #",
  `$(touch ${canaryName})`,
  `\`touch ${canaryName}\``,
  `"; touch ${canaryName}; "`,
  "it's here",
  'semi;colon&amp|pipe',
  '$HOME and *',
  '-n',
];
/** Parameters may hold anything. */
const NASTY_PARAMS = [...NASTY, "'; rm -rf / #", `$(touch ${canary})`, `'; touch ${canary}; '`, 'line\nbreak', ''];

const localTmp = mkdtempSync(join(tmpdir(), 'crystalmath-transport-'));
afterAll(() => {
  rmSync(localTmp, { recursive: true, force: true });
  for (const c of canaries()) rmSync(c, { force: true });
});

/** Checks every transport must pass: quoting, scripts, stdin, exit codes, files. `dir` must not exist yet. */
async function commonChecks(t: Transport, dir: string): Promise<void> {
  await t.mkdirp(dir);
  await t.mkdirp(dir); // idempotent
  for (const name of NASTY) {
    const r = await t.exec(['touch', '--', join(dir, name)]);
    expect(r, name).toMatchObject({ code: 0, stderr: '' });
  }
  expect(readdirSync(dir).sort()).toEqual([...NASTY].sort());
  // The classic, as a path: a directory "'; rm -rf " holding a file " #".
  const classic = join(dir, "'; rm -rf / #");
  await t.mkdirp(join(dir, "'; rm -rf "));
  expect(await t.exec(['touch', classic])).toMatchObject({ code: 0, stderr: '' });
  expect(existsSync(classic)).toBe(true);
  expect((await t.exec(['ls', '-d', classic])).stdout).toBe(`${classic}\n`);

  // Parameters, cwd and environment values are words too.
  const nastyDir = join(dir, NASTY[0]!.slice(0, 5) + ' dir $(id)');
  await t.mkdirp(nastyDir);
  const payload0 = `$(touch ${canary}); '; touch ${canary}`;
  const echo = await t.exec(['sh', '-c', 'printf "%s|" "$PWD" "$PAYLOAD" "$@"', 'sh', ...NASTY_PARAMS], { cwd: nastyDir, env: { PAYLOAD: payload0 } });
  expect(echo).toMatchObject({ code: 0, stdout: [nastyDir, payload0, ...NASTY_PARAMS].join('|') + '|' });
  for (const c of canaries()) expect(existsSync(c), c).toBe(false);

  // Exit statuses, stderr, stdin, scripts.
  expect(await t.exec(['sh', '-c', 'echo oops >&2; exit 7'])).toEqual({ code: 7, stdout: '', stderr: 'oops\n' });
  expect((await t.exec(['crystalmath-no-such-command'])).code).toBe(127);
  expect((await t.exec(['cat'], { stdin: 'from stdin\n' })).stdout).toBe('from stdin\n');
  const script = await t.exec({ script: 'set -e\necho "running in $(pwd)"\nprintf "%s" "$GREETING"\nexit 3\n' }, { cwd: dir, env: { GREETING: 'hi $(id)' } });
  expect(script).toEqual({ code: 3, stdout: `running in ${dir}\nhi $(id)`, stderr: '' });
  const killed = await t.exec(['sh', '-c', 'kill -9 $$']);
  expect(killed).toMatchObject({ code: 137, signal: 'SIGKILL' });
  await expect(t.exec(['sleep', '10'], { timeoutMs: 300 })).rejects.toSatisfy((e) => e instanceof CommandTimeoutError && e.retryable);

  // Files: upload/download round trip of binary data through names with quotes and spaces.
  const payload = randomBytes(300_000);
  const src = join(localTmp, `src ${NASTY[0]}`);
  const back = join(localTmp, `back ${NASTY[1]}`);
  writeFileSync(src, payload);
  const remote = join(dir, 'sub dir', NASTY[3]!);
  await t.mkdirp(join(dir, 'sub dir'));
  await t.upload(src, remote);
  expect(await t.exists(remote)).toBe(true);
  await t.download(remote, back);
  expect(readFileSync(back).equals(payload)).toBe(true);
  expect(readFileSync(remote).equals(payload)).toBe(true);

  await t.writeFile(join(dir, 'note.txt'), 'Si ✓ 5.431 Å\n', { mode: 0o640 });
  expect(await t.readFile(join(dir, 'note.txt'), 'utf8')).toBe('Si ✓ 5.431 Å\n');
  expect((await t.readFile(join(dir, 'note.txt'))).equals(Buffer.from('Si ✓ 5.431 Å\n'))).toBe(true);
  expect(await t.exists(join(dir, 'missing'))).toBe(false);
  await expect(t.readFile(join(dir, 'missing'))).rejects.toSatisfy(
    (e) => e instanceof TransportFileError && e.code === 'ENOENT' && e.nonRetryable === true && e.path === join(dir, 'missing'),
  );
  await expect(t.mkdirp(join(dir, 'note.txt'))).rejects.toSatisfy((e) => e instanceof TransportFileError && e.code === 'ENOTDIR');
  // A full disk is transient (Temporal retries it): /dev/full answers every write with ENOSPC.
  await expect(t.writeFile('/dev/full', 'x'.repeat(100_000))).rejects.toSatisfy(
    (e) => e instanceof TransportFileError && e.retryable && e.nonRetryable === false && e.path === '/dev/full' && e.message.includes('/dev/full'),
  );
  await t.mkdirp(join(dir, 'a', 'b', 'c'));
  expect(await t.exists(join(dir, 'a', 'b', 'c'))).toBe(true);
  for (const c of canaries()) expect(existsSync(c), c).toBe(false);
}

describe('LocalTransport', () => {
  it('passes the common checks', async () => {
    await commonChecks(new LocalTransport(), join(localTmp, 'local-run'));
  });
});

describeCluster('SshTransport → the local cluster (scripts/local-cluster.sh)', () => {
  let cluster: LocalCluster;
  let profile: ClusterProfile;
  let dir: string;
  const realKey = () => parseKnownHosts(profile.hostKeys).entries[0]!.key;

  beforeAll(async () => {
    cluster = await startLocalCluster();
    profile = cluster.profile;
    dir = join(profile.workDir, `transport-test-${process.pid}-${Date.now()}`);
  });
  afterAll(async () => {
    await closeAllTransports();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('is the generated local-slurm profile, host key pinned', () => {
    expect(profile).toMatchObject({ name: 'local-slurm', scheduler: 'slurm', transport: 'ssh', host: '127.0.0.1', auth: { type: 'key' } });
    expect(profile.hostKeys[0]).toMatch(new RegExp(`^\\[127\\.0\\.0\\.1\\]:${profile.port} ssh-ed25519 `));
    expect(profile.partitions[0]).toMatchObject({ name: 'debug', nodes: 1 });
  });

  it('passes the common checks: no name, path or parameter can inject a command', async () => {
    await commonChecks(transportFor(profile), dir);
  });

  it('shares one connection among 20 concurrent commands and stays under MaxSessions', async () => {
    await closeAllTransports();
    const before = sshConnectionsOpened();
    const t = transportFor(profile) as SshTransport;
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => t.exec(['sh', '-c', `sleep 0.2; echo ${i} $$`])));
    expect(sshConnectionsOpened() - before).toBe(1);
    expect(results.map((r) => r.stdout.split(' ')[0])).toEqual(Array.from({ length: 20 }, (_, i) => String(i)));
    expect(new Set(results.map((r) => r.stdout.split(' ')[1])).size).toBe(20);
    expect(t.peakChannels).toBeGreaterThan(1);
    expect(t.peakChannels).toBeLessThanOrEqual(profile.ssh.maxChannels - 1);
    expect(transportFor(profile)).toBe(t);
    await t.exists('/'); // the SFTP session rides on the same connection
    expect(sshConnectionsOpened() - before).toBe(1);
  });

  it('fails calls in flight retryably when the connection dies, and the next call reconnects', async () => {
    const t = transportFor(profile);
    await t.exec(['true']);
    const before = sshConnectionsOpened();
    const inflight = t.exec(['sleep', '30']);
    await sleep(500);
    expect(killSshSessions().length).toBeGreaterThan(0);
    const err = await inflight.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ConnectionError);
    expect((err as ConnectionError).retryable).toBe(true);
    expect((err as ConnectionError).nonRetryable).toBe(false);
    expect((err as Error).message).toMatch(/127\.0\.0\.1:\d+ \(cluster local-slurm\) was lost/);
    expect(await t.exec(['echo', 'back'])).toMatchObject({ code: 0, stdout: 'back\n' });
    expect(await t.readFile(join(dir, 'note.txt'), 'utf8')).toContain('Si');
    expect(sshConnectionsOpened() - before).toBe(1);
  });

  it('stops a timed-out command on the cluster too', async () => {
    const t = transportFor(profile);
    const marker = `${3000 + (process.pid % 1000)}`; // a sleep length unique to this run
    const running = () =>
      readdirSync('/proc')
        .filter((p) => /^\d+$/.test(p))
        .some((p) => {
          try {
            return readFileSync(`/proc/${p}/cmdline`, 'utf8') === `sleep\0${marker}\0`;
          } catch {
            return false;
          }
        });
    const started = Date.now();
    await expect(t.exec(['sleep', marker], { timeoutMs: 500 })).rejects.toBeInstanceOf(CommandTimeoutError);
    expect(Date.now() - started).toBeLessThan(1500);
    for (let i = 0; i < 50 && running(); i++) await sleep(100);
    expect(running()).toBe(false);
    expect((await t.exec(['echo', 'still fine'])).stdout).toBe('still fine\n');
  });

  it('reaches SLURM: the node is idle and an sbatch job completes', async () => {
    const t = transportFor(profile);
    const sinfo = await t.exec(['sinfo', '-h', '-o', '%P %t %D']);
    expect(sinfo.code).toBe(0);
    expect(sinfo.stdout).toMatch(/^debug\* (idle|mix|alloc) 1$/m);
    const sub = await t.exec(['sbatch', '--parsable', '-J', 'cm-transport-test', '-D', dir, '-o', join(dir, 'slurm-%j.out'), '--wrap', 'hostname; echo "arg: $1"']);
    expect(sub).toMatchObject({ code: 0, stderr: '' });
    const jobId = sub.stdout.trim().split(';')[0]!;
    let state = '';
    for (let i = 0; i < 100 && !/JobState=(COMPLETED|FAILED|CANCELLED|TIMEOUT)/.test(state); i++) {
      await sleep(300);
      state = (await t.exec(['scontrol', 'show', 'job', '-o', jobId])).stdout;
    }
    expect(state).toMatch(/JobState=COMPLETED/);
    expect(state).toMatch(/ExitCode=0:0/);
    const host = spawnSync('hostname', { encoding: 'utf8' }).stdout.trim();
    expect(await t.readFile(join(dir, `slurm-${jobId}.out`), 'utf8')).toContain(host);
  });

  it('refuses a changed host key with a non-retryable HostKeyError, before anything runs', async () => {
    const wrong: ClusterProfile = {
      ...profile,
      name: 'local-slurm-changed-key',
      knownHostsFile: undefined,
      hostKeys: [`[127.0.0.1]:${profile.port} ssh-ed25519 ${ed25519Blob().toString('base64')}`],
    };
    const t = new SshTransport(wrong, { connectAttempts: 3 });
    const opened = sshConnectionsOpened();
    const attempts = sshConnectionAttempts();
    const err = await t.exec(['touch', canary]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HostKeyError);
    const e = err as HostKeyError;
    expect(e.nonRetryable).toBe(true);
    expect(e.retryable).toBe(false);
    expect(e.type).toBe('HostKeyError');
    expect(e.reason).toBe('changed');
    expect(e.fingerprint).toBe(fingerprintSha256(realKey()));
    expect(e.message).toContain(`127.0.0.1 port ${profile.port}`);
    expect(e.message).toContain(e.fingerprint);
    expect(e.message).toMatch(/HOST KEY CHANGED/);
    expect(existsSync(canary)).toBe(false);
    expect(sshConnectionsOpened()).toBe(opened);
    expect(sshConnectionAttempts() - attempts).toBe(1); // not retried
    await t.close();
  });

  it('refuses an unknown host (no key pinned for this host and port)', async () => {
    const elsewhere: ClusterProfile = {
      ...profile,
      name: 'local-slurm-unknown',
      knownHostsFile: undefined,
      hostKeys: [`[127.0.0.1]:${profile.port + 1} ssh-ed25519 ${realKey().toString('base64')}`],
    };
    const err = await new SshTransport(elsewhere).exec(['true']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HostKeyError);
    expect((err as HostKeyError).reason).toBe('unknown');
    expect((err as Error).message).toContain(`[127.0.0.1]:${profile.port} ssh-ed25519 ${realKey().toString('base64')}`);
  });

  it('fails authentication with a key the server does not accept: non-retryable AuthError', async () => {
    const keyFile = join(localTmp, 'stranger_ed25519');
    const gen = spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', keyFile]);
    expect(gen.status).toBe(0);
    const attempts = sshConnectionAttempts();
    const stranger = new SshTransport({ ...profile, name: 'local-slurm-stranger', auth: { type: 'key', keyFile } });
    const err = await stranger.exec(['touch', canary]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthError);
    expect((err as AuthError).nonRetryable).toBe(true);
    expect((err as Error).message).toContain(`authentication failed for root@127.0.0.1:${profile.port}`);
    expect((err as Error).message).toContain(keyFile);
    expect(sshConnectionAttempts() - attempts).toBe(1);
    expect(existsSync(canary)).toBe(false);

    const missing = await new SshTransport({ ...profile, name: 'x1', auth: { type: 'key', keyFile: join(localTmp, 'nope') } }).exec(['true']).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(AuthError);
    expect((missing as Error).message).toMatch(/cannot read key file .*nope \(no such file\)/);
    const junkFile = join(localTmp, 'junk_key');
    writeFileSync(junkFile, 'not a key\n');
    const junk = await new SshTransport({ ...profile, name: 'x2', auth: { type: 'key', keyFile: junkFile } }).exec(['true']).catch((e: unknown) => e);
    expect(junk).toBeInstanceOf(AuthError);
    expect((junk as Error).message).toMatch(/is not a usable private key/);
    const noPw = await new SshTransport({ ...profile, name: 'x3', auth: { type: 'password', passwordEnv: 'CRYSTALMATH_TEST_UNSET_PW' } }, { env: {} })
      .exec(['true'])
      .catch((e: unknown) => e);
    expect(noPw).toBeInstanceOf(AuthError);
    expect((noPw as Error).message).toMatch(/CRYSTALMATH_TEST_UNSET_PW \(auth.passwordEnv\) is not set/);
  });

  it('never sends a password it was given by environment variable to a log or message', async () => {
    const secret = `pw-${randomBytes(6).toString('hex')}`;
    const t = new SshTransport({ ...profile, name: 'local-slurm-pw', auth: { type: 'password', passwordEnv: 'CM_PW' } }, { env: { CM_PW: secret }, connectAttempts: 1 });
    const err = await t.exec(['true']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthError); // the server takes keys only
    expect(JSON.stringify({ message: (err as Error).message, stack: (err as Error).stack })).not.toContain(secret);
    expect((err as Error).message).toContain('the password from $CM_PW');
  });

  it('treats a refused connection as retryable, with backoff between attempts', async () => {
    const port = await freePort();
    const t = new SshTransport(
      { ...profile, name: 'local-slurm-refused', port, hostKeys: [`[127.0.0.1]:${port} ssh-ed25519 ${realKey().toString('base64')}`] },
      { connectAttempts: 3, backoffMs: 50 },
    );
    const attempts = sshConnectionAttempts();
    const started = Date.now();
    const err = await t.exec(['true']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectionError);
    expect((err as ConnectionError).retryable).toBe(true);
    expect((err as Error).message).toMatch(/ECONNREFUSED/);
    expect(sshConnectionAttempts() - attempts).toBe(3);
    expect(Date.now() - started).toBeGreaterThanOrEqual(50 + 100);
  });
});
