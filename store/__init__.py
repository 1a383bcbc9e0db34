"""Persistence only: tables, engine and sessions, migrations, queries. Imports nothing above it."""
