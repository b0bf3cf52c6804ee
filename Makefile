# pylock — build, test, demo, benchmark, install.
#
#   make            build pylock/pylock
#   make check      unit tests (cmocka) + integration suite (as an unprivileged user)
#   make demo       build and show the main job on a small example
#   make bench      benchmarks, as ratios against reference tools measured in the same run
#   make lint       clang-format check, cppcheck, banned functions
#   make man        man pages from man/*.scd into build/man/ (scdoc)

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
DLOPEN_PKGS := openssl libarchive libcurl jansson mount

WARN := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wstrict-prototypes -Wmissing-prototypes \
        -Wno-unused-parameter
CFLAGS ?= -O2 -g
ALL_CFLAGS := -std=gnu11 -D_GNU_SOURCE -DPYLOCK_VERSION='"$(VERSION)"' $(WARN) \
        -fstack-protector-strong -D_FORTIFY_SOURCE=2 -fPIE -Ibuild/gen -Ilib \
        $(shell $(PKG_CONFIG) --cflags $(STATIC_PKGS) $(DLOPEN_PKGS) 2>/dev/null) $(CFLAGS)
LDFLAGS ?=
ALL_LDFLAGS := -pie -Wl,-z,relro,-z,now -Wl,--as-needed $(LDFLAGS)
LIBS := -Wl,-Bstatic $(shell $(PKG_CONFIG) --libs --static $(STATIC_PKGS) 2>/dev/null | sed 's/-lcap//; s/-lseccomp//') -lseccomp -lcap -Wl,-Bdynamic -ldl

