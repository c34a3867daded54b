#!/usr/bin/env bash
# Writes `link/startup.order`: the functions the bot runs from exec to
# idle, in a link order (lld's `--symbol-ordering-file`, passed by
# `build.rs` to the release link). The linker puts them together at the
# front of `.text`, so an idle bot maps that stretch of code and not 64 kB
# around every function that startup touched all over the binary (issue
# 14, footprint: BENCHMARKS.md).
#
# How: the release binary with its symbols, run under callgrind (which
# records every function that executes) against the emulator in its own
# process, the way benches/footprint.sh runs it: `migrate`, then `run`
# in Socket Mode on the existing SQLite database until `/readyz` answers,
# then idle for IDLE seconds (default 20: every job's first tick), then
# SIGTERM; then the same over HTTP (`run --http`), and on PostgreSQL when
# one answers on 127.0.0.1:5432. The runs' functions are written in that
# order, each once: SQLite and Socket Mode (the default deployment)
# first.
#
# The build for the profile may itself be ordered by an older order:
# placement doesn't change which functions run or their names.
#
# Rerun after changing startup or idle code or the dependencies, then
# rebuild and rerun benches/footprint.sh. A stale order is harmless: lld
# skips names that are gone (`--no-warn-symbol-ordering`) and places new
# functions after the ordered ones, so only the idle RSS drifts up.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
idle=${IDLE:-20}
cd "$root"
command -v valgrind > /dev/null || { echo "needs valgrind (apt-get install valgrind)" >&2; exit 1; }
# The shipped build with its symbol table kept. BIN and EMU may name
# prebuilt ones instead (absolute paths; BIN with its symbols).
target=$root/target/order
if [ -z "${BIN:-}" ]; then
    CARGO_PROFILE_RELEASE_STRIP=none \
        cargo build --release --no-default-features --bin fieldnotes --target-dir "$target" >&2
    BIN=$target/release/fieldnotes
fi
if [ -z "${EMU:-}" ]; then
    cargo build --release -p slack-emulator --bin slack-emulator --target-dir "$target" >&2
    EMU=$target/release/slack-emulator
fi
nm "$BIN" 2> /dev/null | grep -q . || { echo "$BIN has no symbols" >&2; exit 1; }
work=$(mktemp -d)
cd "$work"
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$work"; true' EXIT
cp "$root/config/fieldnotes.toml" fieldnotes.toml
export SLACK_API_URL=http://127.0.0.1:3911/api SLACK_BOT_TOKEN=xoxb-emulator-token SLACK_APP_TOKEN=xapp-emulator-token
export SLACK_SIGNING_SECRET=order-profile-signing-secret

ready() {
    exec 3<> /dev/tcp/127.0.0.1/3912 || return 1
    printf 'GET /readyz HTTP/1.0\r\n\r\n' >&3
    local line
    read -r line <&3
    exec 3<&-
    [[ $line == *" 200 "* ]]
}

# profile NAME ARGS...: one run of the bot under callgrind.
profile() {
    local name=$1
    shift
    "$EMU" --port 3911 > "emu-$name.log" 2>&1 &
    local epid=$!
    for _ in $(seq 1 100); do (exec 3<>/dev/tcp/127.0.0.1/3911) 2>/dev/null && break; sleep 0.05; done
    valgrind --tool=callgrind --demangle=no --compress-strings=no --compress-pos=no \
        --callgrind-out-file="$work/cg-$name.out" \
        "$BIN" --config fieldnotes.toml "$@" > "bot-$name.log" 2>&1 &
    local bpid=$!
    local waited=0
    until ready 2> /dev/null; do
        kill -0 "$bpid" 2> /dev/null || { echo "$name: the bot exited before it was ready:" >&2; tail -n 20 "bot-$name.log" >&2; exit 1; }
        sleep 0.2
        waited=$((waited + 1))
        [ "$waited" -lt 600 ] || { echo "$name: not ready in 120 s" >&2; exit 1; }
    done
    sleep "$idle"
    kill -TERM "$bpid"
    wait "$bpid" || true
    kill "$epid"
    wait "$epid" 2> /dev/null || true
    echo "$name: $(grep -c '^fn=' "cg-$name.out") functions" >&2
}

unset DATABASE_URL
"$BIN" --config fieldnotes.toml migrate > /dev/null
profile sqlite-socket run --admin 127.0.0.1:3912
profile sqlite-http run --admin 127.0.0.1:3912 --http 127.0.0.1:3913
runs="sqlite-socket sqlite-http"
if pg_isready -q -h 127.0.0.1 -p 5432 2> /dev/null; then
    db=fieldnotes_order_profile
    PGOPTIONS=--client-min-messages=warning psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" > /dev/null
    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/$db
    "$BIN" --config fieldnotes.toml migrate > /dev/null
    profile postgres-socket run --admin 127.0.0.1:3912
    unset DATABASE_URL
    psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE $db" > /dev/null
    runs="$runs postgres-socket"
fi

# The binary's own functions (callgrind also names libc's and the
# loader's), each once, in the runs' order.
nm --defined-only "$BIN" | awk '$2 ~ /^[tTwW]$/ {print $3}' | sort -u > own.txt
out=$root/link/startup.order
mkdir -p "$(dirname "$out")"
{
    echo "# Functions the bot runs from exec to idle (SQLite and Socket Mode, then"
    echo "# HTTP, then PostgreSQL): lld's --symbol-ordering-file for the release"
    echo "# link (build.rs). Written by benches/startup-order.sh; regenerate, don't edit."
    for r in $runs; do
        # `fn=` and `cfn=` lines name the functions that ran (and were
        # called); a recursion level's `'2` suffix is dropped.
        sed -n "s/^c\{0,1\}fn=\(([0-9]*) \)\{0,1\}\([^']*\).*/\2/p" "cg-$r.out"
    done | awk 'NR==FNR {own[$0]=1; next} own[$0] && !seen[$0]++' own.txt -
} > "$out"
echo "wrote $out: $(grep -vc '^#' "$out") functions" >&2
