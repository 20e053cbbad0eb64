#!/usr/bin/env bash
# End-to-end throughput of `send-now` (claim, render, MIME, SMTP, ledger write-back) against
# Postfix's smtp-sink, with smtp-source as the baseline for the same message size and number of
# connections, in the same run. Prints medians of RUNS runs.
#
# Usage: bench/run.sh [subscribers=100000] [connections=8] [runs=3] [papers=30] [groups=1] [provider=Sqlite]
#        bench/run.sh 1000000      # one million subscribers
#        bench/run.sh 100000 8 1 30 500   # 500 preference groups, measured beside one group in the same run
#        bench/run.sh 100000 8 1 30 learned   # every reader in their own learned order (synthetic embeddings, votes), beside one group
#        bench/run.sh 100000 8 3 30 1 Postgres   # the same on PostgreSQL (a throwaway cluster from
#                                                # .ci/postgres.sh, or NEWSLETTER_BENCH_POSTGRES)
# Papers have real lengths (abstracts of 1,000-1,900 characters, 60-140-character titles, 3-12 authors:
# 30 papers make a ~116 KB message) and the default caps (50 in full, the rest under "More papers");
# BENCH_ABSTRACTS=short seeds the old ~60 KB digest (~500-character abstracts, PAPERS in full, no More list).
set -euo pipefail
cd "$(dirname "$0")/.."
subscribers=${1:-100000}
connections=${2:-8}
runs=${3:-3}
papers=${4:-30}
groups=${5:-1}
provider=${6:-Sqlite}

if ! command -v smtp-sink >/dev/null; then
  # The package only: the Postfix daemon is never configured or started.
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postfix >/dev/null
fi

work=$(mktemp -d)
repo=$PWD
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
smtp-sink -4 -u nobody -m 512 "127.0.0.1:$port" 1024 &
sink=$!
pg=${NEWSLETTER_BENCH_POSTGRES:-}
cleanup() { kill $sink 2>/dev/null; [ -n "${pgdir:-}" ] && .ci/postgres.sh stop "$pgdir"; rm -rf "$work"; }
trap cleanup EXIT
if [ "$provider" = Postgres ] && [ -z "$pg" ]; then
  pgdir=$(mktemp -d -u /tmp/newsletter-bench-pg.XXXXXX)  # outside $work: the postgres user must reach it
  pg=$(.ci/postgres.sh start "$pgdir")
fi
# psql wants its own spelling of the same server.
pgarg() { echo "$pg" | tr ';' '\n' | sed -nE "s/^$1=(.*)/\1/p"; }

dotnet build -c Release src/Newsletter -v q -nologo >/dev/null
dotnet build -c Release tests/Newsletter.Benchmarks -v q -nologo >/dev/null
bench="dotnet tests/Newsletter.Benchmarks/bin/Release/net10.0/Newsletter.Benchmarks.dll"
app="$PWD/src/Newsletter/bin/Release/net10.0/Newsletter.dll"

