# kura: `make demo` shows the main job, `make test` runs every test.

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
COMMIT  ?= $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
LDFLAGS := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT)
export CGO_ENABLED ?= 0

.PHONY: all build test demo lint fuzz bench clean docs release-snapshot

all: build

build:
	go build -trimpath -ldflags "$(LDFLAGS)" -o bin/kura ./cmd/kura
	go build -trimpath -ldflags "$(LDFLAGS)" -o bin/kura-kms ./cmd/kura-kms

test:
	go test -count=1 ./...

demo: build
	@scripts/demo.sh

# make docs: the man pages in docs/man, from the commands' --help (the
# generator is cmd/kura/help_test.go, so kura itself never links it;
# TestManPages fails when they are out of date).
docs:
	KURA_WRITE_MAN=1 go test -count=1 -run '^TestManPages$$' ./cmd/kura

# make lint: formatting, vet, staticcheck, kura scan of the repository,
# gosec over the code that ships (the rules it skips, and why, are in
# docs/security.md, "Static analysis") and the dependency review of
# scripts/vulncheck.sh (govulncheck against a pinned database snapshot).
lint:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt would change:"; echo "$$unformatted"; exit 1; fi
	go vet ./...
	go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...
	go run ./cmd/kura scan
	go run github.com/securego/gosec/v2/cmd/gosec@v2.30.0 -quiet -exclude=G104,G204,G304,G703 \
		-exclude-dir=internal/fakecloud -exclude-dir=internal/tools -exclude-dir=internal/storetest \
		-exclude-dir=internal/treegen -exclude-dir=internal/benchdata -exclude-dir=internal/corpus ./...
	scripts/vulncheck.sh

# FUZZTIME sets how long each fuzz target runs (default 10s).
fuzz:
	@scripts/fuzz.sh

# make bench: the Go benchmarks of the hot paths, then kura against sops
# as whole processes on gen-bench.py's files (BENCH_SIZES, BENCH_RUNS).
BENCH_SIZES ?= 10,1000,10000,100000
BENCH_RUNS ?= 5
bench: build
	@scripts/bench.sh
	go run ./internal/tools/benchcmp -kura bin/kura -sizes $(BENCH_SIZES) -runs $(BENCH_RUNS)

# make release-snapshot: what a tagged release would publish, in dist/
# (archives for linux, darwin and windows on amd64 and arm64, checksums,
# the Homebrew cask), built from the working tree and published nowhere.
GORELEASER ?= go run github.com/goreleaser/goreleaser/v2@v2.15.1
release-snapshot:
	$(GORELEASER) check
	$(GORELEASER) release --snapshot --clean --skip=publish

clean:
	rm -rf bin dist completions
