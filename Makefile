# Thin wrapper over CMake. Every target installs missing Debian packages
# first (scripts/deps.sh is a no-op when everything is present).
BUILD ?= build
ASAN_BUILD ?= build-asan
CC := clang-19
JOBS ?= $(shell nproc)

.PHONY: fuzz-diff all deps build test test-release test-asan test-tsan conformance demo soak bench bench-compute clean format format-files

all: build

deps:
	@scripts/deps.sh

$(BUILD)/CMakeCache.txt: | deps
	cmake -S . -B $(BUILD) -DCMAKE_C_COMPILER=$(CC) -DCMAKE_BUILD_TYPE=Release

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

# The whole suite twice: optimized, then under AddressSanitizer + UBSan.
test: test-release test-asan test-fuzz

test-release: build
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)

test-asan: deps
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_C_COMPILER=$(CC) -DCMAKE_BUILD_TYPE=Debug -DMYR_SANITIZE=ON
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	ctest --test-dir $(ASAN_BUILD) --output-on-failure -j $(JOBS)

# The threaded tests under ThreadSanitizer (build-tsan/): the scheduler
# interpreted and in auto (with the background compiler), WASI's parking,
# the tier's compile thread, the actors' mailboxes, links and monitors
# across workers, a soak of 4,000 instances. tests/tsan.supp
# lists the suppressions and why each is there.
TSAN_BUILD ?= build-tsan
TSAN_TESTS = ^(unit\.test_sched|unit\.test_sched\.interp|unit\.test_wasi|unit\.test_tier|unit\.test_actor|fuzz\.replay\.actors|soak)$$
test-tsan: deps
	cmake -S . -B $(TSAN_BUILD) -DCMAKE_C_COMPILER=$(CC) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMYR_TSAN=ON -DMYR_SHARED=OFF
	cmake --build $(TSAN_BUILD) -j $(JOBS) --target test_sched test_wasi test_tier test_actor fuzz_replay_actors soak
	TSAN_OPTIONS="halt_on_error=1 suppressions=$(CURDIR)/tests/tsan.supp" \
		ctest --test-dir $(TSAN_BUILD) --output-on-failure -j $(JOBS) -R '$(TSAN_TESTS)'

# The libFuzzer targets of fuzz/ (build-fuzz/): each of TARGETS for
# FUZZ_TIME seconds, then executions, coverage and findings per target
# (findings in build-fuzz/findings/<target>/). test-fuzz is the short run
# of `make test`: it fails if anything is found.
FUZZ_BUILD ?= build-fuzz
FUZZ_TIME ?= 60
TARGETS ?= decode run slices wasi run_tiers actors cache
.PHONY: fuzz test-fuzz
fuzz: deps
	fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_TIME) $(TARGETS)

test-fuzz: deps
	fuzz/run.sh $(FUZZ_BUILD) 8 decode run slices wasi run_tiers actors cache

# N random modules (wasm-opt -ttf, seeds FIRST..FIRST+N-1) compared
# against binaryen's interpreter and V8, every TIERS-th also across
# myriad's tiers (tools/oracle/fuzzdiff.js); then the same seeds through
# the tier differential test on the modules as made (tests/fuzz/tierdiff.sh).
N ?= 1000
FIRST ?= 1
TIERS ?= 10
fuzz-diff: build
	node tools/oracle/fuzzdiff.js --build $(BUILD) --first $(FIRST) --count $(N) --tiers $(TIERS)
	tests/fuzz/tierdiff.sh $(BUILD) $(N) $(FIRST)

conformance: build
	tests/spec/conformance.sh $(BUILD)

demo: build
	scripts/demo.sh $(BUILD)

# A million instances alive at once, a random tenth of them trapping,
# exiting, sleeping or waiting, every result checked (tests/soak/soak.c;
# ctest's soak runs 20,000). About 17 GB of RAM at a million.
SOAK_N ?= 1000000
SOAK_SEED ?= 1
soak: build
	$(BUILD)/tests/soak/soak $(BUILD)/tests/soak/soak.wasm $(SOAK_N) $(SOAK_SEED)

bench: build
	@scripts/deps.sh --bench
	bench/run.sh $(BUILD)

bench-compute: build
	@scripts/deps.sh --bench
	bench/compute/run.sh $(BUILD)

# Every C file of the project, formatted by the clang-format of the
# compiler's release (older ones lay out the same .clang-format
# differently, so mixing versions churns the tree).
CLANG_FORMAT ?= clang-format-19
FORMAT_SOURCES = $(wildcard include/*.h src/*.c src/*.h cli/*.c cli/*.h \
	tests/unit/*.c tests/unit/*.h tests/spec/*.c tests/spec/*.h \
	tests/wasi/*.c tests/programs/*.c tests/programs/*.h tests/faults/*.c \
	tests/soak/*.c tests/wat/*.h fuzz/*.c fuzz/*.h \
	examples/*.c examples/guest/*.c examples/actors/*.c \
	bench/compute/*.c bench/compute/*.h bench/actors/*.c bench/actors/*.h \
	bench/million/*.c bench/tierproto/*.c demo/*.c tools/*.c cmake/*.h)

format:
	@scripts/deps.sh --format
	$(CLANG_FORMAT) -i $(FORMAT_SOURCES)

# What `make format` formats, one per line (cmake/check_format_covers.sh
# checks that no C file of the tree is missing).
format-files:
	@printf '%s\n' $(FORMAT_SOURCES)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)

# Installs the library (static and shared), myriad.h, the myriad command
# and myriad.pc under PREFIX; DESTDIR stages the files elsewhere, e.g. for
# packaging: make install DESTDIR=/tmp/stage PREFIX=/usr
PREFIX ?= /usr/local
.PHONY: install
install: build
	DESTDIR="$(DESTDIR)" cmake --install $(BUILD) --prefix "$(PREFIX)"
