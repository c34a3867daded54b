# Shared by the shell benches (footprint.sh, startup-order.sh): the
# emulator's and the bot's ports, the emulator's tokens, and readiness
# polled through bash's /dev/tcp (no process per poll). Source it.

# The emulator's Web API and the bot's admin listener (`run --admin`).
EMU_PORT=3911
ADMIN_PORT=3912
export SLACK_API_URL=http://127.0.0.1:$EMU_PORT/api SLACK_BOT_TOKEN=xoxb-emulator-token SLACK_APP_TOKEN=xapp-emulator-token

# Waits (up to 5 s) until something listens on 127.0.0.1:PORT.
wait_listening() {
    for _ in $(seq 1 100); do
        (exec 3<> "/dev/tcp/127.0.0.1/$1") 2> /dev/null && return 0
        sleep 0.05
    done
    return 1
}

# True once the bot's `/readyz` answers 200 (the database answers and
# Slack is connected).
ready() {
    exec 3<> "/dev/tcp/127.0.0.1/$ADMIN_PORT" || return 1
    printf 'GET /readyz HTTP/1.0\r\n\r\n' >&3
    local line
    read -r line <&3
    exec 3<&-
    [[ $line == *" 200 "* ]]
}
