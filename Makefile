# The two commands of the README: `make demo` (main job) and `make test`. Both set up first.
.PHONY: setup demo test bench clean

setup:
	bash scripts/setup.sh

demo: setup
	.venv/bin/python examples/demo.py --out report

test: setup
	.venv/bin/python -m pytest -q

bench: setup
	.venv/bin/python benchmarks/overhead.py --quick

clean:
	rm -rf .venv report .pytest_cache
