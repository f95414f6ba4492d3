"""Root conftest: its presence puts the repository root first on sys.path, so
that tests and doctests import the working tree's ``geoagri`` consistently."""
