# pylock — build, test, demo, benchmark, install.
#
#   make            build pylock into build/stage/ (bin/pylock, bin/pylock-shim, lib/pylock/pylock:
#                   the front end, the shims' front end, the full program), linked from pylock/
#   make check      warnings, lint, unit tests (cmocka), integration suite (as an unprivileged
#                   user), packaging (tests/packaging.bats)
#   make check SANITIZE=1
#                   the same with everything built with ASan and UBSan (in build/asan/;
#                   packaging is skipped: packages are never built that way)
#   make unit       the unit tests only (SANITIZE=1 works here too)
#   make demo       build and show the main job on a small example
#   make bench      benchmarks, as ratios against reference tools measured in the same run
#   make bench-scale  registries at 1,000,000 targets (hashed bins) against single targets.json
#   make bench-index  `registry index` of registries without pages, up to 1,000,000 targets
#   make bench-verify `registry verify --targets` of hashed-bin registries, up to 1,000,000
#   make bench-install  a cold install of ~90 real distributions against pip (minutes)
#   make stress     long crash and race experiments (integration/stress/*.bats), minutes
#   make lint       clang-format check, cppcheck, banned functions
#   make man        man pages from man/*.scd into build/man/ (scdoc)
#   make install    PREFIX=/usr/local DESTDIR= (see below); make uninstall
#   make package    build/packages/: a .deb (dpkg-buildpackage) and an .rpm (rpmbuild)
#   make fuzz       libFuzzer targets, FUZZ_TIME CPU seconds each (see the end of this file)
#   make fuzz-replay  each fuzz target once over its seeds (CI runs it)
# SPDX-License-Identifier: Apache-2.0

VERSION := $(shell sed -n 's/^## \[\([0-9][0-9.]*\)\].*/\1/p' CHANGELOG.md | head -n 1)
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
# /etc whatever the PREFIX: pylock reads system trust roots from /etc/pylock/trust.d (only
# $PYLOCK_SYSCONFDIR moves it, at run time), so a root installed under /usr/local/etc would
# be silently ignored.  Packages use the same.
SYSCONFDIR ?= /etc
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR ?= $(PREFIX)/share/zsh/vendor-completions
FISHCOMPDIR ?= $(PREFIX)/share/fish/vendor_completions.d
# The AppArmor profile (packaging/apparmor/) and the script that puts it in place.
PKGDATADIR ?= $(PREFIX)/share/pylock
PKGLIBDIR ?= $(PREFIX)/lib/pylock
DESTDIR ?=

CC ?= cc
PKG_CONFIG ?= pkg-config
# Linked statically (small, on the hot path) — see lib/dynlib.h for why the
# heavy libraries (libcrypto, libarchive, libcurl, jansson) are dlopen'ed.
STATIC_PKGS := libcap libseccomp
# Only their headers are needed at build time.
DLOPEN_PKGS := openssl libarchive libcurl jansson mount

# Build variants.  Each has a directory of its own (objects, library, tests, helpers), so
# switching between them never mixes objects; build/gen/ (generated headers, the same for
# every variant) is shared.
#   SANITIZE=1  ASan and UBSan, any error fatal, into build/asan/ (build/asan/stage/bin/pylock).
#               _FORTIFY_SOURCE is off there: fortified string functions bypass ASan's checks.
ifeq ($(SANITIZE),1)
B := build/asan
BIN := $(B)/stage/bin/pylock
SAN := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
CFLAGS ?= -O1 -g
FORTIFY :=
else
B := build
# A link to build/stage/bin/pylock (the front end): the path scripts and habits know.
BIN := pylock/pylock
SAN :=
CFLAGS ?= -O2 -g
FORTIFY := -D_FORTIFY_SOURCE=2
endif

# Warnings.  A user builds a release with whatever compiler they have, and a newer compiler
# warns about more (gcc 12 at -O1 added -Wformat-truncation findings to the unit tests), so a
# plain `make` must not stop on a warning.  Errors are only the warnings that mean the code
# is wrong on that machine whatever the compiler's version: a call to an undeclared function
# or an implicit int (wrong return type, truncated pointers), pointers passed as the wrong
# type or as integers, a non-void function falling off its end, a printf-style format that
# does not match its arguments or is not a literal with no arguments, a variable-length
# array (an unbounded stack allocation); GCC 14 makes the first four errors by default.
# The format checks' heuristics that change between versions
# (-Wformat-truncation, -Wformat-overflow: value-range guesses) and -Wformat-nonliteral
# (a style rule of -Wformat=2) stay warnings.
# The project's own checks are strict: every compiler run records what it printed
# (<object>.warn beside the object), `make check` fails on any warning in the project's code
# (tests/warnings.sh), without recompiling; WERROR=1 turns every warning into an error at
# compile time (for a developer who wants to stop at the first one).
cc-option = $(shell $(CC) -Werror $(1) -c -x c /dev/null -o /dev/null 2>/dev/null && echo $(1))
WARN := -Wall -Wextra -Wshadow -Wformat=2 -Wstrict-prototypes -Wmissing-prototypes -Wvla \
        -Wno-unused-parameter
