/** The protocol names every code offers (each code's protocols.ts says what they mean for it). */
export const PROTOCOL_NAMES = ['fast', 'moderate', 'precise'] as const;
export type ProtocolName = (typeof PROTOCOL_NAMES)[number];

export function isProtocolName(x: string): x is ProtocolName {
  return (PROTOCOL_NAMES as readonly string[]).includes(x);
}
