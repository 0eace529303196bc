/** POSIX shell quoting: every argument becomes one single-quoted word, so no name or path can inject a command. */
export function shellQuote(arg: string): string {
  if (/^[A-Za-z0-9_./=:,+@%-]+$/.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

export const shellJoin = (argv: string[]): string => argv.map(shellQuote).join(' ');
