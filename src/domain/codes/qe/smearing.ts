/**
 * Smearing functions: the kind behind the names QE uses for them (input, stdout, XML) and the occupation each
 * gives a state (QE's wgauss).
 */

export type SmearingKind = 'gaussian' | 'mp' | 'mv' | 'fd';

export function smearingKind(text: string): SmearingKind | undefined {
  const s = text.toLowerCase();
  if (/fermi|dirac|^f-d$|^fd$/.test(s)) return 'fd';
  if (/marzari|vanderbilt|cold|^m-v$|^mv$/.test(s)) return 'mv';
  if (/methfessel|paxton|^m-p$|^mp$/.test(s)) return 'mp';
  if (/gauss/.test(s)) return 'gaussian';
  return undefined;
}

function erfc(x: number): number {
  // Numerical Recipes erfcc: fractional error < 1.2e-7 everywhere.
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}

/** Occupation fraction of a state at x = (E_F - e) / degauss. */
export function wgauss(x: number, kind: SmearingKind): number {
  switch (kind) {
    case 'gaussian':
      return 0.5 * erfc(-x);
    case 'mp': {
      // first-order Methfessel-Paxton
      const arg = Math.min(200, x * x);
      return 0.5 * erfc(-x) + (x * Math.exp(-arg)) / (2 * Math.sqrt(Math.PI));
    }
    case 'mv': {
      const xp = x - 1 / Math.SQRT2;
      const arg = Math.min(200, xp * xp);
      return 0.5 * (1 - erfc(xp)) + Math.exp(-arg) / Math.sqrt(2 * Math.PI) + 0.5;
    }
    case 'fd':
      if (x < -200) return 0;
      if (x > 200) return 1;
      return 1 / (1 + Math.exp(-x));
  }
}
