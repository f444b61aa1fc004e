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

.PHONY: install test test-slow coverage mutate demo bench lint submit check train eval clean

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

# the fast suite under coverage: a summary per file and htmlcov/index.html
coverage: install
	$(PY) -m pytest -q --cov=abaw --cov=tracks --cov-report=term-missing:skip-covered \
	  --cov-report=html

# mutation testing (mutmut) of the score-critical modules, one group after another (~2 hours on
# 2 cores); `make mutate group=metrics` runs one: metrics, core, writers, validator, post, index
mutate: install
	$(PY) eval/mutate.py $(if $(group),$(group),--all)

demo: install
	abaw demo

# every benchmark; any missed target fails the target (`make bench quick=1`: a smoke run)
bench: install
	@failed=""; for b in eval/bench_*.py; do echo "== $$b"; \
	  $(PY) $$b $(if $(quick),--quick) || failed="$$failed $$b"; done; \
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
	rm -rf .make build *.egg-info .pytest_cache .coverage htmlcov
