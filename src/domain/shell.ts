/** POSIX shell quoting: every argument becomes one single-quoted word, so no name or path can inject a command. */
export function shellQuote(arg: string): string {
  if (/^[A-Za-z0-9_./=:,+@%-]+$/.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

export const shellJoin = (argv: string[]): string => argv.map(shellQuote).join(' ');

/** Newlines, tabs and other control characters: text with one would not stay on its line of a script. */
export const hasControlCharacters = (s: string): boolean => /[\u0000-\u001f\u007f]/.test(s);
