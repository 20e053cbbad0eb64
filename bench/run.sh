#!/usr/bin/env bash
# End-to-end throughput of `send-now` (claim, render, MIME, SMTP, ledger write-back) against
# Postfix's smtp-sink, with smtp-source as the baseline for the same message size and number of
# connections, in the same run. Prints medians of RUNS runs.
#
# Usage: bench/run.sh [subscribers=100000] [connections=8] [runs=3] [papers=30] [groups=1] [provider=Sqlite]
#        bench/run.sh 1000000      # one million subscribers
#        bench/run.sh 100000 8 1 30 500   # 500 preference groups, measured beside one group in the same run
#        bench/run.sh 100000 8 1 30 learned   # every reader in their own learned order (synthetic embeddings, votes), beside one group
#        BENCH_ALONE=1 bench/run.sh 1000000 8 1 30 500   # 500 groups only (no one-group run beside it)
#        bench/run.sh 100000 8 3 30 1 Postgres   # the same on PostgreSQL (a throwaway cluster from
#                                                # .ci/postgres.sh, or NEWSLETTER_BENCH_POSTGRES)
#        bench/run.sh 20000 8 3 30 1 Both        # SQLite and PostgreSQL alternating in the same run
#        BENCH_DKIM=1 bench/run.sh 20000 8 3     # one group unsigned and DKIM-signed (rsa-sha256, 2048 bits), alternating
# Papers have real lengths (abstracts of 1,000-1,900 characters, 60-140-character titles, 3-12 authors:
# 30 papers make a ~116 KB message) and the default caps (50 in full, the rest under "More papers");
# BENCH_ABSTRACTS=short seeds the old ~60 KB digest (~500-character abstracts, PAPERS in full, no More list).
# smtp-source sends min(subscribers, BENCH_BASELINE_MAX=100000) messages: its rate is steady long before.
set -euo pipefail
cd "$(dirname "$0")/.."
subscribers=${1:-100000}
connections=${2:-8}
runs=${3:-3}
papers=${4:-30}
groups=${5:-1}
provider=${6:-Sqlite}
baseline=$(( subscribers < ${BENCH_BASELINE_MAX:-100000} ? subscribers : ${BENCH_BASELINE_MAX:-100000} ))
case "$provider" in
  Sqlite|Postgres) providers=$provider ;;
  Both) providers="Sqlite Postgres" ;;
  *) echo "provider must be Sqlite, Postgres or Both, not '$provider'" >&2; exit 2 ;;
esac

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
if [ "$provider" != Sqlite ] && [ -z "$pg" ]; then
  pgdir=$(mktemp -d -u /tmp/newsletter-bench-pg.XXXXXX)  # outside $work: the postgres user must reach it
  pg=$(.ci/postgres.sh start "$pgdir")
fi
# psql wants its own spelling of the same server.
pgarg() { echo "$pg" | tr ';' '\n' | sed -nE "s/^$1=(.*)/\1/p"; }
psql_on() { local d=$1; shift; psql -q -tA -h "$(pgarg Host)" -p "$(pgarg Port)" -U "$(pgarg Username)" -d "$d" "$@"; }

dotnet build -c Release src/Newsletter -v q -nologo >/dev/null
dotnet build -c Release tests/Newsletter.Benchmarks -v q -nologo >/dev/null
bench="dotnet tests/Newsletter.Benchmarks/bin/Release/net10.0/Newsletter.Benchmarks.dll"
app="$PWD/src/Newsletter/bin/Release/net10.0/Newsletter.dll"
if [ -n "${BENCH_DKIM:-}" ]; then
  openssl genrsa -out "$work/dkim.pem" 2048 2>/dev/null
fi

# The ledger of the run just made, on whichever provider it ran.
query() {
  if [ "$p" = Postgres ]; then psql_on "$db" -c "$1"
  else sqlite3 "$work/db/bench.db" "$1"; fi
}
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# A mode is groups-provider-signing: one group beside GROUPS (BENCH_ALONE=1: GROUPS only), one group
# DKIM-signed beside unsigned (BENCH_DKIM=1), on each provider asked for.
group_modes=1
if [ "$groups" = learned ] || [ "$groups" -gt 1 ]; then group_modes="1 $groups"; [ -n "${BENCH_ALONE:-}" ] && group_modes=$groups; fi
modes=()
for p in $providers; do
  for g in $group_modes; do modes+=("$g-$p-plain"); done
  [ -n "${BENCH_DKIM:-}" ] && modes+=("1-$p-dkim")
