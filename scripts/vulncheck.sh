#!/usr/bin/env bash
# make lint's dependency review: govulncheck over the code that ships
# (cmd/..., pkg/...) against a pinned snapshot of the Go vulnerability
# database, read from the golang.org/x/vulndb module (the module proxy
# serves it; vuln.go.dev need not be reachable). vulnreview decides:
# a called vulnerability in a required module fails, one in the standard
# library is a warning naming the Go release that fixes it.
# VULNDB picks another snapshot (a golang.org/x/vulndb version); the
# default's data is as of 2026-11-05. See docs/security.md, "Static
# analysis".
set -euo pipefail
cd "$(dirname "$0")/.."

VULNDB=${VULNDB:-v0.0.0-20261105234957-e22db6528018}
GOVULNCHECK=golang.org/x/vuln/cmd/govulncheck@v1.9.0

# The database govulncheck reads (index/, ID/) is made once per snapshot
# from the module's OSV files by vulndb's own indexdb, and kept in the Go
# build cache.
db="$(go env GOCACHE)/kura-vulndb/$VULNDB"
if [ ! -f "$db/index/db.json" ]; then
	src=$(cd "$(mktemp -d)" && go mod download -json "golang.org/x/vulndb@$VULNDB" |
		sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
	if [ ! -d "$src/data/osv" ]; then
		echo "vulncheck: golang.org/x/vulndb@$VULNDB holds no data/osv" >&2
		exit 2
	fi
	rm -rf "$db.tmp"
	go run "golang.org/x/vulndb/cmd/indexdb@$VULNDB" -vulns "$src/data/osv" -out "$db.tmp"
	mv "$db.tmp" "$db"
fi
echo "vulncheck: $GOVULNCHECK, database golang.org/x/vulndb@$VULNDB"
# VULN_STDLIB=fail makes a called standard-library vulnerability fail too
# (as a release build should).
go run "$GOVULNCHECK" -db "file://$db" -format json ./cmd/... ./pkg/... |
	go run ./internal/tools/vulnreview -stdlib "${VULN_STDLIB:-warn}"
