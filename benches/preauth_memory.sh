#!/usr/bin/env bash
# Pre-authentication memory: 100 concurrent 2 MB uploads that are not from
# Slack, three ways, against a running bot in HTTP mode; RSS after each.
# BIN, EMU and CFG pick the binaries and config (defaults: this checkout's
# debug build and config/fieldnotes.toml). Needs curl. Results: BENCHMARKS.md.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BIN:-$root/target/debug/fieldnotes}
EMU=${EMU:-$root/target/debug/slack-emulator}
work=$(mktemp -d) && cd "$work"
$EMU --port 3901 > emu.log 2>&1 &
EPID=$!
sleep 1
cp ${CFG:-$root/config/fieldnotes.toml} fieldnotes.toml
SLACK_API_URL=http://127.0.0.1:3901/api SLACK_BOT_TOKEN=xoxb-emulator-token SLACK_SIGNING_SECRET=s3cret \
  $BIN --config fieldnotes.toml run --http 127.0.0.1:3902 > bot.log 2>&1 &
BPID=$!
for i in $(seq 1 50); do curl -s -o /dev/null http://127.0.0.1:3902/healthz && break; sleep 0.2; done
rss() { awk '/VmRSS/{print $2" kB"}' /proc/$BPID/status; }
echo "start: $(rss)"
head -c 2000000 /dev/zero | tr '\0' 'a' > body
TS=$(date +%s)
run() { # $1 = extra curl args
  for i in $(seq 1 100); do curl -s -o /dev/null -w "%{http_code}\n" -X POST http://127.0.0.1:3902/slack/events "$@" --data-binary @body & done; wait
}
echo "unsigned, Content-Length: $(run -H 'Content-Type: application/json' | sort | uniq -c | tr '\n' ' ') -> $(rss)"
echo "signed-looking, Content-Length: $(run -H 'Content-Type: application/json' -H "X-Slack-Request-Timestamp: $TS" -H "X-Slack-Signature: v0=$(printf '0%.0s' $(seq 1 64))" | sort | uniq -c | tr '\n' ' ') -> $(rss)"
for r in 1 2 3; do echo "signed-looking, chunked, round $r: $(run -H "Content-Type: application/json" -H "Transfer-Encoding: chunked" -H "X-Slack-Request-Timestamp: $TS" -H "X-Slack-Signature: v0=$(printf "0%.0s" $(seq 1 64))" | sort | uniq -c | tr "\n" " ") -> $(rss)"; done
kill $BPID $EPID; wait 2>/dev/null
