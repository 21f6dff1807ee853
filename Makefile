# tickerlake: build, test, lint, bench, install.
#   make test    the whole suite (builds the binaries and .venv/ first)
#   make lint    rustfmt check + clippy with warnings denied
#   make bench   benchmarks against the named peers (release build, writes bench/results/)
#   make install release binaries of bins/* into $(PREFIX)/bin

CARGO    ?= cargo
PYTHON   ?= python3
PREFIX   ?= /usr/local
VENV     := .venv
VPY      := $(VENV)/bin/python
SHARED   ?= ../shared
# Programs that get installed: one crate per folder in bins/.
PROGRAMS := $(notdir $(wildcard bins/*))

.PHONY: all build release test lint fmt bench venv venv-bench venv-qlib schemas install clean

all: build

build:
	$(CARGO) build --workspace --bins

release:
	$(CARGO) build --release --workspace --bins

$(VPY).stamp: requirements-dev.txt
	test -x $(VPY) || $(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

venv: $(VPY).stamp

$(VPY).bench-stamp: requirements-bench.txt $(VPY).stamp
	$(VPY) -m pip install --quiet --disable-pip-version-check -r requirements-bench.txt
	touch $@

venv-bench: $(VPY).bench-stamp

# pyqlib, which reads qlib-bin's stores back in the tests (and runs dump_bin.py, the benchmark
# peer): it wants pandas < 3 (dump_update dies under pandas 3), so it gets its own venv (~1.4 GB,
# 1.5-3 min once). dump_bin.py is not in the wheel: for the benchmark, put microsoft/qlib's
# scripts/ at target/qlib-src/scripts (git archive HEAD scripts).
QLIB_VENV := target/venv-qlib
$(QLIB_VENV)/stamp:
	test -x $(QLIB_VENV)/bin/python || $(PYTHON) -m venv $(QLIB_VENV)
	$(QLIB_VENV)/bin/python -m pip install --quiet --disable-pip-version-check pyqlib==0.9.7 'pandas==2.3.3' fire loguru tqdm
	touch $@

venv-qlib: $(QLIB_VENV)/stamp

# The integration tests run the real binaries, so build them first.
test: venv venv-qlib build
	@if $(CARGO) nextest --version >/dev/null 2>&1; then \
		$(CARGO) nextest run --workspace --no-fail-fast; \
	else \
		$(CARGO) test --workspace --no-fail-fast; \
	fi

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all

# Regenerate docs/schemas/*.schema.json from the record types (a test checks they are current).
schemas: build
	target/debug/records schema --dir docs/schemas

# make bench BENCH_SIZES=S,L BENCH_REPEAT=5 BENCH_JOBS=to-parquet-lake
BENCH_SIZES  ?= S
BENCH_REPEAT ?= 5
BENCH_JOBS   ?= ndjson-check,to-parquet-file,to-parquet-lake,qa-ndjson,qa-lake,ohlcv-fetch,qlib-bin,tickers-scrape,tickers-filter
bench: venv-bench release
	$(VPY) bench/bench.py --shared $(SHARED) --sizes $(BENCH_SIZES) --repeat $(BENCH_REPEAT) --jobs $(BENCH_JOBS)

install: release
	@if [ -z "$(PROGRAMS)" ]; then \
		echo "no programs in bins/ yet: nothing to install"; \
	else \
		install -d $(DESTDIR)$(PREFIX)/bin && \
		for p in $(PROGRAMS); do install -m 0755 target/release/$$p $(DESTDIR)$(PREFIX)/bin/$$p || exit 1; done; \
	fi

clean:
	$(CARGO) clean
	rm -rf $(VENV)
