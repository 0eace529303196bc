/**
 * How the worker, the client and the CLI reach Temporal: the SDK's own environment configuration
 * (`@temporalio/envconfig`), so CrystalMath reads the same names with the same precedence as the Temporal CLI
 * and every other SDK: a profile from the TOML config file (`TEMPORAL_CONFIG_FILE`, else
 * ~/.config/temporalio/temporal.toml; `TEMPORAL_PROFILE`, else "default"), overridden by `TEMPORAL_ADDRESS`,
 * `TEMPORAL_NAMESPACE`, `TEMPORAL_API_KEY`, `TEMPORAL_TLS*`. The API key and key material never leave this
 * module in a printable form: `describe…` and errors name settings, never values of secrets.
 */
import { existsSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { Connection, type ConnectionOptions } from '@temporalio/client';
import { loadClientConfigProfile, toClientOptions, type ClientConfigProfile } from '@temporalio/envconfig';
import { NativeConnection, type NativeConnectionOptions } from '@temporalio/worker';

export const DEFAULT_TEMPORAL_ADDRESS = '127.0.0.1:7233';
export const DEFAULT_NAMESPACE = 'default';

/** What envconfig resolved, plus where it came from (for messages). Secrets stay inside `profile`. */
export interface TemporalConnectionSettings {
  address: string;
  namespace: string;
  /** Name of the profile used, and the file it came from when one was read. */
  profileName: string;
  configFile?: string;
  /** The resolved envconfig profile (holds the API key and TLS data: never print it). */
  profile: ClientConfigProfile;
  /** Which environment variables were set (names only), to name the setting in errors. */
  envNames: string[];
  /** JSON without secrets, so logging a settings object by mistake leaks nothing. */
  toJSON?(): unknown;
}

function redactedJSON(this: TemporalConnectionSettings): unknown {
  return { address: this.address, namespace: this.namespace, profileName: this.profileName, configFile: this.configFile, tls: usesTls(this), apiKey: this.profile.apiKey ? '<set>' : undefined };
}

/** `toJSON` for JSON.stringify and the same for console.log / util.inspect, which do not call toJSON. */
const redacted = { toJSON: redactedJSON, [Symbol.for('nodejs.util.inspect.custom')]: redactedJSON };

/** Connecting failed; the message names the setting to check, never a secret. */
export class TemporalConnectionError extends Error {
  override name = 'TemporalConnectionError';
}

/** The connection settings themselves are wrong (unknown profile, bad TOML, missing certificate file). */
export class TemporalSettingsError extends Error {
  override name = 'TemporalSettingsError';
}

type Env = NodeJS.ProcessEnv;

export function loadTemporalConnectionSettings(env: Env = process.env): TemporalConnectionSettings {
  const vars = Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => typeof e[1] === 'string'));
  const configFile = vars.TEMPORAL_CONFIG_FILE ?? defaultConfigFile(vars);
  const profileName = vars.TEMPORAL_PROFILE ?? 'default';
  let profile: ClientConfigProfile;
  try {
    profile = loadClientConfigProfile({ overrideEnvVars: vars, configFileStrict: true });
  } catch (e) {
    const where = configFile ? `config file ${configFile}` : 'the Temporal config file';
    throw new TemporalSettingsError(`Temporal connection settings (profile "${profileName}" in ${where}, TEMPORAL_PROFILE / TEMPORAL_CONFIG_FILE): ${(e as Error).message}`);
  }
  return {
    address: profile.address ?? DEFAULT_TEMPORAL_ADDRESS,
    namespace: profile.namespace ?? DEFAULT_NAMESPACE,
    profileName,
    configFile: configFile && existsSync(configFile) ? configFile : undefined,
    profile,
    envNames: Object.keys(vars).filter((k) => k.startsWith('TEMPORAL_')),
    ...redacted,
  };
}

/** The file envconfig reads when TEMPORAL_CONFIG_FILE is unset (Linux rule), so messages can name it. */
function defaultConfigFile(vars: Record<string, string>): string | undefined {
  const base = vars.XDG_CONFIG_HOME || (vars.HOME ? join(vars.HOME, '.config') : undefined);
  return base ? join(base, 'temporalio', 'temporal.toml') : undefined;
}

