#!/usr/bin/env bash
# Footprint (issue 14, part 3): the stripped release binary without the
# demo feature; time from exec to ready (`/readyz` answers 200: the
# database answers and Socket Mode is connected), from a cold page cache;
# idle RSS and threads 5 s after that, on an existing (migrated) SQLite
# database. The emulator runs as its own process. RUNS runs (default 5).
# Results: BENCHMARKS.md.
#
# Readiness is polled through bash's /dev/tcp (no process per poll), so
# the time is exec to the first 200, within a fraction of a millisecond.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
runs=${RUNS:-5}
cd "$root"
. "$root/benches/common/bot.sh"
# BIN and EMU name prebuilt binaries by absolute path (an experiment's
# build); otherwise both are built here with the release profile.
work=$(mktemp -d)
if [ -z "${BIN:-}" ]; then
    cargo build --release --no-default-features --bin fieldnotes >&2 || exit 1
    BUILT=$root/target/release/fieldnotes
    cp "$BUILT" "$work/fieldnotes-stripped" && strip "$work/fieldnotes-stripped"
    echo "binary (no demo feature): $(stat -c %s "$BUILT") bytes, stripped $(stat -c %s "$work/fieldnotes-stripped") bytes"
    # The stripped binary is what a deployment runs (the release profile
    # strips symbols; `strip` here also covers a build without it).
    BIN=$work/fieldnotes-stripped
else
    echo "binary: $BIN, $(stat -c %s "$BIN") bytes"
fi
if [ -z "${EMU:-}" ]; then
    cargo build --release -p slack-emulator --bin slack-emulator >&2 || exit 1
    EMU=$root/target/release/slack-emulator
fi
cd "$work"
# Slack allows apps.connections.open about once a minute (Tier 1), and so
# does the emulator: each run gets a fresh emulator, or every restart
# after the first would wait out the limit.
start_emulator() {
    "$EMU" --port "$EMU_PORT" > emu.log 2>&1 &
    EPID=$!
    wait_listening "$EMU_PORT"
}
trap 'kill $EPID 2>/dev/null' EXIT
start_emulator
cp "$root/config/fieldnotes.toml" fieldnotes.toml
unset DATABASE_URL
"$BIN" --config fieldnotes.toml migrate > /dev/null || exit 1
for i in $(seq 1 "$runs"); do
    if [ "$i" -gt 1 ]; then
        kill "$EPID"; wait "$EPID" 2>/dev/null
        start_emulator
    fi
    # From a cold page cache, as a fresh deployment starts: what the
    # kernel maps around each fault depends on the page cache's folios,
    # and a file that was just written (a build, `strip`) sits in large
    # ones, so a warm start maps more and varies more (BENCHMARKS.md).
    dd if="$BIN" iflag=nocache count=0 status=none
    t0=$(date +%s%N)
    "$BIN" --config fieldnotes.toml run --admin "127.0.0.1:$ADMIN_PORT" > "bot$i.log" 2>&1 &
    bpid=$!
    until ready 2>/dev/null; do
        kill -0 "$bpid" 2>/dev/null || { echo "run $i: the bot exited before it was ready:"; tail -n 5 "bot$i.log"; exit 1; }
    done
    t1=$(date +%s%N)
    sleep 5
    rss=$(awk '/VmRSS/{print $2}' "/proc/$bpid/status")
    threads=$(awk '/Threads/{print $2}' "/proc/$bpid/status")
    echo "run $i: ready after $(( (t1 - t0) / 1000 )) us; idle RSS ${rss} kB, ${threads} threads"
    if [ "$i" = 1 ]; then
        # What the RSS is made of: the largest mappings by resident size.
        awk '/^[0-9a-f]+-/{name=$6} /^Rss:/{rss[name]+=$2} END{for(n in rss) print rss[n], (n==""?"[anon]":n)}' "/proc/$bpid/smaps" | sort -rn | head -8 | sed 's/^/    /'
        # The binary's own mappings: code (r-x), read-only data (r--,
        # relocated data among it), writable data (rw-); resident and
        # private-dirty kB.
        awk -v bin="$(basename "$BIN")" '/^[0-9a-f]+-/{cur=($6 ~ bin"$") ? $2 : ""} cur!="" && /^Rss:/{rss[cur]+=$2} cur!="" && /^Private_Dirty:/{pd[cur]+=$2} END{for(p in rss) print "    binary " p ": Rss " rss[p] " kB, Private_Dirty " pd[p] " kB"}' "/proc/$bpid/smaps"
    fi
    kill -TERM "$bpid"
    wait "$bpid" 2>/dev/null
done
