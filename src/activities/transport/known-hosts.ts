/**
 * known_hosts lines and strict host-key checks, the way OpenSSH reads them:
 *   `host1,host2 ssh-ed25519 AAAA... comment`, `[host]:port ...` for ports other than 22, wildcards `*` `?`,
 *   negations `!pattern`, hashed names `|1|salt|hmac`, markers `@revoked` (and `@cert-authority`, ignored:
 *   host certificates are not supported).
 * Pure apart from hashing.
 */
import { createHash, createHmac } from 'node:crypto';

export interface KnownHostEntry {
  marker?: 'revoked' | 'cert-authority';
  /** The host patterns field, e.g. `[127.0.0.1]:2222` or `|1|...|...` or `a.example,b.example`. */
  patterns: string;
  keyType: string;
  /** The public key blob (SSH wire format). */
  key: Buffer;
  /** Where the line came from, for messages: `file:line` or `hostKeys[0]`. */
  source: string;
}

export interface KnownHostsParse {
  entries: KnownHostEntry[];
  /** Lines that are not blank, not comments and not entries. */
  invalid: { source: string; reason: string }[];
}

/** The SSH string at the start of a key blob: its key type, e.g. `ssh-ed25519`. */
export function keyTypeOfBlob(blob: Buffer): string | undefined {
  if (blob.length < 4) return undefined;
  const len = blob.readUInt32BE(0);
  if (len === 0 || len > 64 || 4 + len > blob.length) return undefined;
  return blob.subarray(4, 4 + len).toString('latin1');
}

/** OpenSSH's fingerprint: `SHA256:` + unpadded base64 of the blob's SHA-256. */
export function fingerprintSha256(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/** Parses one line; undefined for blanks and comments; throws with the reason for anything malformed. */
export function parseKnownHostsLine(line: string, source = 'known_hosts'): KnownHostEntry | undefined {
  const text = line.trim();
  if (text === '' || text.startsWith('#')) return undefined;
  const fields = text.split(/\s+/);
  let marker: KnownHostEntry['marker'];
  if (fields[0]?.startsWith('@')) {
    const m = fields.shift()!.slice(1);
    if (m !== 'revoked' && m !== 'cert-authority') throw new Error(`unknown marker @${m}`);
    marker = m;
  }
  const [patterns, keyType, b64] = fields;
  if (!patterns || !keyType || !b64) throw new Error('expected "hosts keytype base64-key"');
  if (!/^[A-Za-z0-9+/]+={0,3}$/.test(b64)) throw new Error('the key is not base64');
  const key = Buffer.from(b64, 'base64');
  const embedded = keyTypeOfBlob(key);
  if (embedded === undefined) throw new Error('the key is not an SSH public key');
  if (embedded !== keyType) throw new Error(`the key says ${embedded}, the line says ${keyType}`);
  return { ...(marker ? { marker } : {}), patterns, keyType, key, source };
}

/** Parses known_hosts text (a file or the profile's `hostKeys` lines). */
export function parseKnownHosts(lines: string | readonly string[], sourceName = 'known_hosts'): KnownHostsParse {
  const list = typeof lines === 'string' ? lines.split(/\r?\n/) : lines;
  const out: KnownHostsParse = { entries: [], invalid: [] };
  list.forEach((line, i) => {
    const source = typeof lines === 'string' ? `${sourceName}:${i + 1}` : `${sourceName}[${i}]`;
    try {
      const e = parseKnownHostsLine(line, source);
      if (e) out.entries.push(e);
    } catch (err) {
      out.invalid.push({ source, reason: (err as Error).message });
    }
  });
  return out;
}

/** The name a known_hosts line must match: `host` on port 22, `[host]:port` otherwise. */
export function knownHostName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

function wildcardMatch(pattern: string, name: string): boolean {
  const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 'i');
  return re.test(name);
}

function hashedMatch(pattern: string, name: string): boolean {
  // |1|base64(salt)|base64(HMAC-SHA1(salt, name))
  const parts = pattern.split('|');
  if (parts.length !== 4 || parts[1] !== '1' || !parts[2] || !parts[3]) return false;
  const mac = createHmac('sha1', Buffer.from(parts[2], 'base64')).update(name).digest('base64');
  return mac === parts[3];
}

/** True when the entry's host patterns match `host` on `port` (and no negated pattern does). */
export function entryMatchesHost(entry: Pick<KnownHostEntry, 'patterns'>, host: string, port: number): boolean {
  const name = knownHostName(host, port);
  if (entry.patterns.startsWith('|')) return hashedMatch(entry.patterns, name);
  let matched = false;
  for (const p of entry.patterns.split(',')) {
    if (p.startsWith('!')) {
      if (wildcardMatch(p.slice(1), name)) return false;
    } else if (wildcardMatch(p, name)) matched = true;
  }
  return matched;
}

export type HostKeyVerdict =
  | { ok: true; entry: KnownHostEntry }
  | { ok: false; reason: 'unknown' | 'changed' | 'revoked'; keyType: string; fingerprint: string; pinned: string[] };

/**
 * Checks the key a server presented against known entries. `changed`: the host has an entry of the same key
 * type with another key. `unknown`: no entry of that type for the host. `revoked`: an `@revoked` line has it.
 */
export function verifyHostKey(entries: readonly KnownHostEntry[], host: string, port: number, blob: Buffer): HostKeyVerdict {
  const keyType = keyTypeOfBlob(blob) ?? 'unknown-key-type';
  const fingerprint = fingerprintSha256(blob);
  if (entries.some((e) => e.marker === 'revoked' && e.key.equals(blob))) return { ok: false, reason: 'revoked', keyType, fingerprint, pinned: [] };
  const forHost = entries.filter((e) => e.marker === undefined && entryMatchesHost(e, host, port));
  const exact = forHost.find((e) => e.key.equals(blob));
  if (exact) return { ok: true, entry: exact };
  const sameType = forHost.filter((e) => e.keyType === keyType);
  return {
    ok: false,
    reason: sameType.length ? 'changed' : 'unknown',
    keyType,
    fingerprint,
    pinned: (sameType.length ? sameType : forHost).map((e) => `${e.keyType} ${fingerprintSha256(e.key)}`),
  };
}

const HOST_KEY_ALGORITHMS: Record<string, string[]> = {
  'ssh-ed25519': ['ssh-ed25519'],
  'ecdsa-sha2-nistp256': ['ecdsa-sha2-nistp256'],
  'ecdsa-sha2-nistp384': ['ecdsa-sha2-nistp384'],
  'ecdsa-sha2-nistp521': ['ecdsa-sha2-nistp521'],
  'ssh-rsa': ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'],
};

/** Host-key algorithms to ask the server for first, so it presents a key type we have pinned (as OpenSSH does). */
export function preferredHostKeyAlgorithms(entries: readonly KnownHostEntry[], host: string, port: number): string[] {
  const out: string[] = [];
  for (const e of entries) {
    if (e.marker !== undefined || !entryMatchesHost(e, host, port)) continue;
    for (const a of HOST_KEY_ALGORITHMS[e.keyType] ?? []) if (!out.includes(a)) out.push(a);
  }
  return out;
}
