#!/bin/sh
# make demo: run crmsync against the bundled fake RetailCRM and Bitrix24
# servers (bin/crmsync-sandbox) and show what it did.
set -eu
BIN=${BIN:-bin}
DEMO_DIR=${DEMO_DIR:-$BIN/demo}
bin=$(cd "$BIN" && pwd)
rm -rf "$DEMO_DIR"
mkdir -p "$DEMO_DIR"
cd "$DEMO_DIR"

# The sandbox reads commands on a pipe (retailcrm, bitrix, orders, state) and
# answers each in one write to sandbox.out.
mkfifo ctl
"$bin/crmsync-sandbox" --config crmsync.yaml --db demo.db <ctl >sandbox.out 2>sandbox.err &
sandbox=$!
trap 'kill $sandbox 2>/dev/null || true' EXIT INT TERM
exec 3>ctl
i=0
until [ -s crmsync.yaml ] && grep -q "are up" sandbox.err 2>/dev/null; do
	i=$((i + 1))
	if [ $i -gt 100 ]; then echo "sandbox did not start:"; cat sandbox.err; exit 1; fi
	sleep 0.1
done

bold='' plain=''
if [ -t 1 ]; then bold=$(printf '\033[1m') plain=$(printf '\033[0m'); fi
say() { printf '\n%s%s%s\n' "$bold" "$*" "$plain"; }
step() { say "\$ crmsync $*"; }
# crmsync's own exit code is part of the show (3 = some orders parked).
# Long reports are cut to their first lines.
crm() {
	step "$@"
	code=0
	"$bin/crmsync" --config crmsync.yaml "$@" >out.txt 2>&1 || code=$?
	n=$(wc -l <out.txt)
	if [ "$n" -gt 40 ]; then
		head -n 20 out.txt; echo "    ... $((n - 24)) more lines ..."; tail -n 4 out.txt
	else
		cat out.txt
	fi
	[ $code -eq 0 ] || echo "(exit code $code)"
}
# ask CMD: run a sandbox command and print its answer, indented.
ask() {
	before=$(wc -l <sandbox.out)
	echo "$1" >&3
	i=0
	while [ "$(wc -l <sandbox.out)" -le "$before" ]; do
		i=$((i + 1))
		if [ $i -gt 100 ]; then echo "sandbox did not answer $1:"; cat sandbox.err; exit 1; fi
		sleep 0.1
	done
	tail -n +$((before + 1)) sandbox.out | sed 's/^/    /'
}
fakes() { ask state; }

echo "$("$bin/crmsync" version)"
sed 's/^crmsync-sandbox: /sandbox: /' sandbox.err
crm check
crm pull --dry-run --max-items 5
crm pull
echo "  what the fake Bitrix24 portal now holds:"; fakes
crm pull
say "(meanwhile managers in RetailCRM move some orders and take a new one)"
ask retailcrm
crm pull --dry-run
crm pull
say "(meanwhile managers in Bitrix24 move some deals on and write comments)"
ask bitrix
crm push
echo "  those orders in the fake RetailCRM now:"; ask orders
crm status
echo; echo "  the fake Bitrix24 portal at the end:"; fakes
