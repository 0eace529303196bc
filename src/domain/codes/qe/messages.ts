/**
 * The warnings and error messages of a parsed run: each made one short line, kept in a bounded list without
 * repeats.
 */
import { NUM_RE } from './text.ts';

const MAX_MESSAGE_CHARS = 300;

export function shorten(s: string, max = MAX_MESSAGE_CHARS): string {
  const one = s.replace(/\s+/g, ' ').trim();
  return one.length > max ? `${one.slice(0, max - 1)}…` : one;
}

export class MessageSet {
  private readonly items: string[] = [];
  private readonly seen = new Set<string>();
  constructor(private readonly max: number) {}
  /** Messages that differ only in their numbers count as one (the first is kept). */
  add(message: string): void {
    const m = shorten(message);
    const key = m.replace(NUM_RE, '#');
    if (!m || this.seen.has(key)) return;
    this.seen.add(key);
    if (this.items.length < this.max) this.items.push(m);
  }
  has(pred: (m: string) => boolean): boolean {
    return this.items.some(pred);
  }
  list(): string[] {
    return [...this.items];
  }
}
