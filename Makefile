# careloop tasks. `make help` lists them.
.DEFAULT_GOAL := help
PY ?= python

help:  ## list the tasks
	@grep -E '^[a-z0-9-]+:.*##' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

install:  ## install careloop with the test tools
	$(PY) -m pip install -e '.[dev]'

demo:  ## play the whole loop on the sandbox
	careloop demo

test:  ## lint, check the import contracts and types, and run the whole test suite
	ruff check . && lint-imports && mypy && $(PY) -m pytest -q

test-pg:  ## the same, with storage and end-to-end tests also on the local PostgreSQL
	CARELOOP_TEST_DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/test $(MAKE) test

contracts:  ## check that imports run one way (the layers in pyproject.toml)
	lint-imports

typecheck:  ## mypy over every product package (through typecheck/, see pyproject.toml)
	mypy

i18n:  ## extract marked texts, update every catalog, fill English, list what needs translating
	pybabel extract -F babel.cfg -k N_ --add-comments=TRANSLATORS: --no-location \
		--sort-output --project careloop --copyright-holder careloop \
		-o locales/careloop.pot .
	pybabel update -i locales/careloop.pot -d locales -D careloop --no-fuzzy-matching \
		--ignore-obsolete
	$(PY) -m careloop.bot.catalog_check --fill-source

i18n-check:  ## list untranslated, fuzzy or broken messages in every catalog
	$(PY) -m careloop.bot.catalog_check

i18n-add:  ## start a catalog for a new language: make i18n-add LOCALE=de
	pybabel init -i locales/careloop.pot -d locales -D careloop -l $(LOCALE)

spec:  ## regenerate the sandbox's Bot API parameter table from the official spec
	$(PY) -m careloop.sandbox.derive_spec ../shared/botapi/api.json

.PHONY: help install demo test test-pg contracts typecheck i18n i18n-check i18n-add spec
