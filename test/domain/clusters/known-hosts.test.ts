import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  entryMatchesHost,
  fingerprintSha256,
  keyTypeOfBlob,
  parseKnownHosts,
  parseKnownHostsLine,
  preferredHostKeyAlgorithms,
  verifyHostKey,
} from '../../../src/activities/transport/known-hosts.ts';
import { ed25519Blob } from '../../support/cluster.ts';

const keyA = ed25519Blob();
const keyB = ed25519Blob();
const line = (hosts: string, key: Buffer, type = 'ssh-ed25519') => `${hosts} ${type} ${key.toString('base64')}`;

describe('known_hosts lines', () => {
  it('parses plain, [host]:port, marker and comment lines', () => {
    const { entries, invalid } = parseKnownHosts(
      ['# comment', '', line('[127.0.0.1]:2222', keyA) + ' my comment', `@revoked ${line('*', keyB)}`, 'garbage', line('h', keyA, 'ssh-rsa')],
      'hostKeys',
    );
    expect(entries).toHaveLength(2);
    expect(entries[0]).toMatchObject({ patterns: '[127.0.0.1]:2222', keyType: 'ssh-ed25519', source: 'hostKeys[2]' });
    expect(entries[0]!.key.equals(keyA)).toBe(true);
    expect(entries[1]!.marker).toBe('revoked');
    expect(invalid).toEqual([
      { source: 'hostKeys[4]', reason: 'expected "hosts keytype base64-key"' },
      { source: 'hostKeys[5]', reason: 'the key says ssh-ed25519, the line says ssh-rsa' },
    ]);
    expect(parseKnownHostsLine('   ')).toBeUndefined();
    expect(keyTypeOfBlob(keyA)).toBe('ssh-ed25519');
  });

  it('matches hosts the way OpenSSH does: [host]:port off port 22, wildcards, negation', () => {
    expect(entryMatchesHost({ patterns: '[127.0.0.1]:2222' }, '127.0.0.1', 2222)).toBe(true);
    expect(entryMatchesHost({ patterns: '[127.0.0.1]:2222' }, '127.0.0.1', 22)).toBe(false);
    expect(entryMatchesHost({ patterns: '127.0.0.1' }, '127.0.0.1', 2222)).toBe(false);
    expect(entryMatchesHost({ patterns: 'login1,login2.example.org' }, 'LOGIN2.example.org', 22)).toBe(true);
    expect(entryMatchesHost({ patterns: '*.example.org,!bad.example.org' }, 'bad.example.org', 22)).toBe(false);
    expect(entryMatchesHost({ patterns: '*.example.org,!bad.example.org' }, 'good.example.org', 22)).toBe(true);
    expect(entryMatchesHost({ patterns: 'login?.example.org' }, 'login7.example.org', 22)).toBe(true);
  });

  it('matches hashed entries written by ssh-keygen -H', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cm-kh-'));
    try {
      const file = join(dir, 'known_hosts');
      writeFileSync(file, `${line('[10.1.2.3]:2200', keyA)}\n${line('login.example.org', keyB)}\n`);
      const r = spawnSync('ssh-keygen', ['-H', '-f', file], { encoding: 'utf8' });
      if (r.error) return; // no ssh-keygen here: the plain forms are tested above
      const hashed = readFileSync(file, 'utf8');
      expect(hashed).toMatch(/^\|1\|/);
      const { entries } = parseKnownHosts(hashed, file);
      expect(verifyHostKey(entries, '10.1.2.3', 2200, keyA).ok).toBe(true);
      expect(verifyHostKey(entries, 'login.example.org', 22, keyB).ok).toBe(true);
      expect(verifyHostKey(entries, '10.1.2.3', 22, keyA).ok).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('verifyHostKey', () => {
  const { entries } = parseKnownHosts([line('[127.0.0.1]:2222', keyA), line('other.example.org', keyB)]);

  it('accepts the pinned key', () => {
    expect(verifyHostKey(entries, '127.0.0.1', 2222, keyA)).toMatchObject({ ok: true });
  });

  it('calls a different key of the same type "changed", with both fingerprints', () => {
    const v = verifyHostKey(entries, '127.0.0.1', 2222, keyB);
    expect(v).toEqual({ ok: false, reason: 'changed', keyType: 'ssh-ed25519', fingerprint: fingerprintSha256(keyB), pinned: [`ssh-ed25519 ${fingerprintSha256(keyA)}`] });
  });

  it('calls a host without entries "unknown"', () => {
    expect(verifyHostKey(entries, '127.0.0.2', 2222, keyA)).toMatchObject({ ok: false, reason: 'unknown', pinned: [] });
  });

  it('refuses revoked keys even when pinned', () => {
    const withRevoked = parseKnownHosts([line('[127.0.0.1]:2222', keyA), `@revoked ${line('*', keyA)}`]).entries;
    expect(verifyHostKey(withRevoked, '127.0.0.1', 2222, keyA)).toMatchObject({ ok: false, reason: 'revoked' });
  });

  it('prints fingerprints as ssh-keygen -l does', () => {
    expect(fingerprintSha256(keyA)).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
  });

  it('asks the server first for the key types that are pinned', () => {
    const rsa = parseKnownHosts([line('[127.0.0.1]:2222', keyA)]).entries;
    expect(preferredHostKeyAlgorithms(rsa, '127.0.0.1', 2222)).toEqual(['ssh-ed25519']);
    expect(preferredHostKeyAlgorithms(rsa, 'elsewhere', 22)).toEqual([]);
  });
});
