# tickerlake: build, test, lint, demo, the pipeline's runs, bench, install.
#   make demo      the whole pipeline offline on the bundled recordings, into demo-data/
#   make test      the whole suite (builds the binaries and .venv/ first)
#   make lint      rustfmt check + clippy with warnings denied, shellcheck
#   make universe | nightly | training | status | backup   pipeline.sh's commands (DATA=, CONFIG=)
#   make dashboard the page and JSON of DATA (default: the pipeline's data dir) into DATA/site
#   make cron      the crontab lines for the notes' schedule
#   make bench     benchmarks against the named peers (release build, writes bench/results/)
#   make install   release binaries, man pages and shell completions into $(PREFIX)

CARGO    ?= cargo
PYTHON   ?= python3
PREFIX   ?= /usr/local
VENV     := .venv
VPY      := $(VENV)/bin/python
SHARED   ?= ../shared
# Programs that get installed: one crate per folder in bins/.
PROGRAMS := $(notdir $(wildcard bins/*))

.PHONY: all build release test lint fmt bench venv venv-bench venv-qlib venv-spark schemas install clean \
	demo universe nightly training status backup cron dashboard

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

# pyspark (Spark in local mode, on Debian's Java 17), which reads the lake back in the tests: its
# own venv, it is large (~450 MB, about a minute once).
SPARK_VENV := target/venv-spark
$(SPARK_VENV)/stamp:
	test -x $(SPARK_VENV)/bin/python || $(PYTHON) -m venv $(SPARK_VENV)
	$(SPARK_VENV)/bin/python -m pip install --quiet --disable-pip-version-check pyspark==4.0.1
	touch $@

venv-spark: $(SPARK_VENV)/stamp

# The integration tests run the real binaries, so build them first.
test: venv venv-qlib venv-spark build
	@if $(CARGO) nextest --version >/dev/null 2>&1; then \
		$(CARGO) nextest run --workspace --no-fail-fast; \
	else \
		$(CARGO) test --workspace --no-fail-fast; \
	fi

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	shellcheck pipeline.sh demo/run.sh fixtures/status/make-nights.sh

fmt:
	$(CARGO) fmt --all

# Regenerate docs/schemas/*.schema.json from the record types (a test checks they are current).
schemas: build
	target/debug/records schema --dir docs/schemas
	target/debug/run-record schema --dir docs/schemas
	target/debug/lake-status --schemas docs/schemas

# The offline demo: the replay server answers for every listing source and Yahoo (genuine
# recordings; synthetic bars, labelled, for symbols without one), pipeline.sh all runs against it
# into demo-data/, and a short report ends it. A second make demo is an incremental night.
demo: build
	TICKERLAKE_BIN=$(CURDIR)/target/debug bash demo/run.sh

# pipeline.sh's commands: make nightly DATA=/srv/lake CONFIG=/etc/tickerlake.yaml
DATA   ?=
CONFIG ?=
PIPELINE_ARGS := $(strip $(if $(DATA),--data $(DATA)) $(if $(CONFIG),--config $(CONFIG)))
universe nightly training status backup:
	./pipeline.sh $@ $(PIPELINE_ARGS)

# The dashboard by hand (pipeline.sh rebuilds it after every run): DATA/site/index.html and the
# JSON files beside it. Exit 0-2 is the data's health, not a failure of the page.
dashboard: build
	@data='$(DATA)'; data=$${data:-$$(target/debug/run-record settings $(if $(CONFIG),--config $(CONFIG)) | sed -n 's/^data_dir=//p')}; \
	target/debug/lake-status $(if $(CONFIG),--config $(CONFIG)) --data "$$data" --html "$$data/site" --json "$$data/site" || [ $$? -le 2 ]; \
	echo "$$data/site/index.html"

# The crontab lines for the notes' schedule (UTC): universe 00:05 on the 1st, nightly 01:00,
# training Sunday 03:00, backup daily 01:00 (it waits for the night's run to finish). Paste them
# into `crontab -e` on a machine whose clock is UTC (or add CRON_TZ=UTC where cron supports it).
cron:
	@echo '# tickerlake ($(CURDIR)): all times UTC; each run records itself in DATA/runs/'
	@echo 'SHELL=/bin/bash'
	@echo 'TICKERLAKE_TRIGGER=cron'
	@args='$(PIPELINE_ARGS)'; \
	for line in '5 0 1 * *|universe' '0 1 * * *|nightly' '0 3 * * 0|training' '0 1 * * *|backup'; do \
		echo "$${line%|*} cd $(CURDIR) && ./pipeline.sh $${line#*|}$${args:+ $$args} >> cron.log 2>&1"; \
	done

# make bench BENCH_SIZES=S,L BENCH_REPEAT=5 BENCH_JOBS=to-parquet-lake
BENCH_SIZES  ?= S
BENCH_REPEAT ?= 5
BENCH_JOBS   ?= ndjson-check,to-parquet-file,to-parquet-lake,qa-ndjson,qa-lake,ohlcv-fetch,qlib-bin,tickers-scrape,tickers-filter,lake-status,polygon-flatfiles
bench: venv-bench release
	$(VPY) bench/bench.py --shared $(SHARED) --sizes $(BENCH_SIZES) --repeat $(BENCH_REPEAT) --jobs $(BENCH_JOBS)

# Binaries into bin/, man pages into share/man/man1/, completions where bash-completion, zsh and
# fish look for them (all generated from the programs' own clap definitions by tools/docgen).
MAN_DIR := target/man
COMPLETIONS_DIR := target/completions
install: release
	rm -rf $(MAN_DIR) $(COMPLETIONS_DIR)
	target/release/docgen man $(MAN_DIR)
	target/release/docgen completions $(COMPLETIONS_DIR)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions \
		$(DESTDIR)$(PREFIX)/share/zsh/site-functions \
		$(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d
	for p in $(PROGRAMS); do install -m 0755 target/release/$$p $(DESTDIR)$(PREFIX)/bin/$$p || exit 1; done
	install -m 0644 $(MAN_DIR)/*.1 $(DESTDIR)$(PREFIX)/share/man/man1/
	install -m 0644 $(COMPLETIONS_DIR)/bash/* $(DESTDIR)$(PREFIX)/share/bash-completion/completions/
	install -m 0644 $(COMPLETIONS_DIR)/zsh/* $(DESTDIR)$(PREFIX)/share/zsh/site-functions/
	install -m 0644 $(COMPLETIONS_DIR)/fish/* $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/

clean:
	$(CARGO) clean
	rm -rf $(VENV) demo-data
