# Every target is one readable CLI call. `make test` and `make demo` install what they need.
PY      ?= python3
track   ?= expr
root    ?=
edition ?=
recipe  ?=
template ?=
# optional arguments, passed only when given: make track=va submit root=DATA edition=8
# (without root=, the track runs on the synthetic twin with its demo recipe)
RUN_ARGS = --track $(track) $(if $(root),--root $(root)) $(if $(edition),--edition $(edition)) \
           $(if $(recipe),--recipe $(recipe)) $(if $(template),--template $(template))

.PHONY: install test test-slow demo bench lint submit check train eval clean

STAMP := .make/installed
$(STAMP): setup.cfg pyproject.toml
	$(PY) -m pip install -e '.[dev]'
	@mkdir -p .make && touch $(STAMP)

install: $(STAMP)

test: install
	$(PY) -m mypy
	$(PY) -m pytest -q

test-slow: install
	$(PY) -m pytest -m slow

demo: install
	abaw demo

bench: install
	@failed=""; for b in eval/bench_*.py; do echo "== $$b"; $(PY) $$b || failed="$$failed $$b"; done; \
	if [ -n "$$failed" ]; then echo "missed a target:$$failed"; exit 1; fi

lint: install
	$(PY) -m ruff check abaw tracks tests eval

submit: install
	abaw run $(RUN_ARGS)

check: install
	abaw run $(RUN_ARGS) --check

train: install
	abaw run $(RUN_ARGS) --until train

eval: install
	abaw run --track $(track) --last

clean:
	rm -rf .make build *.egg-info .pytest_cache