LIB_SRC := $(filter-out lib/seccomp_gen.c,$(sort $(wildcard lib/*.c)))
CLI_SRC := $(sort $(wildcard pylock/*.c))
TEST_SRC := $(sort $(wildcard tests/test_*.c))
DYN_HDR := $(wildcard lib/dyn_*.h)
GEN_HDR := $(patsubst lib/%.h,build/gen/%_defs.h,$(DYN_HDR)) build/gen/seccomp_bpf.h

LIB_OBJ := $(patsubst %.c,build/%.o,$(LIB_SRC))
CLI_OBJ := $(patsubst %.c,build/%.o,$(CLI_SRC))
TEST_BIN := $(patsubst tests/%.c,build/tests/%,$(TEST_SRC))

.SECONDARY: $(GEN_HDR)
.PHONY: all deps check unit toml-decoder integration demo bench lint clean install uninstall man
all: pylock/pylock

deps:
	@packaging/build-deps.sh

build/gen/dyn_%_defs.h: lib/dyn_%.h
	@mkdir -p $(@D)
	@lib=$*; { echo "/* generated from lib/dyn_$$lib.h — do not edit */"; echo "#ifndef PL_DYN_NO_DEFS"; \
	  sed -n 's/^ *X(\([A-Za-z0-9_]*\)).*/#define \1 (pl_'$$lib'_fn.\1)/p' $<; echo "#endif"; } > $@

# The seccomp policy, compiled to BPF by libseccomp at build time (see lib/seccomp_policy.h).
build/seccomp-gen: lib/seccomp_gen.c lib/seccomp_policy.c lib/seccomp_policy.h
	@mkdir -p $(@D)
	@echo "  GEN     seccomp policy"
	@$(CC) $(ALL_CFLAGS) -o $@ lib/seccomp_gen.c lib/seccomp_policy.c $(LIBS)

build/gen/seccomp_bpf.h: build/seccomp-gen
	@mkdir -p $(@D)
	@$< > $@.tmp && mv $@.tmp $@

build/%.o: %.c $(GEN_HDR) $(wildcard lib/*.h) $(wildcard pylock/*.h) CHANGELOG.md
	@mkdir -p $(@D)
	@echo "  CC      $<"
	@$(CC) $(ALL_CFLAGS) -c -o $@ $<

build/libpylock.a: $(LIB_OBJ)
	@rm -f $@
	@echo "  AR      $@"
	@ar rcs $@ $^

pylock/pylock: $(CLI_OBJ) build/libpylock.a
	@echo "  LD      $@"
	@$(CC) $(ALL_LDFLAGS) -o $@ $(CLI_OBJ) build/libpylock.a $(LIBS)

build/tests/%: tests/%.c build/libpylock.a $(GEN_HDR) $(wildcard tests/*.h)
	@mkdir -p $(@D)
	@echo "  CC      $<"
	@$(CC) $(ALL_CFLAGS) -Wno-missing-prototypes -o $@ $< build/libpylock.a \
	  $(ALL_LDFLAGS) $(LIBS) $(shell $(PKG_CONFIG) --libs cmocka)

# Man pages: man/NAME.SECTION.scd -> build/man/NAME.SECTION (only *.1 and *.5).
# The date in each page is the last commit's (SOURCE_DATE_EPOCH), so the same
# tree gives the same bytes.
MAN_SRC := $(sort $(wildcard man/*.scd))
MAN_OUT := $(patsubst man/%.scd,build/man/%,$(MAN_SRC))
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || date +%s)
man: $(MAN_OUT)
build/man/%: man/%.scd
	@mkdir -p $(@D)
	@echo "  SCDOC   $<"
	@SOURCE_DATE_EPOCH=$(SOURCE_DATE_EPOCH) scdoc < $< > $@.tmp && mv $@.tmp $@

# Helpers the integration suite runs (not installed).
HELPERS := build/helpers/deny-userns build/helpers/exec-floor build/helpers/wheel-verify
build/helpers/%: integration/helpers/%.c $(GEN_HDR)
	@mkdir -p $(@D)
	@echo "  CC      $<"
	@$(CC) $(ALL_CFLAGS) -o $@ $< $(LIBS)

# Helpers that call into the library (bench: wheel verification throughput).
build/helpers/wheel-verify: integration/helpers/wheel-verify.c build/libpylock.a $(GEN_HDR)
	@mkdir -p $(@D)
	@echo "  CC      $<"
	@$(CC) $(ALL_CFLAGS) -o $@ $< build/libpylock.a $(ALL_LDFLAGS) $(LIBS)

# toml-test decoder interface: toml-test -- build/toml-decoder
toml-decoder: build/toml-decoder
build/toml-decoder: tests/toml/decoder.c build/libpylock.a
	@mkdir -p $(@D)
	@$(CC) $(ALL_CFLAGS) -o $@ $< build/libpylock.a $(ALL_LDFLAGS) $(LIBS) -lm

unit: $(TEST_BIN)
	@tests/run-unit.sh $(TEST_BIN)

integration: pylock/pylock $(HELPERS) man
	@integration/run

# The summary line counts both suites; a failure in either fails the target.
check: deps
	@$(MAKE) --no-print-directory all man $(TEST_BIN) $(HELPERS)
	@rm -f build/results.*; \
	 if tests/lint.sh; then r="1 0"; else r="0 1"; fi; echo "$$r" > build/results.lint; \
	 tests/run-unit.sh $(TEST_BIN) || true; \
	 integration/run || true; \
	 tests/summarize.sh build/results.*

demo: deps all
	@integration/demo.sh

bench: deps all $(HELPERS)
	@integration/bench/run

lint:
	@tests/lint.sh

clean:
	rm -rf build pylock/pylock

# ---- fuzzing: make fuzz [FUZZ_TIME=seconds per target] ----------------------
# libFuzzer targets for the parsers of untrusted input (wheel content, TOML),
# built with clang, ASan and UBSan, each run for a short bounded time.  The
# parsers do not need the dlopen'ed libraries, so the targets link only their
# sources.  A target's dictionary, if any, is tests/fuzz/<name>.dict.
FUZZ_CC ?= clang
FUZZ_TIME ?= 20
FUZZ_LIB := lib/archive_path.c lib/distname.c lib/error.c lib/metadata.c lib/record.c lib/tags.c \
            lib/toml.c
FUZZ_BIN := $(patsubst tests/fuzz/%.c,build/fuzz/%,$(wildcard tests/fuzz/fuzz_*.c))

build/fuzz/%: tests/fuzz/%.c $(FUZZ_LIB) $(wildcard lib/*.h)
	@mkdir -p $(@D)
	$(FUZZ_CC) -std=gnu11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
	  -fno-sanitize-recover=undefined -Ilib -o $@ $< $(FUZZ_LIB) -lm

.PHONY: fuzz
fuzz: $(FUZZ_BIN)
	@for f in $(FUZZ_BIN); do t=$$(basename $$f); mkdir -p build/fuzz/corpus/$$t; \
	  name=$${t#fuzz_}; dict=""; [ -f tests/fuzz/$$name.dict ] && dict="-dict=tests/fuzz/$$name.dict"; \
	  seeds=tests/fuzz/seeds/$$t; [ -d $$seeds ] || seeds=""; \
	  [ $$t = fuzz_toml ] && seeds="tests/toml/valid tests/toml/invalid"; \
	  echo "fuzz: $$t for $(FUZZ_TIME)s"; \
	  $$f -max_total_time=$(FUZZ_TIME) -max_len=65536 -timeout=10 -print_final_stats=1 $$dict \
	    -artifact_prefix=build/fuzz/$$t- build/fuzz/corpus/$$t $$seeds 2>build/fuzz/$$t.log \
	    || { tail -n 40 build/fuzz/$$t.log; exit 1; }; \
	  grep -E '^stat::(number_of_executed_units|new_units_added)' build/fuzz/$$t.log; done
