#!/usr/bin/env bash
# `collect` of one large arXiv-style RSS 2.0 feed read from a file:// URL (no network), as an
# operator runs it: wall time and peak RSS of the whole process, median of RUNS runs. The feed has
# ITEMS items (2,000 is ~1.3 MB; arXiv cs.LG brings 100-300 a day), all new.
#
# Usage: bench/feeds.sh [items=2000] [runs=3] [Newsletter.dll to measure (default: a Release build of this tree)]
set -euo pipefail
cd "$(dirname "$0")/.."
items=${1:-2000}
runs=${2:-3}
app=${3:-}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ -z "$app" ]; then
  dotnet build -c Release src/Newsletter -v q -nologo >/dev/null
  app="$PWD/src/Newsletter/bin/Release/net10.0/Newsletter.dll"
fi

python3 - "$items" > "$work/feed.xml" <<'PY'
import sys
n = int(sys.argv[1])
print("<?xml version='1.0' encoding='UTF-8'?>")
print('<rss xmlns:arxiv="http://arxiv.org/schemas/atom" xmlns:dc="http://purl.org/dc/elements/1.1/" version="2.0"><channel><title>cs.LG</title><link>http://rss.arxiv.org/rss/cs.LG</link><description>d</description>')
for i in range(n):
    pid = f"2611.{10000 + i:05d}"
    print(f"""<item><title>Paper {i} on learning things at scale with &amp; without labels</title>
<link>https://arxiv.org/abs/{pid}</link>
<description>arXiv:{pid}v1 Announce Type: new 
Abstract: {"We study a problem and report results that improve on prior work by a margin. " * 8}</description>
<guid isPermaLink="false">oai:arXiv.org:{pid}v1</guid><category>cs.LG</category>
<pubDate>Mon, 09 Nov 2026 00:00:00 -0500</pubDate><arxiv:announce_type>new</arxiv:announce_type>
<dc:creator>Ada Lovelace, Grace Hopper, Alan Turing</dc:creator></item>""")
print("</channel></rss>")
PY

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
walls=(); rss=()
for run in $(seq "$runs"); do
  rm -f "$work/bench.db"*
  ( cd "$work" && env \
      Newsletter__Database__ConnectionString="Data Source=$work/bench.db" \
      Newsletter__Sources__0__Name=big Newsletter__Sources__0__Kind=Rss \
      Newsletter__Sources__0__Url="file://$work/feed.xml" \
      Newsletter__TemplatesPath="$(dirname "$app")/templates" \
      Logging__LogLevel__Default=Warning \
      /usr/bin/time -f '%e %M' -o "$work/time" dotnet "$app" collect >"$work/out" 2>&1 ) || { cat "$work/out"; exit 1; }
  grep -q "big: $items entries, $items new" "$work/out" || { echo "unexpected output:"; cat "$work/out"; exit 1; }
  read -r wall kb <"$work/time"
  walls+=("$wall"); rss+=("$kb")
done
echo "items=$items feed_bytes=$(stat -c %s "$work/feed.xml") wall_s=$(printf '%s\n' "${walls[@]}" | median) peak_rss_mb=$(( $(printf '%s\n' "${rss[@]}" | median) / 1024 ))"