WERRORS := -Werror=implicit-function-declaration -Werror=implicit-int \
           -Werror=incompatible-pointer-types -Werror=int-conversion -Werror=return-type \
           -Werror=format -Werror=format-security -Werror=vla \
           $(call cc-option,-Wno-error=format-truncation) \
           $(call cc-option,-Wno-error=format-overflow) -Wno-error=format-nonliteral
ifeq ($(WERROR),1)
WERRORS += -Werror
endif
CPPFLAGS ?=
# Header dependencies: each compiler run writes a .d file beside its output (-MMD; -MP adds
# a target per header, so deleting one does not break the build).
DEPFLAGS := -MMD -MP
BASE_CFLAGS := -std=gnu11 -D_GNU_SOURCE -fstack-protector-strong -fPIE -Ibuild/gen -Ilib \
        $(shell $(PKG_CONFIG) --cflags $(STATIC_PKGS) $(DLOPEN_PKGS) 2>/dev/null)
ALL_CFLAGS := $(BASE_CFLAGS) $(WARN) $(WERRORS) $(FORTIFY) $(SAN) $(CPPFLAGS) $(CFLAGS)
LDFLAGS ?=
ALL_LDFLAGS := -pie -Wl,-z,relro,-z,now -Wl,--as-needed $(SAN) $(LDFLAGS)
LIBS := -Wl,-Bstatic $(shell $(PKG_CONFIG) --libs --static $(STATIC_PKGS) 2>/dev/null | sed 's/-lcap//; s/-lseccomp//') -lseccomp -lcap -Wl,-Bdynamic -ldl