/** Connection options for `Connection` (client) and `NativeConnection` (worker): same fields, same meaning. */
export function connectionOptions(s: TemporalConnectionSettings): NativeConnectionOptions & ConnectionOptions {
  let options;
  try {
    options = toClientOptions({ ...s.profile, address: s.address }).connectionOptions;
  } catch (e) {
    // A TLS file that cannot be read: name the setting that points at it.
    throw new TemporalSettingsError(`Temporal TLS settings: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? `a file named by ${tlsSettingNames(s)} does not exist (${(e as Error).message.replace(/^.*?open /, '')})` : (e as Error).message}`);
  }
  return { ...options, address: s.address, connectTimeout: 10_000 } as NativeConnectionOptions & ConnectionOptions;
}

/** One line for logs and `server check`: address, namespace, profile, whether TLS / an API key are used (not their values). */
export function describeTemporalConnection(s: TemporalConnectionSettings): string {
  const tls = usesTls(s) ? `TLS${s.profile.tls?.serverName ? ` (server name ${s.profile.tls.serverName})` : ''}` : 'plaintext';
  const from = s.configFile ? `profile "${s.profileName}" of ${s.configFile}` : 'environment / defaults';
  return `${s.address}, namespace ${s.namespace}, ${tls}${s.profile.apiKey ? ', API key set' : ''} (${from})`;
}

export function usesTls(s: TemporalConnectionSettings): boolean {
  return (s.profile.tls !== undefined && s.profile.tls.disabled !== true) || s.profile.apiKey !== undefined;
}

export async function connectClientConnection(s: TemporalConnectionSettings): Promise<Connection> {
  const options = connectionOptions(s);
  try {
    return await Connection.connect(options);
  } catch (e) {
    throw await connectFailure(s, e);
  }
}

export async function connectNativeConnection(s: TemporalConnectionSettings): Promise<NativeConnection> {
  const options = connectionOptions(s);
  try {
    return await NativeConnection.connect(options);
  } catch (e) {
    throw await connectFailure(s, e);
  }
}

/** True when a Temporal frontend answers a cheap call with these settings (bad settings still throw). */
export async function temporalAnswers(s: TemporalConnectionSettings, timeoutMs = 1000): Promise<boolean> {
  const options = connectionOptions(s);
  let connection: Connection | undefined;
  try {
    connection = await Connection.connect({ ...options, connectTimeout: timeoutMs });
    await connection.withDeadline(Date.now() + timeoutMs, () => connection!.workflowService.getSystemInfo({}));
    return true;
  } catch {
    return false;
  } finally {
    await connection?.close().catch(() => undefined);
  }
}

/** Settings for a plaintext connection to `address` (the dev server, tests). */
export function plainConnectionSettings(address: string, namespace = DEFAULT_NAMESPACE): TemporalConnectionSettings {
  return { address, namespace, profileName: 'default', profile: {}, envNames: [], ...redacted };
}

/**
 * Turns an SDK connect error into one that says which setting to check. The SDK's own message is often just
 * "failed to connect before the deadline", so a failed connection is diagnosed with a plain TLS handshake to
 * the same address with the same CA, client pair and server name: its error tells a wrong CA from a wrong
 * server name, a missing client certificate, or a plaintext / TLS mismatch.
 */
async function connectFailure(s: TemporalConnectionSettings, e: unknown): Promise<TemporalConnectionError> {
  const cause = redact(s, e instanceof Error ? e.message : String(e));
  const diagnosis = await diagnoseTls(s);
  const hint = diagnosis ?? `check the address (${settingName(s, 'TEMPORAL_ADDRESS', 'address')}) and that the server is running`;
  return new TemporalConnectionError(`cannot connect to Temporal at ${s.address}: ${hint}. Cause: ${cause}`);
}

