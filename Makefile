# Thin wrapper over CMake. Every target installs missing Debian packages
# first (scripts/deps.sh is a no-op when everything is present).
BUILD ?= build
ASAN_BUILD ?= build-asan
CC := clang-19
JOBS ?= $(shell nproc)

.PHONY: all deps build test test-release test-asan conformance demo bench bench-compute clean format

all: build

deps:
	@scripts/deps.sh

$(BUILD)/CMakeCache.txt: | deps
	cmake -S . -B $(BUILD) -DCMAKE_C_COMPILER=$(CC) -DCMAKE_BUILD_TYPE=Release

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

# The whole suite twice: optimized, then under AddressSanitizer + UBSan.
test: test-release test-asan

test-release: build
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)

test-asan: deps
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_C_COMPILER=$(CC) -DCMAKE_BUILD_TYPE=Debug -DMYR_SANITIZE=ON
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	ctest --test-dir $(ASAN_BUILD) --output-on-failure -j $(JOBS)

conformance: build
	tests/spec/conformance.sh $(BUILD)

demo: build
	scripts/demo.sh $(BUILD)

bench: build
	@scripts/deps.sh --bench
	bench/run.sh $(BUILD)

bench-compute: build
	@scripts/deps.sh --bench
	bench/compute/run.sh $(BUILD)

format:
	clang-format -i include/*.h src/*.c src/*.h cli/*.c tests/unit/*.c tests/spec/*.c

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)

# Installs the library (static and shared), myriad.h, the myriad command
# and myriad.pc under PREFIX; DESTDIR stages the files elsewhere, e.g. for
# packaging: make install DESTDIR=/tmp/stage PREFIX=/usr
PREFIX ?= /usr/local
.PHONY: install
install: build
	DESTDIR="$(DESTDIR)" cmake --install $(BUILD) --prefix "$(PREFIX)"
