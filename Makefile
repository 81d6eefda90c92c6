# Jiangxin — every target sets up what it needs on a fresh machine.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
FLASK  := $(BIN)/flask --app wsgi
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 5000

.PHONY: run test typecheck bench translations extract-messages update-translations lint clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

translations: $(STAMP)
	$(BIN)/pybabel -q compile -d app/translations

# Upgrade the database, load the demo data if it is not there (prints the demo logins), serve.
run: $(STAMP) translations
	JIANGXIN_CONFIG=development $(FLASK) db upgrade
	JIANGXIN_CONFIG=development $(FLASK) demo
	@echo "Jiangxin: http://$(HOST):$(PORT)/"
	JIANGXIN_CONFIG=development $(FLASK) run --host $(HOST) --port $(PORT)

# The type checker first (mypy, configured in pyproject.toml: the whole code base leniently, the domain
# modules strictly), then the whole suite in PYTEST_WORKERS pytest-xdist processes (each with a database of
# its own; the browser tests together on one of them); PYTEST_ARGS passes options (e.g. PYTEST_ARGS="-x
# tests/app"; a later -n overrides, PYTEST_WORKERS=0 runs in this process).
PYTEST_WORKERS ?= 2
test: $(STAMP) translations typecheck
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

typecheck: $(STAMP)
	$(BIN)/mypy

bench: $(STAMP) translations
	$(BIN)/python -m bench

extract-messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -o app/translations/messages.pot .

update-translations: extract-messages
	$(BIN)/pybabel -q update -N -i app/translations/messages.pot -d app/translations

lint: $(STAMP)
	$(BIN)/ruff check app competitions certificates tests bench gunicorn.conf.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache
