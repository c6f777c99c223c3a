#!/usr/bin/env bash
# Drive the demo console in tmux like a user would: every panel (the energy chart's 1 h / 24 h / 7 d,
# the fleet's detail strip, history by day / week / month with the date picker), an override with
# its confirmation, an observer on the same data directory; print the captured screens and check
# the text that must be on them.
#
#   scripts/tmux_check.sh [COLUMNS ROWS]      (default 100 30; try 80 24, 60 20, 200 60)
#   TMUX_CHECK_ENV="NO_COLOR=1 TERM=xterm" scripts/tmux_check.sh 80 24   (no colour, 16 colours)
#
# Needs tmux; skips (exit 0) with a message when it is absent. Uses .venv or $PYTHON.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v tmux >/dev/null 2>&1; then
    echo "tmux_check: tmux is not installed; skipping (apt-get install tmux)"
    exit 0
fi
PY="${PYTHON:-}"
if [ -z "$PY" ]; then
    if [ -x .venv/bin/python ]; then PY=.venv/bin/python; else PY=python3; fi
fi
COLS="${1:-100}"; ROWS="${2:-30}"
EXTRA_ENV="${TMUX_CHECK_ENV:-}"
DATA="$(mktemp -d /tmp/emt-tmux.XXXXXX)"
S_OWNER="emt-owner-$$"; S_OBS="emt-observer-$$"
cleanup() {
    tmux kill-session -t "$S_OWNER" 2>/dev/null || true
    tmux kill-session -t "$S_OBS" 2>/dev/null || true
    rm -rf "$DATA"
}
trap cleanup EXIT

shot() {  # session, title
    echo
    echo "===== $2 ====="
    tmux capture-pane -p -t "$1"
}
wait_for() {  # session, text, seconds
    local i
    for ((i = 0; i < $3 * 4; i++)); do
        if tmux capture-pane -p -t "$1" | grep -q -- "$2"; then return 0; fi
        sleep 0.25
    done
    echo "tmux_check: timed out waiting for '$2' in $1" >&2
    tmux capture-pane -p -t "$1" >&2
    return 1
}

tmux new-session -d -s "$S_OWNER" -x "$COLS" -y "$ROWS" \
    "env $EXTRA_ENV TEXTUAL_ANIMATIONS=none $PY -m edgemining_tui --demo --data-dir $DATA; sleep 5"
wait_for "$S_OWNER" "OWNER" 30
wait_for "$S_OWNER" "miners on, drawing" 30
wait_for "$S_OWNER" "Battery" 10
shot "$S_OWNER" "1 Energy (owner): the flow picture"
if [ "$ROWS" -lt 30 ]; then     # no room for picture and chart together: v swaps them
    tmux send-keys -t "$S_OWNER" v
fi
if [ "$ROWS" -ge 20 ]; then
    wait_for "$S_OWNER" "Power in kW, last hour" 20
    tmux send-keys -t "$S_OWNER" r
    wait_for "$S_OWNER" "Power in kW, last 24 hours" 20
    shot "$S_OWNER" "1 Energy: chart over the last 24 hours (r)"
    tmux send-keys -t "$S_OWNER" r
    wait_for "$S_OWNER" "Power in kW, last 7 days" 20
    tmux send-keys -t "$S_OWNER" r
    wait_for "$S_OWNER" "last hour" 20
fi
if [ "$ROWS" -lt 30 ]; then
    tmux send-keys -t "$S_OWNER" v
    wait_for "$S_OWNER" "Battery" 10
fi
tmux send-keys -t "$S_OWNER" 2
wait_for "$S_OWNER" "Fan rpm\\|Miner" 10
tmux send-keys -t "$S_OWNER" Down
wait_for "$S_OWNER" "Why " 10
shot "$S_OWNER" "2 Fleet: the selected miner's reason in full under the table"
tmux send-keys -t "$S_OWNER" 3
wait_for "$S_OWNER" "What the decision used" 10
shot "$S_OWNER" "3 Rules"
if tmux capture-pane -p -t "$S_OWNER" | grep -q -- "min_interval\\|headroom\\|disable_time"; then
    echo "tmux_check: internal identifiers on the Rules panel" >&2; exit 1
fi
tmux send-keys -t "$S_OWNER" 4
sleep 1.5
shot "$S_OWNER" "4 Heat"
tmux send-keys -t "$S_OWNER" 5
wait_for "$S_OWNER" "History by day" 30
wait_for "$S_OWNER" "Surplus kWh" 30
shot "$S_OWNER" "5 History by day (pre-filled simulated days)"
tmux send-keys -t "$S_OWNER" r
wait_for "$S_OWNER" "History by week" 30
tmux send-keys -t "$S_OWNER" r
wait_for "$S_OWNER" "History by month" 30
shot "$S_OWNER" "5 History by month"
tmux send-keys -t "$S_OWNER" r
wait_for "$S_OWNER" "History by day" 30
tmux send-keys -t "$S_OWNER" "["
wait_for "$S_OWNER" "to $(TZ=Europe/Berlin date -d '-1 day' '+%a %d %b')" 30
shot "$S_OWNER" "5 History: [ steps a day back"
tmux send-keys -t "$S_OWNER" "]"
wait_for "$S_OWNER" "to $(TZ=Europe/Berlin date '+%a %d %b')" 30
tmux send-keys -t "$S_OWNER" g
sleep 0.5
tmux send-keys -t "$S_OWNER" "$(TZ=Europe/Berlin date -d '-2 day' +%Y-%m-%d)" Enter
wait_for "$S_OWNER" "to $(TZ=Europe/Berlin date -d '-2 day' '+%a %d %b')" 30
sleep 1
shot "$S_OWNER" "5 History: 14 days to the day before yesterday (typed date)"
tmux send-keys -t "$S_OWNER" 6
sleep 1.5
shot "$S_OWNER" "6 Events"

# an override: Fleet, second miner (sorted by name), stop it, confirm
tmux send-keys -t "$S_OWNER" 2
sleep 1.5
tmux send-keys -t "$S_OWNER" Down
sleep 0.5
tmux send-keys -t "$S_OWNER" x
wait_for "$S_OWNER" "Override" 10
shot "$S_OWNER" "confirmation"
tmux send-keys -t "$S_OWNER" y
wait_for "$S_OWNER" "off " 20
shot "$S_OWNER" "fleet after the override (mode column shows the countdown)"

# a second instance on the same data directory is an observer
tmux new-session -d -s "$S_OBS" -x "$COLS" -y "$ROWS" \
    "env $EXTRA_ENV TEXTUAL_ANIMATIONS=none $PY -m edgemining_tui --demo --data-dir $DATA; sleep 5"
wait_for "$S_OBS" "OBSERVER" 30
tmux send-keys -t "$S_OBS" 2
sleep 2
tmux send-keys -t "$S_OBS" Down Down   # loft-s21 (third by name), the miner the owner overrode
wait_for "$S_OBS" "loft-s21 ·" 10
shot "$S_OBS" "observer: fleet"
tmux send-keys -t "$S_OBS" a
wait_for "$S_OBS" "Release" 10
tmux send-keys -t "$S_OBS" y
wait_for "$S_OBS" "loft-s21 · [a-z]* · auto" 30
shot "$S_OBS" "observer after releasing the override through the owner's inbox"

tmux send-keys -t "$S_OBS" q
tmux send-keys -t "$S_OWNER" q
sleep 1
echo
echo "tmux_check: OK"
