"""`connect-bot report` run as a person runs it on the server: a child process reading the
database of DATABASE_URL. What it refuses, it says in one line and exits 2, writing nothing."""

from __future__ import annotations

from pathlib import Path

from support.cli import run_bot
from support.report_pages import page_text
from support.rfi import ENGINEER

from commands.router import Router
from commands.services import Services
from store.db import Database


def database_with_acme(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'connect.db'}"
    db = Database(url)
    db.upgrade()
    router = Router(Services.build(db))
    router.handle_text(ENGINEER, 'open acme --service archiving --region eu --name "Acme & Co"')
    db.dispose()
    return url


def test_markdown_goes_to_standard_output_by_default(tmp_path: Path) -> None:
    done = run_bot(["report", "acme"], {"DATABASE_URL": database_with_acme(tmp_path)})

    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("# Onboarding report: Acme \\& Co\n")
    assert "| Journaling | not started |" in done.stdout
    assert "| Outbound |" not in done.stdout  # archiving: only the steps that apply


def test_html_goes_to_the_file_named(tmp_path: Path) -> None:
    output = tmp_path / "acme.html"
    env = {"DATABASE_URL": database_with_acme(tmp_path)}

    done = run_bot(["report", "acme", "--format", "html", "--output", str(output)], env)

    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    assert "Onboarding report: Acme & Co" in page_text(output.read_text(encoding="utf-8"))


def test_an_unknown_customer_is_refused_in_one_line(tmp_path: Path) -> None:
    output = tmp_path / "nope.html"
    env = {"DATABASE_URL": database_with_acme(tmp_path)}

    done = run_bot(["report", "acme-ltd", "--format", "html", "--output", str(output)], env)

    assert done.returncode == 2
    assert done.stderr.startswith("connect-bot report: There is no onboarding acme-ltd.")
    assert len(done.stderr.strip().splitlines()) == 1
    assert not output.exists()


def test_a_file_that_cannot_be_written_is_refused(tmp_path: Path) -> None:
    env = {"DATABASE_URL": database_with_acme(tmp_path)}

    done = run_bot(["report", "acme", "--output", str(tmp_path / "no" / "such" / "r.md")], env)

    assert done.returncode == 2
    assert done.stderr.startswith("connect-bot report: cannot write ")


def test_an_unknown_format_is_a_usage_error(tmp_path: Path) -> None:
    done = run_bot(["report", "acme", "--format", "pdf"], {"DATABASE_URL": "sqlite://"})

    assert done.returncode == 2
    assert "invalid choice: 'pdf'" in done.stderr
