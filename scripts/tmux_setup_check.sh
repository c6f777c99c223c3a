#!/usr/bin/env bash
# Run `edgemining-tui setup` in tmux at 80x24 on fresh config/data directories, drive it with keys
# against a Home Assistant-shaped server and emulated miners on loopback, and print the screen
# (tmux capture-pane) at every step. Exits non-zero if any step does not show what it should.
#
#   scripts/tmux_setup_check.sh            # uses .venv/bin/python if present, else python3
#   PYTHON=/path/to/python scripts/tmux_setup_check.sh
#   START_CONSOLE=1 scripts/tmux_setup_check.sh   # also accept the offer to start the console
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
if [ -n "${PYTHON:-}" ]; then PY="$PYTHON"
elif [ -x "$ROOT/.venv/bin/python" ]; then PY="$ROOT/.venv/bin/python"
else PY=python3; fi
command -v tmux >/dev/null || { echo "tmux is not installed (apt-get install -y tmux)" >&2; exit 3; }

WORK="$(mktemp -d "${TMPDIR:-/tmp}/emt-setup-check.XXXXXX")"
export XDG_CONFIG_HOME="$WORK/config" XDG_DATA_HOME="$WORK/data"
mkdir -p "$XDG_CONFIG_HOME" "$XDG_DATA_HOME"
CFG="$XDG_CONFIG_HOME/edgemining-tui/config.yaml"
SOCK="emt-setup-$$"
SITE_PID=""
STEP=0

cleanup() {
  tmux -L "$SOCK" kill-server 2>/dev/null || true
  rm -f "${TMUX_TMPDIR:-/tmp}/tmux-$(id -u)/$SOCK"     # tmux leaves the socket file behind
  if [ -n "$SITE_PID" ]; then kill "$SITE_PID" 2>/dev/null || true; wait "$SITE_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

# the site: HA-shaped server + emulated miners, in the background; one JSON line when ready
cd "$ROOT"
"$PY" scripts/setup_check_site.py > "$WORK/site.json" 2> "$WORK/site.err" &
SITE_PID=$!
for _ in $(seq 1 100); do [ -s "$WORK/site.json" ] && break; sleep 0.1; done
[ -s "$WORK/site.json" ] || { echo "the simulated site did not start:"; cat "$WORK/site.err"; exit 1; }
read -r HA_URL HA_TOKEN SUBNET < <("$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["url"], d["token"], d["subnet"] or "-")' "$WORK/site.json")

capture() { tmux -L "$SOCK" capture-pane -p -t setup; }
show() {
  STEP=$((STEP + 1))
  echo "=================== $STEP. $1 ==================="
  capture
}
wait_for() {   # wait_for TEXT [SECONDS]
  local text="$1" limit="${2:-20}" i
  for i in $(seq 1 $((limit * 10))); do
    if capture | grep -qiF -- "$text"; then return 0; fi
    sleep 0.1
  done
  echo "!! timed out after ${limit}s waiting for: $text" >&2
  show "screen when it timed out"
  exit 1
}
keys() { tmux -L "$SOCK" send-keys -t setup "$@"; sleep 0.3; }
typed() { tmux -L "$SOCK" send-keys -t setup -l -- "$1"; sleep 0.3; }

tmux -L "$SOCK" -f /dev/null new-session -d -s setup -x 80 -y 24 \
  "cd '$ROOT' && env -u COLUMNS -u LINES XDG_CONFIG_HOME='$XDG_CONFIG_HOME' XDG_DATA_HOME='$XDG_DATA_HOME' '$PY' -m edgemining_tui setup; echo \"setup exited with \$?\"; sleep 120"
tmux -L "$SOCK" set-option -t setup escape-time 0 >/dev/null

wait_for "step 1/5"
keys C-u; typed "Setup check"
keys Tab C-u; typed "Europe/Berlin"
show "site"
keys C-n
wait_for "where do the power readings come from"
show "energy source"
keys Enter
wait_for "Home Assistant address"
keys C-u; typed "$HA_URL"
keys Tab; typed "$HA_TOKEN"
keys C-t
wait_for "OK: Home Assistant answered"
show "Home Assistant connection test"
keys C-n
wait_for "Guesses are filled in"
show "entities"
keys C-n
wait_for "correct?"
show "live energy flow (battery sign as the vendor reports it)"
keys b
wait_for "battery charging"
show "after pressing b (battery sign flipped)"
keys y
wait_for "Subnet"
if [ "$SUBNET" != "-" ]; then
  keys C-u; typed "$SUBNET"; keys Enter
  wait_for "answered on" 60
fi
show "miners"
keys C-n
if capture | grep -qF "No miner is marked"; then keys C-n; fi
wait_for "a starting point"
show "policy"
keys C-n
wait_for "Valid: load_config accepts it"
show "review"
keys w
wait_for "Start the console now?"
show "written"
[ -f "$CFG" ] || { echo "!! no config at $CFG"; exit 1; }
if [ "${START_CONSOLE:-0}" = 1 ]; then
  keys y                                   # the offer: start the console on the new config
  wait_for "observe only" 40
  sleep 2
  show "the console on the new config"
  keys C-q
else
  keys n
fi
wait_for "setup exited with 0"
show "after quitting"

echo "=================== config.yaml ==================="
cat "$CFG"
SECRETS="$XDG_CONFIG_HOME/edgemining-tui/secrets.env"
MODE="$(stat -c %a "$SECRETS")"
echo "=================== secrets.env: mode $MODE ==================="
[ "$MODE" = "600" ] || { echo "!! secrets.env has mode $MODE, expected 600"; exit 1; }
if grep -qF "$HA_TOKEN" "$CFG"; then echo "!! the token leaked into config.yaml"; exit 1; fi
grep -q "observe_only: true" "$CFG" || { echo "!! observe_only is not on"; exit 1; }
echo "=================== edgemining-tui check (token from secrets.env, not the environment) ==="
env -u HA_TOKEN XDG_CONFIG_HOME="$XDG_CONFIG_HOME" "$PY" -m edgemining_tui check --config "$CFG"
echo "tmux setup check: OK"