LIB_SRC := $(filter-out lib/seccomp_gen.c,$(sort $(wildcard lib/*.c)))
# What is installed, laid out as installed (PREFIX/bin, PREFIX/lib/pylock), so that each
# program finds the others where it will find them installed:
#   bin/pylock           the front end (pylock/front/pylock.c): `pylock run` joining a kept-alive
#                        sandbox itself, every other command by exec of the full program
#   bin/pylock-shim      the shims' front end (pylock/front/pylock-shim.c): python3/pip links
#   lib/pylock/pylock    the full program (pylock/*.c and lib/)
# Both front ends are small programs linked statically with a C library alone.  They share
# with the full program, compiled from the same sources, what they decide with: the walk that
# finds a project, the shim manifest, the escaping rule, and for `pylock run` the whole joined
# path (lib/launch.c, lib/keepalive.c, lib/sandbox.c and what they use).  With musl
# (musl-gcc, Debian's musl-tools) when the machine has it: on the 2-core VM glibc's start-up
# costs about 0.8 ms in any program (cpuid traps to the hypervisor; its IRELATIVE
# relocations, TLS, malloc), which is more than the whole budget of `pylock run` over the
# command itself.  Else glibc, -static-pie.  FRONT_LIBC=glibc|musl chooses.  Sanitized
# builds link them dynamically with glibc (the sanitizers' runtimes need that).
STAGE := $(B)/stage
FULL := $(STAGE)/lib/pylock/pylock
CMD_FRONT := $(STAGE)/bin/pylock
FRONT := $(STAGE)/bin/pylock-shim
SHIM_FRONT_SRC := pylock/front/pylock-shim.c lib/shim.c lib/projwalk.c lib/escape.c
# The joined run: the front end's own files, and the library files it links (an archive: only
# what is used is linked).  lib/sha.c's libcrypto is replaced by pylock/front/sha.c.
CMD_FRONT_SRC := pylock/front/pylock.c pylock/front/sha.c pylock/runexit.c
CMD_FRONT_LIB_SRC := lib/archive_path.c lib/change.c lib/child.c lib/config.c lib/distname.c \
        lib/environ.c lib/error.c lib/escape.c lib/file.c lib/generations.c lib/harden.c \
        lib/hex.c lib/interp.c lib/interrupt.c lib/keepalive.c lib/landlock.c lib/launch.c \
        lib/lockfile.c lib/log.c lib/metadata.c lib/paths.c lib/pause.c lib/pep508.c \
        lib/project.c lib/projwalk.c lib/sandbox.c lib/sha256_small.c lib/shim.c lib/state.c \
        lib/tags.c lib/toml.c lib/userns.c lib/version.c
MUSL_GCC ?= musl-gcc
FRONT_LIBC ?= $(if $(SAN),glibc,$(if $(shell command -v $(MUSL_GCC) 2>/dev/null),musl,glibc))
ifeq ($(FRONT_LIBC),musl)
# Their own objects: the library's are compiled against glibc's headers.  No pkg-config flags
# (they may name glibc's include directories) and no _FORTIFY_SOURCE (musl has none); a
# build-id asked for, which musl-gcc's specs leave out (rpm's debuginfo tools need one).
# musl has no kernel headers of its own: build/musl-include links the system's linux/, asm/
# and asm-generic/ (and nothing else), and lib/compat_musl.h adds the few system calls
# musl 1.2 has no wrapper for.
FMO := $(B)/pylock/front/musl
SHIM_FRONT_OBJ := $(patsubst %.c,$(FMO)/%.o,$(SHIM_FRONT_SRC))
CMD_FRONT_OBJ := $(patsubst %.c,$(FMO)/%.o,$(CMD_FRONT_SRC))
CMD_FRONT_LIB := $(FMO)/libfront.a
CMD_FRONT_LIB_OBJ := $(patsubst %.c,$(FMO)/%.o,$(CMD_FRONT_LIB_SRC))
FRONT_LD := $(MUSL_GCC)
# Position-independent, as the full program is: the front end reads the configuration and
# the holder's mountinfo, and holds every capability of the sandbox's user namespace until it
# drops them.  musl-gcc's specs know no -static-pie: the link is spelled out (musl's rcrt1.o
# relocates the program itself; some 150 relocations, about 8 us an exec), with musl's
# library directory read from the wrapper's -specs.  Plain -static where there is none.
MUSL_LIBDIR := $(shell sed -n 's|.*-specs "\(.*\)/musl-gcc.specs".*|\1|p' \
        "$$(command -v $(MUSL_GCC))" 2>/dev/null)
ifneq ($(wildcard $(MUSL_LIBDIR)/rcrt1.o),)
FRONT_LDFLAGS := -nostdlib -Wl,-static,-pie,--no-dynamic-linker,-z,text -Wl,--build-id \
        -Wl,-z,relro,-z,now $(LDFLAGS) $(MUSL_LIBDIR)/rcrt1.o $(MUSL_LIBDIR)/crti.o \
        $(shell $(MUSL_GCC) -print-file-name=crtbeginS.o)
FRONT_LDEND := -L$(MUSL_LIBDIR) -lc $(shell $(MUSL_GCC) -print-libgcc-file-name) \
        $(shell $(MUSL_GCC) -print-file-name=crtendS.o) $(MUSL_LIBDIR)/crtn.o
else
FRONT_LDFLAGS := -static -Wl,--build-id -Wl,-z,relro,-z,now $(LDFLAGS)
endif
MUSL_INC := build/musl-include
MULTIARCH := $(shell $(CC) -print-multiarch 2>/dev/null)
FRONT_CFLAGS := -std=gnu11 -D_GNU_SOURCE -fstack-protector-strong -fPIE -Ibuild/gen -Ilib \
        -idirafter $(MUSL_INC) -include lib/compat_musl.h $(WARN) $(WERRORS) $(CPPFLAGS) $(CFLAGS)
else
SHIM_FRONT_OBJ := $(patsubst %.c,$(B)/%.o,$(SHIM_FRONT_SRC))
CMD_FRONT_OBJ := $(patsubst %.c,$(B)/%.o,$(CMD_FRONT_SRC))
CMD_FRONT_LIB := $(B)/pylock/front/libfront.a
CMD_FRONT_LIB_OBJ := $(patsubst %.c,$(B)/%.o,$(CMD_FRONT_LIB_SRC))
FRONT_LD := $(CC)
ifeq ($(SANITIZE),1)
FRONT_LDFLAGS := $(ALL_LDFLAGS)
else
FRONT_LDFLAGS := $(if $(call cc-option,-static-pie),-static-pie,-static) -Wl,-z,relro,-z,now $(LDFLAGS)
endif
endif
CLI_SRC := $(sort $(wildcard pylock/*.c))
TEST_SRC := $(sort $(wildcard tests/test_*.c))
DYN_HDR := $(wildcard lib/dyn_*.h)
# Generated headers: the dlopen tables' call-site macros, the seccomp filter as BPF, and the
# version.  Every compiler run waits for them (order-only); which object needs which is in
# its .d file after the first build.
GEN_HDR := $(patsubst lib/%.h,build/gen/%_defs.h,$(DYN_HDR)) build/gen/seccomp_bpf.h \
        build/gen/pylock_version.h

LIB_OBJ := $(patsubst %.c,$(B)/%.o,$(LIB_SRC))
CLI_OBJ := $(patsubst %.c,$(B)/%.o,$(CLI_SRC))
TEST_BIN := $(patsubst tests/%.c,$(B)/tests/%,$(TEST_SRC))
HELPERS := $(B)/helpers/deny-userns $(B)/helpers/exec-floor $(B)/helpers/ptrace-attack \
           $(B)/helpers/wheel-verify $(B)/helpers/i386-syscall $(B)/helpers/inotify-flock \
           $(B)/helpers/enosys-faccessat2 $(B)/helpers/enosys-statmount \
           $(B)/helpers/no-rename-exchange

.SECONDARY: $(GEN_HDR)
.PHONY: all deps check unit toml-decoder integration demo bench bench-scale stress lint clean install uninstall man \
        dist deb rpm package fuzz fuzz-replay FORCE
all: $(BIN) $(FRONT) $(FULL) $(CMD_FRONT)

deps:
	@packaging/build-deps.sh

build/gen/dyn_%_defs.h: lib/dyn_%.h
	@mkdir -p $(@D)
	@lib=$*; { echo "/* generated from lib/dyn_$$lib.h — do not edit */"; echo "#ifndef PL_DYN_NO_DEFS"; \
	  sed -n 's/^ *X(\([A-Za-z0-9_]*\)).*/#define \1 (pl_'$$lib'_fn.\1)/p' $<; echo "#endif"; } > $@

# The version, from CHANGELOG.md's first release heading.  Rewritten only when it changes,
# so that editing CHANGELOG.md rebuilds nothing; when it changes, only the files that
# include pylock_version.h are rebuilt.
build/gen/pylock_version.h: FORCE
	@mkdir -p $(@D)
	@printf '/* generated from CHANGELOG.md — do not edit */\n#define PYLOCK_VERSION "%s"\n' \
	  '$(VERSION)' > $@.tmp
	@if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv $@.tmp $@; echo "  GEN     $@ ($(VERSION))"; fi

# The seccomp policy, compiled to BPF by libseccomp at build time (see lib/seccomp_policy.h).
# A build tool: never sanitized, whatever the variant.
build/seccomp-gen: lib/seccomp_gen.c lib/seccomp_policy.c lib/seccomp_policy.h
	@mkdir -p $(@D)
	@echo "  GEN     seccomp policy"
	@$(CC) $(BASE_CFLAGS) $(WARN) $(WERRORS) $(CPPFLAGS) -O2 -o $@ lib/seccomp_gen.c \
	  lib/seccomp_policy.c $(LIBS)

build/gen/seccomp_bpf.h: build/seccomp-gen
	@mkdir -p $(@D)
	@$< > $@.tmp && mv $@.tmp $@

# The variant's compiler and flags: when they change (another CC, CFLAGS, SANITIZE), every
# object of the variant is rebuilt instead of mixing compilers.  WERROR is left out: it
# changes no object.
FLAGS_STAMP := $(B)/flags
$(FLAGS_STAMP): FORCE
	@mkdir -p $(@D)
	@echo '$(CC) $(BASE_CFLAGS) $(WARN) $(FORTIFY) $(SAN) $(CPPFLAGS) $(CFLAGS) $(ALL_LDFLAGS) $(LIBS) $(FRONT_LIBC)' \
	  '$(FRONT_LDFLAGS) $(FRONT_LDEND)' \
	  > $@.tmp
	@if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv $@.tmp $@; fi

# Compile (and link) with the variant's flags; what the compiler printed is shown and kept
# in <output>.warn for tests/warnings.sh.
#   $(call compile,ARGS...)
compile = $(CC) $(ALL_CFLAGS) $(DEPFLAGS) $(1) 2>$(basename $@).warn; s=$$?; cat $(basename $@).warn >&2; \
     exit $$s

$(B)/%.o: %.c $(FLAGS_STAMP) | $(GEN_HDR)
	@mkdir -p $(@D)
	@echo "  CC      $<"
	@$(call compile,-c -o $@ $<)

$(B)/libpylock.a: $(LIB_OBJ)
	@rm -f $@
	@echo "  AR      $@"
	@ar rcs $@ $^

$(FULL): $(CLI_OBJ) $(B)/libpylock.a $(FLAGS_STAMP)
	@mkdir -p $(@D)
	@echo "  LD      $@"
	@$(CC) $(ALL_LDFLAGS) -o $@ $(CLI_OBJ) $(B)/libpylock.a $(LIBS)

# The source tree's pylock/pylock and pylock/pylock-shim: links into the stage.
ifneq ($(SANITIZE),1)
pylock/pylock: $(CMD_FRONT) $(FULL) $(FRONT)
	@ln -sfn ../$(CMD_FRONT) pylock/pylock
	@ln -sfn ../$(FRONT) pylock/pylock-shim
endif

$(MUSL_INC)/.stamp:
	@mkdir -p $(@D)
	@asm=/usr/include/$(MULTIARCH)/asm; [ -d "$$asm" ] || asm=/usr/include/asm; \
	 for d in /usr/include/linux "$$asm" /usr/include/asm-generic; do \
	   [ -d "$$d" ] || { echo "no kernel headers in $$d: install linux-libc-dev" >&2; exit 1; }; done; \
	 ln -sfn /usr/include/linux $(@D)/linux; ln -sfn "$$asm" $(@D)/asm; \
	 ln -sfn /usr/include/asm-generic $(@D)/asm-generic; touch $@

$(B)/pylock/front/musl/%.o: %.c $(FLAGS_STAMP) $(MUSL_INC)/.stamp | $(GEN_HDR)
	@mkdir -p $(@D)
	@echo "  CC      $< (musl)"
	@$(MUSL_GCC) $(FRONT_CFLAGS) $(DEPFLAGS) -c -o $@ $< 2>$(basename $@).warn; s=$$?; \
	  cat $(basename $@).warn >&2; exit $$s

$(FRONT): $(SHIM_FRONT_OBJ) $(FLAGS_STAMP)
	@mkdir -p $(@D)
	@echo "  LD      $@ ($(FRONT_LIBC))"
	@$(FRONT_LD) $(FRONT_LDFLAGS) -o $@ $(SHIM_FRONT_OBJ) $(FRONT_LDEND)

$(CMD_FRONT_LIB): $(CMD_FRONT_LIB_OBJ)
	@rm -f $@
	@echo "  AR      $@"
	@ar rcs $@ $^

# The front end is no program without the others (it execs the full program for all but a
# joined run): `make build/asan/stage/bin/pylock` makes them too.
$(CMD_FRONT): | $(FULL) $(FRONT)
$(CMD_FRONT): $(CMD_FRONT_OBJ) $(CMD_FRONT_LIB) $(FLAGS_STAMP)
	@mkdir -p $(@D)
	@echo "  LD      $@ ($(FRONT_LIBC))"
	@$(FRONT_LD) $(FRONT_LDFLAGS) -o $@ $(CMD_FRONT_OBJ) $(CMD_FRONT_LIB) $(FRONT_LDEND)

$(B)/tests/%: tests/%.c $(B)/libpylock.a $(FLAGS_STAMP) | $(GEN_HDR)
	@mkdir -p $(@D)
	@echo "  CC      $<"
	@$(call compile,-Wno-missing-prototypes -o $@ $< $(B)/libpylock.a $(ALL_LDFLAGS) $(LIBS) \
	  $(shell $(PKG_CONFIG) --libs cmocka))

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
$(B)/helpers/%: integration/helpers/%.c $(FLAGS_STAMP) | $(GEN_HDR)
	@mkdir -p $(@D)
	@echo "  CC      $<"
	@$(call compile,-o $@ $< $(ALL_LDFLAGS) $(LIBS))

# Helpers that call into the library (bench: wheel verification throughput).
$(B)/helpers/wheel-verify: integration/helpers/wheel-verify.c $(B)/libpylock.a $(FLAGS_STAMP) \
                          | $(GEN_HDR)
	@mkdir -p $(@D)
	@echo "  CC      $<"
	@$(call compile,-o $@ $< $(B)/libpylock.a $(ALL_LDFLAGS) $(LIBS))

# toml-test decoder interface: toml-test -- build/toml-decoder
toml-decoder: $(B)/toml-decoder
$(B)/toml-decoder: tests/toml/decoder.c $(B)/libpylock.a $(FLAGS_STAMP) | $(GEN_HDR)
	@mkdir -p $(@D)
	@$(call compile,-o $@ $< $(B)/libpylock.a $(ALL_LDFLAGS) $(LIBS) -lm)

# With SANITIZE=1, the test scripts send the sanitizers' reports to files and fail on any.
SAN_ENV := $(if $(SAN),PYLOCK_TEST_SANITIZE=1)
unit: $(TEST_BIN)
	@$(SAN_ENV) tests/run-unit.sh $(TEST_BIN)

# The integration suite runs the variant's binary and helpers; with SANITIZE=1,
# integration/run sets the sanitizers' options (see there).
IT_ENV := PYLOCK_TEST_BINARY=$(abspath $(BIN)) PYLOCK_TEST_HELPERS=$(abspath $(B)/helpers) \
          $(SAN_ENV)
integration: all $(HELPERS) man
	@$(IT_ENV) integration/run

# The summary line counts every suite (warnings, lint, unit, integration, packaging); a
# failure in any fails the target.  The packaging suite installs the .deb into the system
# only as root; it is skipped with SANITIZE=1 (packages are built with the default flags).
# Lint and packaging (mostly two builds of the package) run beside the unit tests, which
# leave a CPU idle much of the time; their output is printed after the unit tests'.  The
# integration suite, which uses both CPUs, starts once all three have ended: the .deb is
# installed and purged by then.  Each phase's time is printed (build/check-times).
check: deps
	@$(MAKE) --no-print-directory -j"$$(nproc)" all man $(TEST_BIN) $(HELPERS)
	@rm -f build/results.* build/check-times; \
	 tests/warnings.sh $(B) || true; \
	 if [ "$$(id -u)" -eq 0 ]; then integration/setup-root.sh; fi; \
	 t=$$(date +%s); \
	 { if tests/lint.sh; then r="1 0"; else r="0 1"; fi; echo "$$r" > build/results.lint; \
	   echo "lint: $$(($$(date +%s) - t)) s" >> build/check-times; \
	   d=$$(date +%s); \
	   if integration/demo.sh > build/demo.log 2>&1; then r="1 0"; echo "demo: passed"; \
	   else r="0 1"; tail -n 20 build/demo.log; echo "demo: failed (build/demo.log)"; fi; \
	   echo "$$r" > build/results.demo; \
	   echo "demo: $$(($$(date +%s) - d)) s" >> build/check-times; } > build/lint.log 2>&1 & \
	 { $(if $(SAN),echo "packaging: skipped with SANITIZE=1";,tests/packaging.sh;) \
	   echo "packaging: $$(($$(date +%s) - t)) s" >> build/check-times; } > build/packaging.log 2>&1 & \
	 $(SAN_ENV) tests/run-unit.sh $(TEST_BIN) || true; \
	 echo "unit: $$(($$(date +%s) - t)) s" >> build/check-times; \
	 wait; cat build/lint.log build/packaging.log; \
	 t=$$(date +%s); $(IT_ENV) integration/run || true; \
	 echo "integration: $$(($$(date +%s) - t)) s" >> build/check-times; \
	 sed 's/^/check: /' build/check-times; \
	 tests/summarize.sh build/results.*

demo: deps all
	@integration/demo.sh

bench: deps all $(HELPERS)
	@integration/bench/run

# Registries at scale (issue 14): a 1,000,000-target hashed-bin registry against a single
# targets.json at 10,000 and 100,000 (several minutes; BENCH_SCALE_TARGETS=N for another size).
bench-scale: all
	@python3 integration/bench/bench_scale.py $(BIN) $(or $(BENCH_SCALE_TARGETS),1000000)

# `registry index` of registries made without per-project pages, at 10,000 to 1,000,000
# targets: time, peak RSS, bytes written (minutes; BENCH_INDEX_TARGETS="N..." for others).
.PHONY: bench-index
bench-index: all
	@python3 integration/bench/bench_index.py $(BIN) $(or $(BENCH_INDEX_TARGETS),10000 100000 1000000)

# `registry verify` and `verify --targets` of hashed-bin registries at 10,000 to 1,000,000
# targets: time and peak RSS (minutes; BENCH_VERIFY_TARGETS="N..." for others,
# BENCH_VERIFY_REF=PYLOCK for a reference binary measured alongside).
.PHONY: bench-verify
bench-verify: all
	@python3 integration/bench/bench_verify.py $(BIN) $(BENCH_VERIFY_REF) $(or $(BENCH_VERIFY_TARGETS),10000 100000 1000000)

# A cold install of ~90 real distributions against pip (minutes; issue 14).
.PHONY: bench-install
bench-install: deps all
	@integration/bench/run-install

# Crash loops and races too long for make check, run as the integration suite is; with
# them, the files whose kill loops make check runs on the first base only or in part (every
# third step, a third of the random rounds: kill_steps, kill_rounds), and those with a test
# make check runs at a smaller scale (naming PYLOCK_TEST_ALL_BASES), whole and on every base.
stress: deps all $(HELPERS)
	@$(IT_ENV) PYLOCK_TEST_ALL_BASES=1 integration/run integration/stress/*.bats \
	  $$(grep -lE '^  kill_loop_on_one_base$$|\$$\(kill_(steps|rounds) |PYLOCK_TEST_ALL_BASES' \
	  integration/tests/*.bats)

lint:
	@tests/lint.sh

clean:
	rm -rf build pylock/pylock pylock/pylock-shim

-include $(wildcard $(B)/lib/*.d $(B)/pylock/*.d $(B)/pylock/front/*.d $(B)/pylock/front/musl/*/*.d \
                    $(B)/pylock/front/musl/*/*/*.d $(B)/tests/*.d $(B)/helpers/*.d \
                    $(B)/toml-decoder.d)

# ---- man pages, install, uninstall ------------------------------------------
# Install takes the man pages built above and whatever completions
# (completions/pylock.bash, _pylock, pylock.fish) the tree has.
MAN_PAGES := $(MAN_OUT)

# The programs are installed 0755 and never setuid or setgid: each refuses to run so.  The
# front ends go to BINDIR, the full program to PKGLIBDIR (BINDIR/../lib/pylock): they find
# each other there (never on PATH), and `pylock shim install` links to pylock-shim only there.
# The AppArmor profile goes to PKGDATADIR/apparmor/pylock (attached to PKGLIBDIR/pylock, the
# program that makes the namespaces) and
# PKGLIBDIR/apparmor-profile puts it in /etc/apparmor.d where it is needed: run by the
# packages' scripts, and by install and uninstall themselves when run as root without DESTDIR.
# config.toml is not replaced when present (an admin's edits are kept).
install: all man
	@# The front ends find the full program at BINDIR/../lib/pylock/pylock, never elsewhere.
	@if [ "$(abspath $(BINDIR)/../lib/pylock)" != "$(abspath $(PKGLIBDIR))" ]; then \
	  echo "make install: PKGLIBDIR must be BINDIR/../lib/pylock ($(abspath $(BINDIR)/../lib/pylock)):" \
	    "pylock finds its full program there" >&2; exit 1; fi
	install -d -m 0755 $(DESTDIR)$(BINDIR) $(DESTDIR)$(PKGLIBDIR)
	install -m 0755 $(CMD_FRONT) $(DESTDIR)$(BINDIR)/pylock
	install -m 0755 $(FRONT) $(DESTDIR)$(BINDIR)/pylock-shim
	install -m 0755 $(FULL) $(DESTDIR)$(PKGLIBDIR)/pylock
	@set -e; for s in 1 5; do \
	  pages=$$(ls build/man/*.$$s 2>/dev/null || true); [ -n "$$pages" ] || continue; \
	  echo "install -m 0644" $$pages "$(DESTDIR)$(MANDIR)/man$$s/"; \
	  install -d -m 0755 "$(DESTDIR)$(MANDIR)/man$$s"; install -m 0644 $$pages "$(DESTDIR)$(MANDIR)/man$$s/"; \
	done
	@set -e; for c in "pylock.bash $(BASHCOMPDIR)/pylock" "_pylock $(ZSHCOMPDIR)/_pylock" \
	                  "pylock.fish $(FISHCOMPDIR)/pylock.fish"; do \
	  set -- $$c; [ -f "completions/$$1" ] || continue; \
	  echo "install -m 0644 completions/$$1 $(DESTDIR)$$2"; \
	  install -d -m 0755 "$(DESTDIR)$$(dirname "$$2")"; install -m 0644 "completions/$$1" "$(DESTDIR)$$2"; \
	done
	install -d -m 0755 $(DESTDIR)$(SYSCONFDIR)/pylock/trust.d
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/pylock/config.toml ]; then \
	  echo "kept $(DESTDIR)$(SYSCONFDIR)/pylock/config.toml"; else \
	  echo "install -m 0644 packaging/config.toml $(DESTDIR)$(SYSCONFDIR)/pylock/config.toml"; \
	  install -m 0644 packaging/config.toml $(DESTDIR)$(SYSCONFDIR)/pylock/config.toml; fi
	install -d -m 0755 $(DESTDIR)$(PKGDATADIR)/apparmor $(DESTDIR)$(PKGLIBDIR)
	sed 's|^profile pylock /usr/lib/pylock/pylock |profile pylock $(PKGLIBDIR)/pylock |' packaging/apparmor/pylock \
	  > $(DESTDIR)$(PKGDATADIR)/apparmor/pylock && chmod 0644 $(DESTDIR)$(PKGDATADIR)/apparmor/pylock
	sed 's|@PROFILE@|$(PKGDATADIR)/apparmor/pylock|' packaging/apparmor/apparmor-profile.sh \
	  > $(DESTDIR)$(PKGLIBDIR)/apparmor-profile && chmod 0755 $(DESTDIR)$(PKGLIBDIR)/apparmor-profile
	@# Into this system (no DESTDIR, as root): /etc/apparmor.d/pylock, loaded, where needed.
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" -eq 0 ]; then $(PKGLIBDIR)/apparmor-profile install; fi

# Removes what install puts there: config.toml only while it is the shipped example, trust.d
# only while empty (an admin's trust roots stay).  Shared directories are left alone.
uninstall:
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" -eq 0 ] && [ -x $(PKGLIBDIR)/apparmor-profile ]; then \
	  $(PKGLIBDIR)/apparmor-profile remove; fi
	rm -f $(DESTDIR)$(BINDIR)/pylock $(DESTDIR)$(BINDIR)/pylock-shim $(DESTDIR)$(PKGLIBDIR)/pylock
	rm -f $(DESTDIR)$(PKGDATADIR)/apparmor/pylock $(DESTDIR)$(PKGLIBDIR)/apparmor-profile
	@for d in $(DESTDIR)$(PKGDATADIR)/apparmor $(DESTDIR)$(PKGDATADIR) $(DESTDIR)$(PKGLIBDIR); do \
	  [ -d $$d ] && rmdir $$d 2>/dev/null && echo "rmdir $$d" || true; done
	rm -f $(patsubst build/man/%,$(DESTDIR)$(MANDIR)/man1/%,$(filter %.1,$(MAN_PAGES))) \
	      $(patsubst build/man/%,$(DESTDIR)$(MANDIR)/man5/%,$(filter %.5,$(MAN_PAGES)))
	rm -f $(DESTDIR)$(BASHCOMPDIR)/pylock $(DESTDIR)$(ZSHCOMPDIR)/_pylock $(DESTDIR)$(FISHCOMPDIR)/pylock.fish
	@c=$(DESTDIR)$(SYSCONFDIR)/pylock/config.toml; if [ -e $$c ]; then \
	  if cmp -s $$c packaging/config.toml; then echo "rm -f $$c"; rm -f $$c; \
	  else echo "kept $$c (edited)"; fi; fi
	@for d in $(DESTDIR)$(SYSCONFDIR)/pylock/trust.d $(DESTDIR)$(SYSCONFDIR)/pylock; do \
	  [ -d $$d ] || continue; rmdir $$d 2>/dev/null && echo "rmdir $$d" || echo "kept $$d (not empty)"; done

# ---- packages: make package -> build/packages/*.deb *.rpm --------------------
# Both are built from the same source tarball (make dist: git archive of the working
# tree's tracked files, uncommitted changes included).  The version is CHANGELOG.md's.
DIST := build/pylock-$(VERSION).tar.gz
dist:
	@mkdir -p build
	@tree=$$(git stash create 2>/dev/null); \
	 git archive --format=tar.gz --prefix=pylock-$(VERSION)/ -o $(DIST) $${tree:-HEAD}
	@echo "  DIST    $(DIST)"

# dpkg-buildpackage wants debian/ at the top of the tree it builds: the tarball is unpacked
# into build/deb/, packaging/debian becomes its debian/, and debian/changelog is generated
# from CHANGELOG.md.  The repository itself never holds a debian/.
deb: dist
	@rm -rf build/deb && mkdir -p build/deb build/packages
	@tar -xzf $(DIST) -C build/deb
	@cd build/deb/pylock-$(VERSION) && cp -r packaging/debian debian && \
	  packaging/deb-changelog.sh CHANGELOG.md > debian/changelog && \
	  dpkg-buildpackage -b -us -uc -Jauto > ../build.log 2>&1 || { tail -n 40 ../build.log; exit 1; }
	@cp build/deb/pylock_$(VERSION)-*.deb build/packages/
	@echo "  DEB     $$(ls build/packages/*.deb)"

# RPM build dependencies do not resolve on a Debian machine: --nodeps.  debug_package is
# turned off because Debian's rpm lacks find-debuginfo; an RPM distribution keeps it.
rpm: dist
	@rm -rf build/rpm && mkdir -p build/rpm build/packages
	@rpmbuild -bb --nodeps --define "_topdir $(CURDIR)/build/rpm" --define "_sourcedir $(CURDIR)/build" \
	  --define "pylock_version $(VERSION)" $(if $(wildcard /etc/debian_version),--define "debug_package %{nil}") \
	  packaging/rpm/pylock.spec > build/rpm/build.log 2>&1 || { tail -n 40 build/rpm/build.log; exit 1; }
	@cp build/rpm/RPMS/*/pylock-$(VERSION)-*.rpm build/packages/
	@echo "  RPM     $$(ls build/packages/*.rpm)"

package: deb rpm

# A program that links the dlopen'ed libraries and refers to exactly the symbols pylock
# resolves (lib/dyn_*.h).  Never run: packaging hands it to dpkg-shlibdeps, which cannot
# see dlopen, to derive those libraries' packages and versions.
build/dlopen-probe: $(DYN_HDR)
	@mkdir -p $(@D)
	@{ sed -n 's/^ *X(\([A-Za-z0-9_]*\)).*/void \1(void);/p' $(DYN_HDR); echo 'void *const pl_probe[] = {'; \
	   sed -n 's/^ *X(\([A-Za-z0-9_]*\)).*/  (void *)\1,/p' $(DYN_HDR); echo '};'; \
	   echo 'int main(void) { return pl_probe[0] == 0; }'; } > $@.c
	@$(CC) -o $@ $@.c -Wl,--no-as-needed $(shell $(PKG_CONFIG) --libs $(subst openssl,libcrypto,$(DLOPEN_PKGS)))

# ---- fuzzing: make fuzz [FUZZ_TIME=CPU seconds per target] [FUZZ_TARGETS=...] ------------
# libFuzzer targets (tests/fuzz/fuzz_*.c) for every parser of untrusted input: wheel
# filenames and member names, METADATA/WHEEL, RECORD, TOML, the lock file, configuration
# files, TUF metadata (canonical JSON; the client workflow over a registry directory), pip's
# report, whole wheels.  Built with clang, ASan and UBSan in build/fuzz/: the library
# compiled with fuzzer coverage, and the libraries pylock dlopens linked directly
# (PL_DYN_NO_DEFS: calls go to their own names instead of the dlopen tables).
#
# tests/fuzz/run.sh runs the targets one after another, each for FUZZ_TIME CPU seconds (not
# wall seconds: on a shared machine an hour of wall time is less), with its seeds
# (tests/fuzz/seeds/<target>/) and dictionary (tests/fuzz/<name>.dict), keeping the corpus,
# logs and crashing inputs in FUZZ_OUT, and writes FUZZ_OUT/SUMMARY.md: executions,
# coverage (cov: edges, ft: features) and crashes per target.  A long campaign:
#   nice -n 19 make fuzz FUZZ_TIME=3600 FUZZ_OUT=/somewhere
# FUZZ_RESUME=1 counts the CPU time earlier runs into FUZZ_OUT spent (an interrupted
# campaign goes on where it stopped).  Not part of make check.
FUZZ_CC ?= clang
FUZZ_TIME ?= 20
FUZZ_OUT ?= build/fuzz/campaign
FUZZ_TARGETS ?= $(patsubst tests/fuzz/fuzz_%.c,%,$(sort $(wildcard tests/fuzz/fuzz_*.c)))
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_CFLAGS := -std=gnu11 -D_GNU_SOURCE -DPL_DYN_NO_DEFS= -g -O1 $(FUZZ_SAN) -Ibuild/gen -Ilib \
        $(shell $(PKG_CONFIG) --cflags $(STATIC_PKGS) $(DLOPEN_PKGS) 2>/dev/null) $(DEPFLAGS)
FUZZ_LIBS := -ljansson -lcrypto -larchive -lcurl -lmount -lseccomp -lcap -ldl -lm
FUZZ_OBJ := $(patsubst %.c,build/fuzz/%.o,$(LIB_SRC))
FUZZ_BIN := $(patsubst %,build/fuzz/fuzz_%,$(FUZZ_TARGETS))

build/fuzz/lib/%.o: lib/%.c | $(GEN_HDR)
	@mkdir -p $(@D)
	@echo "  CC      $< (fuzz)"
	@$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

build/fuzz/libpylock.a: $(FUZZ_OBJ)
	@rm -f $@
	@ar rcs $@ $^

build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c build/fuzz/libpylock.a | $(GEN_HDR)
	@echo "  CC      $<"
	@$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< build/fuzz/libpylock.a \
	  -Wl,--as-needed $(FUZZ_LIBS)

# Each target once over its seeds (crashing inputs of past campaigns among them): CI runs it.
fuzz-replay: $(FUZZ_BIN)
	@tests/fuzz/replay.sh $(FUZZ_BIN)

fuzz: $(FUZZ_BIN)
	@tests/fuzz/run.sh -t $(FUZZ_TIME) -o $(FUZZ_OUT) $(if $(filter 1,$(FUZZ_RESUME)),-r) $(FUZZ_BIN)

-include $(wildcard build/fuzz/lib/*.d build/fuzz/*.d)
