# authgate - a thin wrapper around meson.  See README.md.
#
#   make            build (./build)
#   make check      install missing dependencies (as root), build, run every test suite
#   make demo       run authgate for real in a sandbox (see README.md)
#   make install    install (DESTDIR honoured)
#   make deb        Debian packages into build-deb/ (dpkg-buildpackage + lintian)
#   make install-test   (root) build the packages, install them, run Postfix
#                   against the installed files, purge them (packaging/install-test.sh)
#   make deps       install build and test dependencies (as root)
#   make asan-check unit suite under ASan+UBSan (./build-asan)
#   make bench      the benchmarks (store lookups, plugin, authd, milter, query);
#                   each prints its figures beside its baseline
#   make reliability  tests/reliability/run: faults, load, bad input, security
#                   (FULL=1: the full counts and 10-minute fuzz campaigns)
#   make format     reformat the C sources; make format-check checks them

BUILD      ?= build
MESON_OPTS ?=
MESON_TEST_OPTS ?=
FUZZ_SECONDS ?= 60
DESTDIR    ?=

NINJA := ninja
ROOT  := $(shell id -u 2>/dev/null)

.PHONY: all deps check unit integration fuzz install deb install-test demo asan-check format format-check clean distclean fleet-check reliability bench

all: $(BUILD)/build.ninja
	$(NINJA) -C $(BUILD)

bench: all
	meson test -C $(BUILD) --benchmark --verbose $(MESON_TEST_OPTS)

$(BUILD)/build.ninja:
	meson setup $(BUILD) $(MESON_OPTS)

deps:
	@packaging/deps.sh

# make check installs what is missing when run as root, then runs every
# suite: unit, integration (real Postfix/Sendmail/Exim/libsasl2/LMDB) and
# fuzz (libFuzzer, FUZZ_SECONDS per target).
check:
	@if [ "$(ROOT)" = 0 ]; then packaging/deps.sh; else packaging/deps.sh --check || true; fi
	$(MAKE) all
	meson test -C $(BUILD) --print-errorlogs --suite unit --suite integration $(MESON_TEST_OPTS)
	$(MAKE) fuzz

unit: all
	meson test -C $(BUILD) --print-errorlogs --suite unit $(MESON_TEST_OPTS)

integration: all
	meson test -C $(BUILD) --print-errorlogs --suite integration $(MESON_TEST_OPTS)

# The fleet tests at full length (50 kill -9 rounds of 100,000 users) and
# bench-sync (100,000 users); `make integration` runs a reduced set.
fleet-check: all
	FLEET_KILL_ROUNDS=50 FLEET_KILL_USERS=100000 meson test -C $(BUILD) --print-errorlogs -t 6 \
	  --suite integration $$(meson test -C $(BUILD) --list 2>/dev/null | sed -n 's/.*\/ \(fleet-.*\)/\1/p')
	tests/fleet/bench.sh $(BUILD)/tests/fleet/bench-sync $(BUILD)/tools/authgatectl 100000 200

# libFuzzer needs clang: a separate build directory.
fuzz:
	@if [ ! -f build-fuzz/build.ninja ]; then \
	  CC=clang meson setup build-fuzz -Dfuzzing=true -Dfuzz_seconds=$(FUZZ_SECONDS) -Db_lundef=false; \
	else meson configure build-fuzz -Dfuzz_seconds=$(FUZZ_SECONDS); fi
	$(NINJA) -C build-fuzz
	meson test -C build-fuzz --print-errorlogs --suite fuzz --num-processes 2 $(MESON_TEST_OPTS)

asan-check:
	@if [ ! -f build-asan/build.ninja ]; then \
	  meson setup build-asan -Db_sanitize=address,undefined -Db_lundef=false $(MESON_OPTS); fi
	$(NINJA) -C build-asan
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	  meson test -C build-asan --print-errorlogs --suite unit $(MESON_TEST_OPTS)

# The reliability suite with its figures (tests/reliability/README.md).
reliability:
	@if [ "$(ROOT)" = 0 ]; then packaging/deps.sh; fi
	$(MAKE) all
	tests/reliability/run --build $(BUILD) $(if $(FULL),--full)

install: all
	DESTDIR=$(DESTDIR) meson install -C $(BUILD) --no-rebuild

# Debian packages from packaging/debian (see packaging/build-deb.sh).
deb:
	packaging/build-deb.sh build-deb

# Installs the packages on this machine and purges them again: root only,
# not part of make check (it changes the system's package set; one run at
# a time, serialized by a lock).
install-test:
	packaging/install-test.sh build-deb

demo:
	@if [ "$(ROOT)" = 0 ]; then packaging/deps.sh; fi
	$(MAKE) all
	tests/demo/demo.sh --build $(BUILD) $(if $(KEEP),--keep)

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

format-check:
	clang-format --dry-run --Werror $$(git ls-files '*.c' '*.h')

clean:
	-$(NINJA) -C $(BUILD) clean

distclean:
	rm -rf $(BUILD) build-fuzz build-asan build-deb
