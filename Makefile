# kfdeploy developer entry points. `make run` and `make test` are the README's two commands.
PY ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: setup tools tools-flux browser run test test-unit lint bench bench-quick clean

$(BIN)/kfdeploy: pyproject.toml
	$(PY) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	@touch $@

setup: $(BIN)/kfdeploy

tools:
	bash tools/build.sh

# Flux's source-controller and kustomize-controller, and the sops and age-keygen they decrypt with,
# for the opt-in `flux` cluster tests (docs/gitops.md).
tools-flux:
	bash tools/build-flux.sh

run: setup tools
	$(BIN)/kfdeploy apply -f kfdef.yaml --yes

# The headless browser of the kfdeploy ui tests (tests/cluster/test_ui_browser.py): Debian's.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
	  { $(SUDO) apt-get update && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y chromium chromium-driver; }

test: setup tools browser lint
	$(BIN)/python -m pytest

test-unit: setup lint
	$(BIN)/python -m pytest -m 'not cluster'

lint: setup
	$(BIN)/ruff check kfdeploy tests bench
	$(BIN)/mypy kfdeploy

# Side-by-side measurements (bench/README.md); both write bench/RESULTS.md and bench/scale.png.
bench: setup tools
	$(BIN)/python bench/run.py

bench-quick: setup tools
	$(BIN)/python bench/run.py --quick

clean:
	rm -rf $(VENV) build .pytest_cache
