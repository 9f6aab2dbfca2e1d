# Two commands do all set-up: `make demo` and `make test`.
# Override for other machines, e.g.  make test TORCH_SPEC="torch --index-url <your CPU wheel index>"
PYTHON     ?= python3
VENV       ?= .venv
TORCH_SPEC ?= torch==2.13.0
DEMO_OUT   ?= runs/demo
BIN        := $(VENV)/bin

.PHONY: demo test install clean bench

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# torch goes in first, from TORCH_SPEC, so the project's `torch>=2.2` is already satisfied.
$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install -q "$(TORCH_SPEC)"
	$(BIN)/python -m pip install -q -e ".[test]"
	touch $@

install: $(VENV)/.installed

demo: install
	$(BIN)/emolens synth data/synthetic
	$(BIN)/emolens run experiments/demo.toml --out $(DEMO_OUT)
	@echo "Demo finished: open $(DEMO_OUT)/report.html (summary in $(DEMO_OUT)/summary.md)"

test: install
	$(BIN)/python -m pytest -n 2 -q

bench: install
	$(BIN)/python benchmarks/extract.py
	$(BIN)/python benchmarks/accuracy.py
	$(BIN)/python benchmarks/predict.py
	$(BIN)/python benchmarks/serve.py

clean:
	rm -rf $(VENV) runs data/synthetic .pytest_cache
