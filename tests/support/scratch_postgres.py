"""A throw-away PostgreSQL database for the benchmarks, on this machine only."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import make_url

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


@contextmanager
def scratch_postgres(admin_url: str, label: str = "bench") -> Iterator[str]:
    """Create connectbot_<label>_<pid> on the server of `admin_url`; drop it afterwards."""
    import psycopg

    url = make_url(admin_url)
    if url.host not in LOOPBACK:
        raise SystemExit(f"refusing a database off this machine: {url.host}")
    name = f"connectbot_{label}_{os.getpid()}"
    libpq = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(libpq, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url.set(drivername="postgresql", database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(libpq, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
