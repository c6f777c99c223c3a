#!/usr/bin/env bash
# Drive the demo console in tmux like a user would: show each panel, apply an override (with its
# confirmation), start an observer on the same data directory, and print the captured screens.
#
#   scripts/tmux_check.sh [COLUMNS ROWS]      (default 100 30)
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
    "TEXTUAL_ANIMATIONS=none $PY -m edgemining_tui --demo --data-dir $DATA; sleep 5"
wait_for "$S_OWNER" "OWNER" 30
wait_for "$S_OWNER" "For miners" 30
shot "$S_OWNER" "1 Energy (owner)"
for key in 2 3 4 5 6; do
    tmux send-keys -t "$S_OWNER" "$key"
    sleep 1.5
    shot "$S_OWNER" "panel $key"
done

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
    "TEXTUAL_ANIMATIONS=none $PY -m edgemining_tui --demo --data-dir $DATA; sleep 5"
wait_for "$S_OBS" "OBSERVER" 30
tmux send-keys -t "$S_OBS" 2
sleep 2
shot "$S_OBS" "observer: fleet"
tmux send-keys -t "$S_OBS" a
wait_for "$S_OBS" "Release" 10
tmux send-keys -t "$S_OBS" y
sleep 8
shot "$S_OBS" "observer after releasing the override through the owner's inbox"

tmux send-keys -t "$S_OBS" q
tmux send-keys -t "$S_OWNER" q
sleep 1
echo
echo "tmux_check: OK"
