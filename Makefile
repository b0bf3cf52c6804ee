# pylock — build, test, demo, benchmark, install.
#
#   make            build pylock/pylock
#   make check      lint, unit tests (cmocka), integration suite (as an unprivileged user),
#                   packaging (tests/packaging.bats)
#   make demo       build and show the main job on a small example
#   make bench      benchmarks, as ratios against reference tools measured in the same run
#   make lint       clang-format check, cppcheck, banned functions
#   make man        man pages from man/*.scd into build/man/ (scdoc)
#   make install    PREFIX=/usr/local DESTDIR= (see below); make uninstall
#   make package    build/packages/: a .deb (dpkg-buildpackage) and an .rpm (rpmbuild)

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
CPPFLAGS ?=
ALL_CFLAGS := -std=gnu11 -D_GNU_SOURCE -DPYLOCK_VERSION='"$(VERSION)"' $(WARN) \
        -fstack-protector-strong -D_FORTIFY_SOURCE=2 -fPIE -Ibuild/gen -Ilib \
        $(shell $(PKG_CONFIG) --cflags $(STATIC_PKGS) $(DLOPEN_PKGS) 2>/dev/null) $(CPPFLAGS) $(CFLAGS)
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
.PHONY: all deps check unit toml-decoder integration demo bench lint clean install uninstall man \
        dist deb rpm package
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
HELPERS := build/helpers/deny-userns build/helpers/exec-floor build/helpers/ptrace-attack \
           build/helpers/wheel-verify
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

# The summary line counts every suite (lint, unit, integration, packaging); a failure in any
# fails the target.  The packaging suite installs the .deb into the system only as root.
check: deps
	@$(MAKE) --no-print-directory all man $(TEST_BIN) $(HELPERS)
	@rm -f build/results.*; \
	 if tests/lint.sh; then r="1 0"; else r="0 1"; fi; echo "$$r" > build/results.lint; \
	 if [ "$$(id -u)" -eq 0 ]; then integration/setup-root.sh; fi; \
	 tests/run-unit.sh $(TEST_BIN) || true; \
	 integration/run || true; \
	 tests/packaging.sh || true; \
	 tests/summarize.sh build/results.*

demo: deps all
	@integration/demo.sh

bench: deps all $(HELPERS)
	@integration/bench/run

lint:
	@tests/lint.sh

clean:
	rm -rf build pylock/pylock

# ---- man pages, install, uninstall ------------------------------------------
# Install takes the man pages built above and whatever completions
# (completions/pylock.bash, _pylock, pylock.fish) the tree has.
MAN_PAGES := $(MAN_OUT)

# The binary is installed 0755 and never setuid or setgid: pylock refuses to run so.
# config.toml is not replaced when present (an admin's edits are kept).
install: all man
	install -d -m 0755 $(DESTDIR)$(BINDIR)
	install -m 0755 pylock/pylock $(DESTDIR)$(BINDIR)/pylock
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

# Removes what install puts there: config.toml only while it is the shipped example, trust.d
# only while empty (an admin's trust roots stay).  Shared directories are left alone.
uninstall:
	rm -f $(DESTDIR)$(BINDIR)/pylock
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
	  dpkg-buildpackage -b -us -uc > ../build.log 2>&1 || { tail -n 40 ../build.log; exit 1; }
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

# ---- fuzzing: make fuzz [FUZZ_TIME=seconds per target] ----------------------
# libFuzzer targets for the parsers of untrusted input (wheel content, TOML),
# built with clang, ASan and UBSan, each run for a short bounded time.  The
# parsers do not need the dlopen'ed libraries, so the targets link only their
# sources.  A target's dictionary, if any, is tests/fuzz/<name>.dict.
FUZZ_CC ?= clang
FUZZ_TIME ?= 20
FUZZ_LIB := lib/archive_path.c lib/distname.c lib/error.c lib/escape.c lib/metadata.c \
            lib/pep508.c lib/record.c lib/tags.c lib/toml.c lib/version.c
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
