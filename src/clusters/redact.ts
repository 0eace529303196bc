/**
 * Safe views of a profile for logs, the CLI and workflow results. A profile never holds a password (only the
 * name of the variable that does); key and known_hosts paths are fine to show. What could still leak are
 * environment variables and `prepend` text a user filled with tokens: values whose names look secret are
 * replaced. Pure.
 */
import type { ClusterProfile, CodeExecutable } from '../domain/cluster-profile.ts';

export const REDACTED = '<redacted>';
const SECRET_NAME_RE = /pass(word|wd|phrase)?|secret|token|credential|api_?key|private_?key|auth/i;

/** True for environment-variable names that usually hold secrets (PASSWORD, API_KEY, GITHUB_TOKEN, ...). */
export const looksSecret = (name: string): boolean => SECRET_NAME_RE.test(name);

function redactEnv(env: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, looksSecret(k) ? REDACTED : v]));
}

/** `export GITHUB_TOKEN=abc` / `FOO_SECRET="x"` in shell text → the value replaced. */
function redactShell(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  return text.replace(/\b([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|'[^']*'|\S*)/g, (all, name: string) => (looksSecret(name) ? `${name}=${REDACTED}` : all));
}

/** A deep copy that is safe to print or store: secret-looking values replaced, nothing else removed. */
export function redactProfile(profile: ClusterProfile): ClusterProfile {
  const copy = JSON.parse(JSON.stringify(profile)) as ClusterProfile;
  const auth = copy.auth;
  if (auth) {
    // Only these keys are ever allowed (the schema refuses `password` / `passphrase` values); rebuild to be sure.
    copy.auth =
      auth.type === 'key'
        ? { type: 'key', keyFile: auth.keyFile, ...(auth.passphraseEnv ? { passphraseEnv: auth.passphraseEnv } : {}) }
        : auth.type === 'agent'
          ? { type: 'agent', socketEnv: auth.socketEnv }
          : { type: 'password', passwordEnv: auth.passwordEnv };
  }
  copy.environment = redactEnv(copy.environment);
  const prepend = redactShell(copy.prepend);
  if (prepend !== undefined) copy.prepend = prepend;
  copy.executables = Object.fromEntries(
    Object.entries(copy.executables).map(([code, e]): [string, CodeExecutable] => {
      const p = redactShell(e.prepend);
      return [code, { ...e, environment: redactEnv(e.environment), ...(p !== undefined ? { prepend: p } : {}) }];
    }),
  );
  return copy;
}

/** One paragraph about a profile for the CLI and logs (no secrets, no environment values). */
export function summarizeProfile(profile: ClusterProfile): string {
  const where =
    profile.transport === 'ssh'
      ? `over ssh ${profile.user}@${profile.host}:${profile.port} (${authSummary(profile)}, ${profile.hostKeys.length} pinned host key(s)${profile.knownHostsFile ? `, known_hosts ${profile.knownHostsFile}` : ''})`
      : 'on the worker machine';
  const parts = profile.partitions.map((p) => {
    const gpu = p.gpusPerNode > 0 ? `, ${p.gpusPerNode}×${p.gpuType ?? 'GPU'}` : '';
    return `${p.name}${p.default ? '*' : ''} (${p.nodes}×${p.coresPerNode} cores${gpu}${p.maxWalltime !== undefined ? `, max ${p.maxWalltime}` : ''})`;
  });
  return [
    `${profile.name}: ${profile.scheduler} ${where}`,
    `workDir ${profile.workDir}${profile.scratchDir ? `, scratch ${profile.scratchDir}` : ''}`,
    parts.length ? `partitions ${parts.join(', ')}` : undefined,
    Object.keys(profile.executables).length ? `codes ${Object.keys(profile.executables).join(', ')}` : undefined,
  ]
    .filter(Boolean)
    .join('; ');
}

function authSummary(profile: ClusterProfile): string {
  const a = profile.auth;
  if (!a) return 'no auth';
  if (a.type === 'key') return `key ${a.keyFile}`;
  if (a.type === 'agent') return `agent $${a.socketEnv}`;
  return `password from $${a.passwordEnv}`;
}
