# The two commands a newcomer needs: `make run` and `make test`.
SHELL := /bin/bash
UV ?= $(shell command -v uv 2>/dev/null || echo "$(HOME)/.local/bin/uv")
APT_PACKAGES := tesseract-ocr tesseract-ocr-eng
APT_TEST_PACKAGES := chromium
export LEGALAI_TEST_POSTGRES_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/postgres
export LEGALAI_TEST_REDIS_URL ?= redis://127.0.0.1:6379/15

.PHONY: run test lint format system-deps test-system-deps python-deps assets migrate examples bench clean

run: system-deps python-deps assets migrate  ## Start API + web UI + in-process worker on http://127.0.0.1:8000
	$(UV) run --frozen legalai serve

test: system-deps test-system-deps assets  ## Install dev dependencies, lint, and run the whole test suite
	$(UV) sync --frozen --group dev
	$(MAKE) lint
	$(UV) run --frozen pytest -n 2 --dist loadgroup -q

lint:
	$(UV) run --frozen ruff check src tests bench migrations
	$(UV) run --frozen ruff format --check src tests bench migrations
	$(UV) run --frozen mypy

format:
	$(UV) run --frozen ruff format src tests bench migrations
	$(UV) run --frozen ruff check --fix src tests bench migrations

system-deps:  ## Debian packages (tesseract for OCR); skipped when already present
	@scripts/apt-install tesseract $(APT_PACKAGES)
	@if ! command -v uv >/dev/null 2>&1 && [ ! -x "$(HOME)/.local/bin/uv" ]; then \
		python3 -m pip install --user --quiet uv==0.13.8 || python3 -m pip install --quiet uv==0.13.8; \
	fi

test-system-deps:  ## Chromium for the browser tests
	@scripts/apt-install chromium $(APT_TEST_PACKAGES)

python-deps:
	$(UV) sync --frozen --inexact --no-dev

assets:  ## Front-end assets from the npm lock file (htmx)
	@if [ ! -f src/legalai/web/static/vendor/htmx.min.js ] || [ package-lock.json -nt src/legalai/web/static/vendor/htmx.min.js ]; then \
		npm ci --no-audit --no-fund --silent && mkdir -p src/legalai/web/static/vendor && \
		cp node_modules/htmx.org/dist/htmx.min.js src/legalai/web/static/vendor/; \
	fi

migrate:
	$(UV) run --frozen legalai db upgrade

examples:  ## Load the example contracts into a matter called "Examples"
	$(UV) run --frozen legalai ingest examples/contracts --matter Examples

bench:
	$(UV) run --frozen python bench/ingest.py

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache
