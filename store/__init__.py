"""Persistence only: tables (models), engine and sessions (db), migrations, and the SQL of each
kind of row (onboardings, rfi, checks, credentials, members, recipients, reminders, audit).
Imports nothing above it."""
