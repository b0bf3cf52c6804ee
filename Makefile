# pylock — build, test, demo, benchmark, install.
#
#   make            build pylock/pylock
#   make check      unit tests (cmocka) + integration suite (as an unprivileged user)
#   make demo       build and show the main job on a small example
#   make bench      benchmarks, as ratios against reference tools measured in the same run
#   make lint       clang-format check, cppcheck, banned functions

VERSION := $(shell sed -n 's/^## \[\([0-9][0-9.]*\)\].*/\1/p' CHANGELOG.md | head -n 1)
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
DESTDIR ?=

CC ?= cc
PKG_CONFIG ?= pkg-config
# Linked statically (small, on the hot path) — see lib/dynlib.h for why the
# heavy libraries (libcrypto, libarchive, libcurl, jansson) are dlopen'ed.
STATIC_PKGS := libcap libseccomp
# Only their headers are needed at build time.
DLOPEN_PKGS := openssl libarchive libcurl jansson

WARN := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wstrict-prototypes -Wmissing-prototypes \
        -Wno-unused-parameter
CFLAGS ?= -O2 -g
ALL_CFLAGS := -std=gnu11 -D_GNU_SOURCE -DPYLOCK_VERSION='"$(VERSION)"' $(WARN) \
        -fstack-protector-strong -D_FORTIFY_SOURCE=2 -fPIE -Ibuild/gen -Ilib \
        $(shell $(PKG_CONFIG) --cflags $(STATIC_PKGS) $(DLOPEN_PKGS) 2>/dev/null) $(CFLAGS)
LDFLAGS ?=
ALL_LDFLAGS := -pie -Wl,-z,relro,-z,now -Wl,--as-needed $(LDFLAGS)
LIBS := -Wl,-Bstatic $(shell $(PKG_CONFIG) --libs --static $(STATIC_PKGS) 2>/dev/null | sed 's/-lcap//; s/-lseccomp//') -lseccomp -lcap -Wl,-Bdynamic -ldl

LIB_SRC := $(sort $(wildcard lib/*.c))
CLI_SRC := $(sort $(wildcard pylock/*.c))
TEST_SRC := $(sort $(wildcard tests/test_*.c))
DYN_HDR := $(wildcard lib/dyn_*.h)
GEN_HDR := $(patsubst lib/%.h,build/gen/%_defs.h,$(DYN_HDR))

LIB_OBJ := $(patsubst %.c,build/%.o,$(LIB_SRC))
CLI_OBJ := $(patsubst %.c,build/%.o,$(CLI_SRC))
TEST_BIN := $(patsubst tests/%.c,build/tests/%,$(TEST_SRC))

.SECONDARY: $(GEN_HDR)
.PHONY: all deps check unit toml-decoder integration demo bench lint clean install uninstall
all: pylock/pylock

deps:
	@packaging/build-deps.sh

build/gen/dyn_%_defs.h: lib/dyn_%.h
	@mkdir -p $(@D)
	@lib=$*; { echo "/* generated from lib/dyn_$$lib.h — do not edit */"; echo "#ifndef PL_DYN_NO_DEFS"; \
	  sed -n 's/^ *X(\([A-Za-z0-9_]*\)).*/#define \1 (pl_'$$lib'_fn.\1)/p' $<; echo "#endif"; } > $@

build/%.o: %.c $(GEN_HDR) $(wildcard lib/*.h) $(wildcard pylock/*.h) CHANGELOG.md
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

build/libpylock.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

pylock/pylock: $(CLI_OBJ) build/libpylock.a
	$(CC) $(ALL_LDFLAGS) -o $@ $(CLI_OBJ) build/libpylock.a $(LIBS)

build/tests/%: tests/%.c build/libpylock.a $(GEN_HDR)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Wno-missing-prototypes -o $@ $< build/libpylock.a \
	  $(ALL_LDFLAGS) $(LIBS) $(shell $(PKG_CONFIG) --libs cmocka)

# toml-test decoder interface: toml-test -- build/toml-decoder
toml-decoder: build/toml-decoder
build/toml-decoder: tests/toml/decoder.c build/libpylock.a
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -o $@ $< build/libpylock.a $(ALL_LDFLAGS) $(LIBS)

unit: $(TEST_BIN)
	@tests/run-unit.sh $(TEST_BIN)

integration: pylock/pylock
	@integration/run

# The summary line counts both suites; a failure in either fails the target.
check: deps
	@$(MAKE) --no-print-directory all $(TEST_BIN)
	@rm -f build/results.*; \
	 tests/run-unit.sh $(TEST_BIN) || true; \
	 integration/run || true; \
	 tests/summarize.sh build/results.*

demo: deps all
	@integration/demo.sh

bench: deps all
	@integration/bench/run

lint:
	@tests/lint.sh

clean:
	rm -rf build pylock/pylock

# --- fuzzing (clang, libFuzzer) ----------------------------------------------
#   make fuzz-toml [FUZZ_SECONDS=120]   builds build/fuzz/fuzz_toml and runs it
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 120
FUZZ_CFLAGS := -std=gnu11 -D_GNU_SOURCE -g -O1 -Ilib -fsanitize=fuzzer,address,undefined \
        -fno-sanitize-recover=undefined
.PHONY: fuzz-toml
build/fuzz/fuzz_toml: tests/fuzz/fuzz_toml.c lib/toml.c lib/toml.h lib/error.c lib/error.h
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ tests/fuzz/fuzz_toml.c lib/toml.c lib/error.c -lm
fuzz-toml: build/fuzz/fuzz_toml
	@mkdir -p build/fuzz/corpus_toml
	build/fuzz/fuzz_toml -max_total_time=$(FUZZ_SECONDS) -max_len=4096 -timeout=10 \
	  -dict=tests/fuzz/toml.dict build/fuzz/corpus_toml tests/toml/valid tests/toml/invalid
