# A thin layer over CMake: `make demo` and `make test` each install what is
# missing (scripts/setup-deps), configure, build and run.
#   BUILD=dir        build directory (default build)
#   CC=compiler      C compiler (default cc)
#   CMAKE_FLAGS=...  extra CMake options, e.g. -DSTASH_WERROR=ON
#                    or -DSTASH_SANITIZE=address,undefined
BUILD ?= build
CMAKE_FLAGS ?=

.PHONY: all deps build demo test bench clean

all: build

deps:
	@bash scripts/setup-deps

build: deps
	cmake -S . -B $(BUILD) -DCMAKE_C_COMPILER=$(CC) $(CMAKE_FLAGS)
	cmake --build $(BUILD) --parallel

demo: build
	$(BUILD)/stash demo

test: build
	cd $(BUILD) && ctest --output-on-failure

bench: build
	$(BUILD)/stash bench

clean:
	rm -rf $(BUILD) stash-demo
