#!/bin/sh
# The toy code's program (not a real simulation code): a damped fixed-point iteration x <- x - 4d(x - 1)
# whose residual shrinks only for a damping d below 0.5. Reads `toy.in` (damping, steps), continues from
# `state/x` when a restart staged it, and writes its last iterate there.
set -eu
damping=$(awk '$1 == "damping" { print $2 }' "$1")
steps=$(awk '$1 == "steps" { print $2 }' "$1")
x=3
if [ -f state/x ]; then x=$(cat state/x); echo "continuing from x = $x"; fi
mkdir -p state
awk -v x="$x" -v d="$damping" -v n="$steps" 'BEGIN {
  for (i = 1; i <= n; i++) {
    x = x - 4 * d * (x - 1); r = (x < 1 ? 1 - x : x - 1);
    printf "iteration %d residual %.6e\n", i, r;
    if (r < 1e-6) break;
  }
  printf "%.12g\n", x > "state/x";
  if (r < 1e-6) printf "TOY CONVERGED energy %.6f\n", -1 - r;
  else print "TOY NOT CONVERGED";
}'