/** What a TLS handshake with these settings says, as advice naming the setting; undefined when TLS is not the problem. */
async function diagnoseTls(s: TemporalConnectionSettings): Promise<string | undefined> {
  const [host, portText] = splitAddress(s.address);
  const tlsConfig = usesTls(s) ? connectionOptions(s).tls : undefined;
  const cfg = typeof tlsConfig === 'object' && tlsConfig ? tlsConfig : {};
  const outcome = await new Promise<{ ok: true } | { ok: false; code?: string; message: string }>((resolve) => {
    const socket = tlsConnect({
      host,
      port: Number(portText),
      servername: cfg.serverNameOverride ?? (isIP(host) ? undefined : host),
      ca: cfg.serverRootCACertificate ? [Buffer.from(cfg.serverRootCACertificate)] : undefined,
      cert: cfg.clientCertPair ? Buffer.from(cfg.clientCertPair.crt) : undefined,
      key: cfg.clientCertPair ? Buffer.from(cfg.clientCertPair.key) : undefined,
      ALPNProtocols: ['h2'],
      rejectUnauthorized: usesTls(s),
    });
    const done = (r: { ok: true } | { ok: false; code?: string; message: string }) => {
      socket.destroy();
      resolve(r);
    };
    socket.setTimeout(3000, () => done({ ok: false, code: 'TIMEOUT', message: 'timed out' }));
    // TLS 1.3: a server that rejects the client certificate says so just after the handshake, so wait a moment.
    socket.on('secureConnect', () => setTimeout(() => done({ ok: true }), 300));
    socket.on('error', (err: NodeJS.ErrnoException) => done({ ok: false, code: err.code, message: err.message }));
  });
  const ca = settingName(s, 'TEMPORAL_TLS_SERVER_CA_CERT_PATH', 'tls.server_ca_cert_path');
  if (!usesTls(s)) {
    // A completed handshake, or a TLS alert (e.g. "certificate required" from an mTLS server), proves TLS.
    const speaksTls = outcome.ok || /alert|certificate required/i.test(outcome.message);
    return speaksTls ? 'the server speaks TLS but this client does not: set TEMPORAL_TLS=true and the server CA (TEMPORAL_TLS_SERVER_CA_CERT_PATH), or a profile\'s tls section' : undefined;
  }
  if (outcome.ok) return undefined;
  const why = `${outcome.code ?? ''} ${outcome.message}`;
  if (/SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|CERT_UNTRUSTED|unknown ca/i.test(why)) {
    return `the server's certificate is not signed by the CA in ${ca} (${outcome.message})`;
  }
  if (/ALTNAME|hostname|Host:/i.test(why)) {
    return `the server's certificate does not name "${cfg.serverNameOverride ?? host}": check ${settingName(s, 'TEMPORAL_TLS_SERVER_NAME', 'tls.server_name')} (${outcome.message})`;
  }
  if (/certificate required|bad certificate|handshake failure/i.test(why)) {
    return `the server refused this client's certificate (mutual TLS): check ${settingName(s, 'TEMPORAL_TLS_CLIENT_CERT_PATH', 'tls.client_cert_path')} and ${settingName(s, 'TEMPORAL_TLS_CLIENT_KEY_PATH', 'tls.client_key_path')} (${outcome.message})`;
  }
  if (/wrong version number|packet length|ECONNRESET|EPROTO/i.test(why)) {
    return `the server does not speak TLS there: check the address (${settingName(s, 'TEMPORAL_ADDRESS', 'address')}) or turn TLS off (TEMPORAL_TLS) (${outcome.message})`;
  }
  return undefined;
}

function splitAddress(address: string): [string, string] {
  const i = address.lastIndexOf(':');
  return i < 0 ? [address, '7233'] : [address.slice(0, i).replace(/^\[|\]$/g, ''), address.slice(i + 1)];
}

function settingName(s: TemporalConnectionSettings, envName: string, profileKey: string): string {
  if (s.envNames.includes(envName)) return envName;
  return s.configFile ? `${profileKey} of profile "${s.profileName}" in ${s.configFile}, or ${envName}` : envName;
}

function tlsSettingNames(s: TemporalConnectionSettings): string {
  const names = ['TEMPORAL_TLS_SERVER_CA_CERT_PATH', 'TEMPORAL_TLS_CLIENT_CERT_PATH', 'TEMPORAL_TLS_CLIENT_KEY_PATH'].filter((n) => s.envNames.includes(n));
  return names.length > 0 ? names.join(' / ') : `the tls section of profile "${s.profileName}"${s.configFile ? ` in ${s.configFile}` : ''}`;
}

/** An SDK message should never carry the key, but make sure. */
function redact(s: TemporalConnectionSettings, text: string): string {
  const key = s.profile.apiKey;
  return key ? text.split(key).join('<TEMPORAL_API_KEY>') : text;
}
