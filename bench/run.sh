#!/usr/bin/env bash
# End-to-end send-now throughput against Postfix's smtp-sink, with smtp-source as the baseline
# for the same number of connections, in the same run. Medians of RUNS runs.
# Usage: bench/run.sh [subscribers=10000] [connections=4] [runs=3]
set -euo pipefail
cd "$(dirname "$0")/.."
subscribers=${1:-10000}
connections=${2:-4}
runs=${3:-3}

if ! command -v smtp-sink >/dev/null; then
  # The package only: the Postfix daemon is never started.
  export DEBIAN_FRONTEND=noninteractive
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  apt-get update -qq && apt-get install -y -qq postfix >/dev/null
fi

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
smtp-sink -4 -u nobody -m 512 "127.0.0.1:$port" 1024 &
sink=$!
trap 'kill $sink 2>/dev/null' EXIT
sleep 1

dotnet build -c Release tests/Newsletter.Benchmarks -v q -nologo >/dev/null
bench=tests/Newsletter.Benchmarks/bin/Release/net10.0/Newsletter.Benchmarks.dll
# A digest of the benchmark's feeds (4 papers, text + HTML) is about 6.9 KB on the wire
# (`preview` writes it as digest.eml); smtp-source sends messages of the same size.
size=6900

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ours=(); base=()
for _ in $(seq "$runs"); do
  ours+=("$(dotnet "$bench" "$subscribers" "$connections" "$port" | sed -E 's/.*msg_per_s=([0-9]+).*/\1/')")
  start=$(date +%s.%N)
  smtp-source -4 -d -s "$connections" -m "$subscribers" -l "$size" -f a@example.org -t b@example.org "127.0.0.1:$port"
  end=$(date +%s.%N)
  base+=("$(python3 -c "print(int($subscribers/($end-$start)))")")
done
o=$(printf '%s\n' "${ours[@]}" | median); b=$(printf '%s\n' "${base[@]}" | median)
printf '\n| subscribers | connections | send-now msg/s | smtp-source msg/s (%s B) | ratio |\n|---|---|---|---|---|\n' "$size"
printf '| %s | %s | %s | %s | %s |\n' "$subscribers" "$connections" "$o" "$b" "$(python3 -c "print(f'{$o/$b:.2f}')")"
