#!/usr/bin/env bash
# Writes `link/startup.order`: the functions the bot runs from exec to
# idle, in a link order (lld's `--symbol-ordering-file`, passed by
# `build.rs` to the release link). The linker puts them together at the
# front of `.text`, so an idle bot maps that stretch of code and not 64 kB
# around every function that startup touched all over the binary (issue
# 14, footprint: BENCHMARKS.md).
#
# How: the release binary exactly as shipped (stripped), run under
# callgrind (which records every instruction that executes, by address)
# against the emulator in its own process, the way benches/footprint.sh
# runs it: `migrate`, then `run` in Socket Mode on the existing SQLite
# database until `/readyz` answers, then idle for IDLE seconds (default 20:
# every job's first tick), then SIGTERM; then the same over HTTP (`run
# --http`), and on PostgreSQL when one answers on 127.0.0.1:5432. The
# addresses are named from the link's map (`build.rs` writes it beside the
# build), and the functions are written in the runs'
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
. "$root/benches/common/bot.sh"
command -v valgrind > /dev/null || { echo "needs valgrind (apt-get install valgrind)" >&2; exit 1; }
# The shipped build itself, and its link map. Not a build with symbols:
# the profile's `strip` is part of every crate's metadata hash, so such a
# build's function names would all differ from the shipped one's.
cargo build --release --no-default-features --bin fieldnotes >&2
cargo build --release -p slack-emulator --bin slack-emulator >&2
BIN=$root/target/release/fieldnotes
EMU=$root/target/release/slack-emulator
map=$(ls -t "$root"/target/release/build/fieldnotes-*/out/fieldnotes.map | head -n 1)
work=$(mktemp -d)
cd "$work"
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$work"; true' EXIT
cp "$root/config/fieldnotes.toml" fieldnotes.toml
export SLACK_SIGNING_SECRET=order-profile-signing-secret

# profile NAME ARGS...: one run of the bot under callgrind.
profile() {
    local name=$1
    shift
    "$EMU" --port "$EMU_PORT" > "emu-$name.log" 2>&1 &
    local epid=$!
    wait_listening "$EMU_PORT"
    valgrind --tool=callgrind --dump-instr=yes --demangle=no --compress-strings=no --compress-pos=no \
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
profile sqlite-socket run --admin "127.0.0.1:$ADMIN_PORT"
profile sqlite-http run --admin "127.0.0.1:$ADMIN_PORT" --http 127.0.0.1:3913
runs="sqlite-socket sqlite-http"
if pg_isready -q -h 127.0.0.1 -p 5432 2> /dev/null; then
    db=fieldnotes_order_profile
    PGOPTIONS=--client-min-messages=warning psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" > /dev/null
    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/$db
    "$BIN" --config fieldnotes.toml migrate > /dev/null
    profile postgres-socket run --admin "127.0.0.1:$ADMIN_PORT"
    unset DATABASE_URL
    psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE $db" > /dev/null
    runs="$runs postgres-socket"
fi

# Each run's addresses in the binary (callgrind also records libc's and
# the loader's), named by the map: the function whose symbol is the
# nearest at or below the address. Each function once, in the runs' order.
out=$root/link/startup.order
mkdir -p "$(dirname "$out")"
python3 - "$map" "$(basename "$BIN")" "$out" $(for r in $runs; do echo "cg-$r.out"; done) <<'PY'
import bisect, re, sys
mapfile, binname, out, runs = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
# lld's map: "VMA LMA Size Align Out In Symbol", one column each: an
# output section's name starts at column 49, an input section's at 57, a
# symbol's at 65 (mangled: build.rs links with --no-demangle).
syms = []
section = None
for line in open(mapfile, errors="replace"):
    p = line.split(maxsplit=4)
    if len(p) < 5 or not re.fullmatch(r"[0-9a-f]+", p[0]):
        continue
    col = line.index(p[4])
    if col < 57:
        section = p[4].strip()
    elif col >= 65 and section == ".text":
        syms.append((int(p[0], 16), p[4].strip()))
syms.sort()
addrs = [a for a, _ in syms]
names = {s for _, s in syms}
seen, order = set(), []
def take(fn):
    if fn and fn not in seen:
        seen.add(fn)
        order.append(fn)
for run in runs:
    ob = ""
    for line in open(run, errors="replace"):
        if line.startswith("ob="):
            ob = line[3:].strip()
        elif not ob.endswith("/" + binname):
            continue
        elif line.startswith("0x"):
            # An instruction that ran (`--dump-instr`): its function is
            # the symbol nearest at or below it. Per instruction, not per
            # call, so code entered by a tail call's jump counts too.
            i = bisect.bisect_right(addrs, int(line.split(None, 1)[0], 16)) - 1
            if i >= 0:
                take(syms[i][1])
        elif line.startswith("fn=") and not line.startswith("fn=0x"):
            # A name where the binary exports one (main, _start).
            fn = line[3:].strip().split("'")[0]
            take(fn if fn in names else None)
with open(out, "w") as f:
    f.write("# Functions the bot runs from exec to idle (SQLite and Socket Mode, then\n")
    f.write("# HTTP, then PostgreSQL): lld's --symbol-ordering-file for the release\n")
    f.write("# link (build.rs). Written by benches/startup-order.sh; regenerate, don't edit.\n")
    f.writelines(s + "\n" for s in order)
print(f"wrote {out}: {len(order)} functions (map: {len(syms)} in .text)", file=sys.stderr)
PY