# The ledger of the run just made, on whichever provider it ran.
query() {
  if [ "$provider" = Postgres ]; then psql -tA -h "$(pgarg Host)" -p "$(pgarg Port)" -U "$(pgarg Username)" -d "$db" -c "$1"
  else sqlite3 "$work/db/bench.db" "$1"; fi
}
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
modes=1; { [ "$groups" = learned ] || [ "$groups" -gt 1 ]; } && modes="1 $groups"
# Modes alternate within each run, so a machine busy with something else slows both alike.
for run in $(seq "$runs"); do
for g in $modes; do
  rm -rf "$work/db" && BENCH_COMPOSE=outside $bench seed "$work/db" "$subscribers" "$papers" "$g" >"$work/seed.log" 2>&1 || { cat "$work/seed.log"; exit 1; }
  size=$(stat -c %s "$work/db/preview/digest.eml")
  [ "$run" = 1 ] && sed -nE 's/.*one digest is (.*)/'"$g"' group(s): one digest is \1/p' "$work/seed.log"
  echo "$size" >"$work/size.$g"
  provider_env=(Newsletter__Database__Provider=Sqlite Newsletter__Database__ConnectionString="Data Source=$work/db/bench.db")
  if [ "$provider" = Postgres ]; then
    # The seeded SQLite database moves to a fresh PostgreSQL database with the product's own verb.
    db="bench_run${run}_$g"
    psql -q -h "$(pgarg Host)" -p "$(pgarg Port)" -U "$(pgarg Username)" -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
    target="$(echo "$pg" | sed -E 's/Database=[^;]*/Database='"$db"'/')"
    ( cd "$work/db" && env "${provider_env[@]}" Newsletter__Secret=benchmark-secret-0123456789 Logging__LogLevel__Default=Warning \
        dotnet "$app" database copy --to "$target" >"$work/copy.log" 2>&1 ) || { cat "$work/copy.log"; exit 1; }
    provider_env=(Newsletter__Database__Provider=Postgres Newsletter__Database__ConnectionString="$target;Pooling=true")
  fi
  # Compose, timed on its own: the product's send-now with the relay unreachable freezes the digests and
  # ledger rows and sends nothing (the run then stops on the relay, as it should).
  ( cd "$work/db" && env "${provider_env[@]}" \
      Newsletter__TemplatesPath="$repo/templates" Newsletter__Secret=benchmark-secret-0123456789 \
      Newsletter__Smtp__Host=127.0.0.1 Newsletter__Smtp__Port=1 Newsletter__Smtp__Security=None Logging__LogLevel__Default=Warning \
      /usr/bin/time -v -o "$work/compose-time.txt" dotnet "$app" send-now --date 2025-09-08 >"$work/compose.log" 2>&1 ) || true
  grep -q "composed with" "$work/compose.log" || { cat "$work/compose.log"; exit 1; }
  awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,t,":"); s=0; for (i=1;i<=n;i++) s=s*60+t[i]; print s}' "$work/compose-time.txt" >>"$work/compose.$g"
  awk -F': ' '/Maximum resident/ {print int($2/1024)}' "$work/compose-time.txt" >>"$work/compose-rss.$g"
  # The product itself, as an operator runs it: configuration through the environment.
  ( cd "$work/db" && env "${provider_env[@]}" \
      Newsletter__TemplatesPath="$repo/templates" \
      Newsletter__Secret=benchmark-secret-0123456789 \
      Newsletter__Smtp__Host=127.0.0.1 Newsletter__Smtp__Port="$port" Newsletter__Smtp__Security=None \
      Newsletter__Smtp__MaxConnections="$connections" Logging__LogLevel__Default=Warning \
      /usr/bin/time -v -o "$work/time.txt" dotnet "$app" send-now --date 2025-09-08 >"$work/send.log" 2>&1 ) || { cat "$work/send.log"; exit 1; }
  grep -q "Delivered: $subscribers sent" "$work/send.log" || { cat "$work/send.log"; exit 1; }
  query "SELECT COUNT(*) FROM digests" >"$work/digests.$g"
  # Sending rate from the ledger: first to last acknowledged message.
  query "SELECT CAST(ROUND($subscribers * 1000.0 / (MAX(sent_at) - MIN(sent_at))) AS INTEGER) FROM deliveries" >>"$work/ours.$g"
  awk -F': ' '/Maximum resident/ {print int($2/1024)}' "$work/time.txt" >>"$work/rss.$g"
  awk -F': ' '/User time/ {u=$2} /System time/ {s=$2} END {print u+s}' "$work/time.txt" >>"$work/cpu.$g"
  $bench render "$work/db" 20000 | sed -E 's/.*render_msg_per_s=([0-9]+).*/\1/' >>"$work/render.$g"
  start=$(date +%s.%N)
  smtp-source -4 -d -s "$connections" -m "$subscribers" -l "$size" -f a@example.org -t b@example.org "127.0.0.1:$port"
  end=$(date +%s.%N)
  python3 -c "print(int($subscribers/($end-$start)))" >>"$work/base.$g"
done
done
printf '\n%s\n' "$provider"
printf '\n| subscribers | groups | connections | digest bytes | send-now msg/s | smtp-source msg/s | ratio | render+MIME msg/s (1 core) | peak RSS MB | CPU s | compose s | compose peak RSS MB |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n'
for g in $modes; do
  o=$(median <"$work/ours.$g"); b=$(median <"$work/base.$g")
  printf '| %s | %s (%s digests) | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$subscribers" "$g" "$(cat "$work/digests.$g")" "$connections" "$(cat "$work/size.$g")" "$o" "$b" \
    "$(python3 -c "print(f'{$o/$b:.2f}')")" "$(median <"$work/render.$g")" "$(median <"$work/rss.$g")" "$(median <"$work/cpu.$g")" \
    "$(median <"$work/compose.$g")" "$(median <"$work/compose-rss.$g")"
done
if [ "$modes" != 1 ]; then
  printf '\n%s groups vs one group, same run: send-now msg/s %s, CPU per message %s, peak RSS %s\n' "$groups" \
    "$(python3 -c "print(f'{$(median <"$work/ours.$groups")/$(median <"$work/ours.1"):.2f}x')")" \
    "$(python3 -c "print(f'{$(median <"$work/cpu.$groups")/$(median <"$work/cpu.1"):.3f}x')")" \
    "$(median <"$work/rss.$groups") MB vs $(median <"$work/rss.1") MB"
fi
