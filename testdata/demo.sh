#!/bin/sh
# make demo: show crmsync working on a fresh machine.
set -eu
BIN=${BIN:-bin}
DEMO_DIR=${DEMO_DIR:-$BIN/demo}
rm -rf "$DEMO_DIR"
mkdir -p "$DEMO_DIR"
crmsync="$(cd "$BIN" && pwd)/crmsync"

echo "== $("$crmsync" version)"
if [ ! -x "$BIN/crmsync-sandbox" ]; then
	echo "== the fake-server sandbox is not built in this version; showing the local commands"
	cd "$DEMO_DIR"
	echo "== crmsync status (fresh database)"
	"$crmsync" --db demo.db status
	echo "== crmsync pull (the sync engine is not built yet in this version)"
	"$crmsync" --db demo.db pull || echo "(exit code $?)"
	exit 0
fi