done
# Modes alternate within each run, so a machine busy with something else slows all alike.
for run in $(seq "$runs"); do
for m in "${modes[@]}"; do
  IFS=- read -r g p s <<<"$m"
  signing=()
  if [ "$s" = dkim ]; then
    signing=(Newsletter__Dkim__Domain=example.org Newsletter__Dkim__Selector=bench Newsletter__Dkim__PrivateKeyPath="$work/dkim.pem" Newsletter__From__Address=digest@example.org)
  fi
  rm -rf "$work/db" && BENCH_COMPOSE=outside $bench seed "$work/db" "$subscribers" "$papers" "$g" >"$work/seed.log" 2>&1 || { cat "$work/seed.log"; exit 1; }
  size=$(stat -c %s "$work/db/preview/digest.eml")
  [ "$run" = 1 ] && sed -nE 's/.*(seeded in [0-9.]+ s).*one digest is (.*)/'"$m"': one digest is \2; \1/p' "$work/seed.log"
  echo "$size" >"$work/size.$m"
  provider_env=(Newsletter__Database__Provider=Sqlite Newsletter__Database__ConnectionString="Data Source=$work/db/bench.db")
  if [ "$p" = Postgres ]; then
    # The seeded SQLite database moves to a fresh PostgreSQL database with the product's own verb.
    db="bench_$$_run${run}_${g}_$s"
    psql_on postgres -c "CREATE DATABASE $db"  # the PID in the name: never one of an earlier run
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
  awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,t,":"); s=0; for (i=1;i<=n;i++) s=s*60+t[i]; print s}' "$work/compose-time.txt" >>"$work/compose.$m"
  awk -F': ' '/Maximum resident/ {print int($2/1024)}' "$work/compose-time.txt" >>"$work/compose-rss.$m"
  # The product itself, as an operator runs it: configuration through the environment.
  ( cd "$work/db" && env "${provider_env[@]}" ${signing[@]+"${signing[@]}"} \
      Newsletter__TemplatesPath="$repo/templates" \
      Newsletter__Secret=benchmark-secret-0123456789 \
      Newsletter__Smtp__Host=127.0.0.1 Newsletter__Smtp__Port="$port" Newsletter__Smtp__Security=None \
      Newsletter__Smtp__MaxConnections="$connections" Logging__LogLevel__Default=Warning \
      /usr/bin/time -v -o "$work/time.txt" dotnet "$app" send-now --date 2025-09-08 >"$work/send.log" 2>&1 ) || { cat "$work/send.log"; exit 1; }
  grep -q "Delivered: $subscribers sent" "$work/send.log" || { cat "$work/send.log"; exit 1; }
  query "SELECT COUNT(*) FROM digests" >"$work/digests.$m"
  # Sending rate from the ledger: first to last acknowledged message.
  query "SELECT CAST(ROUND($subscribers * 1000.0 / (MAX(sent_at) - MIN(sent_at))) AS INTEGER) FROM deliveries" >>"$work/ours.$m"
  awk -F': ' '/Maximum resident/ {print int($2/1024)}' "$work/time.txt" >>"$work/rss.$m"
  awk -F': ' '/User time/ {u=$2} /System time/ {s=$2} END {print u+s}' "$work/time.txt" >>"$work/cpu.$m"
  # Render + MIME in-process from the issue this run composed, on the same database.
  render_db=(Sqlite "Data Source=$work/db/bench.db")
  [ "$p" = Postgres ] && render_db=(Postgres "$target")
  $bench render "$work/db" 20000 "${render_db[@]}" >"$work/render.log" 2>&1 || { cat "$work/render.log"; exit 1; }
  sed -nE 's/.*render_msg_per_s=([0-9]+).*/\1/p' "$work/render.log" >>"$work/render.$m"
  [ "$p" = Postgres ] && psql_on postgres -c "DROP DATABASE $db"
  start=$(date +%s.%N)
  smtp-source -4 -d -s "$connections" -m "$baseline" -l "$size" -f a@example.org -t b@example.org "127.0.0.1:$port"
  end=$(date +%s.%N)
  python3 -c "print(int($baseline/($end-$start)))" >>"$work/base.$m"
done
done
printf '\n%s, %s run(s), load average at the end: %s\n' "$provider" "$runs" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf '\n| provider | subscribers | groups | connections | digest bytes | send-now msg/s | smtp-source msg/s | ratio | render+MIME msg/s (1 core) | peak RSS MB | CPU s | compose s | compose peak RSS MB |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|\n'
for m in "${modes[@]}"; do
  IFS=- read -r g p s <<<"$m"
  o=$(median <"$work/ours.$m"); b=$(median <"$work/base.$m")
  label=$g; [ "$s" = dkim ] && label="$g, DKIM-signed"
  printf '| %s | %s | %s (%s digests) | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$p" "$subscribers" "$label" "$(cat "$work/digests.$m")" "$connections" "$(cat "$work/size.$m")" "$o" "$b" \
    "$(python3 -c "print(f'{$o/$b:.2f}')")" "$(median <"$work/render.$m")" "$(median <"$work/rss.$m")" "$(median <"$work/cpu.$m")" \
    "$(median <"$work/compose.$m")" "$(median <"$work/compose-rss.$m")"
done
# Same-run comparisons: the steadier figures on a machine shared with other work.
versus() {  # versus MODE BASEMODE TITLE
  [ -f "$work/ours.$1" ] && [ -f "$work/ours.$2" ] || return 0
  printf '%s, same run: send-now msg/s %s, ratio to smtp-source %s vs %s, CPU per message %s, peak RSS %s\n' "$3" \
    "$(python3 -c "print(f'{$(median <"$work/ours.$1")/$(median <"$work/ours.$2"):.2f}x')")" \
    "$(python3 -c "print(f'{$(median <"$work/ours.$1")/$(median <"$work/base.$1"):.2f}')")" \
    "$(python3 -c "print(f'{$(median <"$work/ours.$2")/$(median <"$work/base.$2"):.2f}')")" \
    "$(python3 -c "print(f'{$(median <"$work/cpu.$1")/$(median <"$work/cpu.$2"):.3f}x')")" \
    "$(median <"$work/rss.$1") MB vs $(median <"$work/rss.$2") MB"
}
echo
for p in $providers; do
  [ "$group_modes" != 1 ] && versus "$groups-$p-plain" "1-$p-plain" "$p: $groups groups vs one group"
  versus "1-$p-dkim" "1-$p-plain" "$p: DKIM-signed vs unsigned"
done
for g in $group_modes; do versus "$g-Postgres-plain" "$g-Sqlite-plain" "$g group(s): PostgreSQL vs SQLite"; done
