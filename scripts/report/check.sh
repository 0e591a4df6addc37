#!/usr/bin/env bash
# Renders a gantry report in headless Chromium and checks that every image
# it embeds loaded and every number it promises is on the page.
#
#   scripts/report/check.sh RUNDIR [SCREENSHOT.png]
#
# RUNDIR holds report.html and report.json (written by gantry train,
# finetune and demo); report.json lists the number of images and the
# metric values the page must show. Needs Debian's chromium
# (apt-get install -y chromium). With no RUNDIR it makes a small demo run in
# a temporary folder (a 2-iteration source trained first, then
# `gantry demo --iters 2`: about half a minute), which .ci/run checks.
# Exits 0 when the page passes, 1 otherwise.
set -euo pipefail
cd "$(dirname "$0")/../.."

browser=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$browser" ]; then
  echo "check.sh: no chromium; install it with: apt-get install -y chromium" >&2
  exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
run=${1:-}
if [ -z "$run" ]; then
  go build -o "$tmp/gantry" ./cmd/gantry
  "$tmp/gantry" train --data shipped:mnist --subset 100 --width 4 --iters 2 --eval none --quiet --out "$tmp/src" >/dev/null
  src=$(ls "$tmp"/src/*/checkpoint-000002.safetensors)
  "$tmp/gantry" demo --source "$src" --iters 2 --eval-n 20 --quiet --out "$tmp/runs" >/dev/null
  run=$(ls -d "$tmp"/runs/*-demo-* | head -n 1)
fi
[ -f "$run/report.html" ] || { echo "check.sh: $run has no report.html" >&2; exit 1; }

flags=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run
  --disable-background-networking --disable-component-update --disable-sync
  --user-data-dir="$tmp/profile" --virtual-time-budget=5000)
url="file://$(cd "$run" && pwd)/report.html"
"$browser" "${flags[@]}" --dump-dom "$url" >"$tmp/dom.html" 2>"$tmp/chromium.log" || {
  echo "check.sh: chromium failed:" >&2; tail -n 5 "$tmp/chromium.log" >&2; exit 1; }
if [ -n "${2:-}" ]; then
  "$browser" "${flags[@]}" --window-size=1200,2400 --screenshot="$2" "$url" 2>>"$tmp/chromium.log" >/dev/null
fi

fail=0
images=$(sed -n 's/.*"images": *\([0-9]*\).*/\1/p' "$run/report.json")
loaded=$(grep -o 'data-images="[0-9]*/[0-9]*"' "$tmp/dom.html" | head -n 1 | sed 's/data-images="\(.*\)"/\1/')
if [ "$loaded" != "$images/$images" ]; then
  echo "images: loaded ${loaded:-none} of $images promised"; fail=1
else
  echo "images: all $images loaded"
fi
# The numbers are the quoted strings of report.json's "numbers" list.
n=0
while IFS= read -r num; do
  n=$((n + 1))
  if ! grep -qF ">$num" "$tmp/dom.html"; then
    echo "number $num: not on the page"; fail=1
  fi
done < <(python3 -c 'import json,sys; [print(x) for x in json.load(open(sys.argv[1]))["numbers"]]' "$run/report.json" 2>/dev/null ||
  sed -n '/"numbers"/,/]/p' "$run/report.json" | grep -o '"[-0-9.eE+]*"' | tr -d '"')
echo "numbers: $n checked"
[ "$fail" = 0 ] && echo "report OK: $run/report.html" || echo "report FAILED: $run/report.html"
exit "$fail"
