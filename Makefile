# posfw — build, test and cross-build the terminal firmware. See README.md.

GO       ?= go
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT   ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
DATE     ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
TAGS     := netgo osusergo sqlite_omit_load_extension
# Release public keys (64 hex digits each, comma-separated) the binary trusts for update
# bundles. Without them the build is a development build, which trusts the development
# key whose private half is public: a release is built with `make arm arm64 RELEASE_KEYS=…`.
RELEASE_KEYS ?=
LDFLAGS  := -X main.version=$(VERSION) -X main.commit=$(COMMIT) -X main.date=$(DATE) -X posfw/firmware/update.releaseKeys=$(RELEASE_KEYS)
PKG      := ./firmware/cmd/posfw
# Static ARM binaries: cgo (SQLite) through Debian's cross gcc, linked with -static.
ARMFLAGS := -trimpath -tags '$(TAGS)' -ldflags '-s -w $(LDFLAGS) -linkmode external -extldflags "-static"'
# Largest stripped ARM binary we ship (DESIGN §10).
MAXBYTES := 15728640

.PHONY: build test sim arm arm64 smoke-arm deps lint bench soak clean

build:
	$(GO) build -tags '$(TAGS)' -ldflags '$(LDFLAGS)' -o bin/posfw $(PKG)

test:
	$(GO) test -count=1 ./...

sim: build
	bin/posfw sim --data var

arm:
	CGO_ENABLED=1 GOOS=linux GOARCH=arm GOARM=7 CC=arm-linux-gnueabihf-gcc \
		$(GO) build $(ARMFLAGS) -o bin/posfw-linux-armv7 $(PKG)
	@scripts/check-binary bin/posfw-linux-armv7 ARM $(MAXBYTES)

arm64:
	CGO_ENABLED=1 GOOS=linux GOARCH=arm64 CC=aarch64-linux-gnu-gcc \
		$(GO) build $(ARMFLAGS) -o bin/posfw-linux-arm64 $(PKG)
	@scripts/check-binary bin/posfw-linux-arm64 AArch64 $(MAXBYTES)

# Run the ARM binaries under qemu-user: version and the simulated board's self test.
smoke-arm: arm arm64
	scripts/smoke-arm qemu-arm bin/posfw-linux-armv7
	scripts/smoke-arm qemu-aarch64 bin/posfw-linux-arm64

deps:
	scripts/deps

# go mod tidy -diff changes nothing and fails when tidy would change go.mod or go.sum.
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	@$(GO) mod tidy -diff || { echo "go.mod/go.sum are not tidy: run go mod tidy"; exit 1; }
	$(GO) vet ./...

bench: build
	$(GO) test -run '^$$' -bench . -benchtime 2000x ./...
	bin/posfw bench --n 1000 --data var

# The long-running fault test: CYCLES terminal lives under random acquirer faults, killed
# (SIGKILL) at random, each reconciled with the acquirer's ledger (firmware/crashtest).
CYCLES ?= 300
soak:
	POSFW_SOAK_CYCLES=$(CYCLES) $(GO) test -count=1 -run '^TestSoak$$' -v -timeout 120m ./firmware/crashtest

clean:
	rm -rf bin
