#!/usr/bin/env bash
# make bench: run the Go benchmarks of the hot paths and print one table.
set -euo pipefail
out=$(mktemp)
trap 'rm -f "$out"' EXIT
go test -run='^$' -bench="${BENCH:-.}" -benchmem -count="${COUNT:-1}" ./pkg/... | tee "$out" >/dev/null
printf '%-60s %14s %14s %12s\n' "benchmark" "ns/op" "B/op" "allocs/op"
awk '/^Benchmark/ {
	name=$1; ns=""; b=""; a="";
	for (i = 2; i <= NF; i++) {
		if ($i == "ns/op") ns=$(i-1);
		if ($i == "B/op") b=$(i-1);
		if ($i == "allocs/op") a=$(i-1);
	}
	printf "%-60s %14s %14s %12s\n", name, ns, b, a
}' "$out"
