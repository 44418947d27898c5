#!/usr/bin/env bash
# Load test of the reference file provider with ghz (pinned in tools/ghz/go.mod), over
# loopback, plaintext, on a fresh temporary storage directory:
#   1. Create LOAD_VMS VMs with distinct names (every create is fsynced to disk),
#   2. Describe one of them, LOAD_N times,
#   3. ListVMs over all of them, LOAD_LIST_N times,
#   4. Power the same VM on, LOAD_N times (an idempotent write through the domain).
# Each step prints ghz's summary and keeps it in $LOAD_REPORTS (reports/load).
# Usage: make load [LOAD_VMS=10000 LOAD_N=20000 LOAD_LIST_N=200 LOAD_C=50]
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
GO=${GO:-go}
vms=${LOAD_VMS:-10000}
n=${LOAD_N:-20000}
list_n=${LOAD_LIST_N:-200}
c=${LOAD_C:-50}
reports=${LOAD_REPORTS:-$root/reports/load}
provider=${PROVIDER_BIN:-$root/bin/provider-file}

ghz() { GOWORK=off "$GO" tool -modfile="$root/tools/ghz/go.mod" ghz "$@"; }
grpcurl() { GOWORK=off "$GO" tool -modfile="$root/tools/go.mod" grpcurl "$@"; }

work=$(mktemp -d)
pid=
cleanup() {
	if [ -n "$pid" ]; then kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
	rm -rf "$work"
}
trap cleanup EXIT

# Compile the tools before anything is timed.
ghz --version >/dev/null 2>&1
grpcurl -version >/dev/null 2>&1

mkdir -p "$work/vms" "$reports"
VIRTRIGAUD_PROVIDER_INSECURE=true PROVIDER_STORAGE_DIR="$work/vms" \
	"$provider" --grpc-addr 127.0.0.1:0 --http-addr 127.0.0.1:0 >"$work/provider.log" 2>&1 &
pid=$!
addr=
for _ in $(seq 100); do
	addr=$(sed -n 's/.*"msg":"serving".*"grpc_addr":"\([^"]*\)".*/\1/p' "$work/provider.log")
	[ -n "$addr" ] && break
	kill -0 "$pid" 2>/dev/null || { cat "$work/provider.log" >&2; echo "load: the provider exited" >&2; exit 1; }
	sleep 0.1
done
[ -n "$addr" ] || { cat "$work/provider.log" >&2; echo "load: the provider did not start" >&2; exit 1; }

echo "load: file provider at $addr ($(nproc) CPUs, storage $work/vms); ghz -c $c"
svc=provider.v1.Provider

# run NAME WORKERS GHZ-ARGS...
run() {
	local name=$1 workers=$2
	shift 2
	echo
	echo "== $name ($workers workers)"
	ghz --insecure -c "$workers" -O summary "$@" "$addr" | sed '/^Response time histogram:/,/^$/d' | tee "$reports/$name.txt"
}

run create "$c" --call "$svc/Create" -n "$vms" \
	-d '{"name":"load-{{.RequestNumber}}","class_json":"{\"CPU\":2,\"MemoryMiB\":2048}","image_json":"{\"TemplateName\":\"ubuntu-22.04\"}"}'

id=$(grpcurl -plaintext -d '{"name":"load-0","class_json":"{\"CPU\":2,\"MemoryMiB\":2048}"}' "$addr" "$svc/Create" |
	sed -n 's/.*"id": *"\([^"]*\)".*/\1/p' | head -n1)
[ -n "$id" ] || { echo "load: could not read the id of load-0" >&2; exit 1; }

run describe "$c" --call "$svc/Describe" -n "$n" -d "{\"id\":\"$id\"}"
run list "$(( c < 10 ? c : 10 ))" --call "$svc/ListVMs" -n "$list_n"
run power-on "$c" --call "$svc/Power" -n "$n" -d "{\"id\":\"$id\",\"op\":\"POWER_OP_ON\"}"

echo
echo "load: summaries in $reports"
