"""Django's own session-backend tests, vendored, run against `security.sessions` (test_django_suite.py).

`sessions_tests/` is Django 5.2.19's `tests/sessions_tests/` package (`__init__.py`, `models.py`, `tests.py`),
copied byte for byte from the sdist (`pip download --no-deps --no-binary :all: Django==5.2.19`) so that it can
be compared with, and replaced by, a later release's. It is Django's code under Django's BSD license, which is
alongside in LICENSE (the sdist's). sha256 of the copied files:
    tests.py   8bd410d82afe5ef8fd81af9bb210dc01f6a082cb3cbff2e7b6505b6dc96ef30c
    models.py  646d26595060a9eb7b1d099b6e0c60fce91ff4ee6cf03b12fb563dbc9c9ab6a3
    __init__.py (empty)
    LICENSE    b846415d1b514e9c1dff14a22deb906d794bc546ca6129f950a18cd091e2a669
Vendored rather than downloaded at test time, so `make test` needs no network. ruff leaves the copy alone
(pyproject.toml); pytest does not collect it (`tests.py` is not a test file name): test_django_suite.py picks
the classes that apply.
"""
