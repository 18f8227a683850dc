# kura: `make demo` shows the main job, `make test` runs every test.

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
COMMIT  ?= $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
LDFLAGS := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT)
export CGO_ENABLED ?= 0

.PHONY: all build test demo lint fuzz bench clean

all: build

build:
	go build -trimpath -ldflags "$(LDFLAGS)" -o bin/kura ./cmd/kura
	go build -trimpath -ldflags "$(LDFLAGS)" -o bin/kura-kms ./cmd/kura-kms

test:
	go test -count=1 ./...

demo: build
	@scripts/demo.sh

lint:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt would change:"; echo "$$unformatted"; exit 1; fi
	go vet ./...
	go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...
	go run ./cmd/kura scan

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

clean:
	rm -rf bin dist
