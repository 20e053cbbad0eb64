#!/usr/bin/env bash
# Before and after: bench/run.sh on a base revision and on this checkout, alternating
# (base, this, base, this, ...) so that a machine busy with something else slows both alike.
# Prints each run's table row and the medians of send-now msg/s, smtp-source msg/s, their ratio,
# CPU seconds and peak RSS per side, with this checkout's send-now rate as a ratio of the base's.
#
# Usage: bench/compare.sh BASE_REV [subscribers=100000] [connections=8] [rounds=3] [papers=30]
#        bench/compare.sh b5d241b            # the issue 16 before/after figure
set -euo pipefail
cd "$(dirname "$0")/.."
base=${1:?usage: bench/compare.sh BASE_REV [subscribers] [connections] [rounds] [papers]}
subscribers=${2:-100000}
connections=${3:-8}
rounds=${4:-3}
papers=${5:-30}

tree=$(mktemp -d -u /tmp/newsletter-base.XXXXXX)
out=$(mktemp -d)
git worktree add -q --detach "$tree" "$base"
cleanup() { git worktree remove --force "$tree" 2>/dev/null || rm -rf "$tree"; rm -rf "$out"; }
trap cleanup EXIT

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
for round in $(seq "$rounds"); do
  for side in base this; do
    dir=$PWD
    [ "$side" = base ] && dir=$tree
    # The table row: | subscribers | groups | connections | bytes | ours | smtp-source | ratio | render | RSS | CPU |
    row=$(bash "$dir/bench/run.sh" "$subscribers" "$connections" 1 "$papers" | grep -E '^\| [0-9]')
    echo "$side round $round: $row"
    echo "$row" | awk -F'|' '{gsub(/ /, ""); print $6, $7, $8, $10, $11}' >>"$out/$side"
  done
done
printf '\n| side | send-now msg/s | smtp-source msg/s | ratio | peak RSS MB | CPU s |\n|---|---|---|---|---|---|\n'
for side in base this; do
  printf '| %s | %s | %s | %s | %s | %s |\n' "$side ($([ "$side" = base ] && echo "$base" || git rev-parse --short HEAD))" \
    "$(cut -d' ' -f1 "$out/$side" | median)" "$(cut -d' ' -f2 "$out/$side" | median)" "$(cut -d' ' -f3 "$out/$side" | median)" \
    "$(cut -d' ' -f4 "$out/$side" | median)" "$(cut -d' ' -f5 "$out/$side" | median)"
done
printf '\nthis / base, send-now msg/s (medians): %s\n' \
  "$(python3 -c "print(f'{$(cut -d' ' -f1 "$out/this" | median)/$(cut -d' ' -f1 "$out/base" | median):.3f}')")"
