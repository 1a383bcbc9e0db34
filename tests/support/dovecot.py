"""A real POP3 journal mailbox for tests: Debian's Dovecot with its own temp configuration,
serving POP3 with STLS and POP3S on high loopback ports, with a certificate from the test CA.

    with DovecotServer(leaf, users={"journal": "s3cret"}, messages={"journal": [b"..."]}) as pop:
        pop.address, pop.pop3_port, pop.pop3s_port

Traps (see DESIGN.md): Dovecot's login processes run unprivileged, so base_dir must not sit in a
0700 folder (pytest's tmp_path is one): the fixture makes its own 0755 folder under /tmp.
Dovecot daemonises and keeps the pipes it inherits open, so its output goes to a file. It is
stopped by the pid in base_dir/master.pid. A server that cannot start raises: the tests fail.

Fixture (register with `-p support.dovecot`, or import into a test module):
  dovecot_server  session: user "journal" with JOURNAL_PASSWORD and JOURNAL_MESSAGES seeded
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import pytest

from support.daemon import Daemon
from support.nsd import free_port
from support.smtp_servers import probe_ca  # noqa: F401 (fixture used below)
from support.test_ca import Leaf, TestCA

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
START_TIMEOUT = 20.0
POP_ADDRESS = "127.0.0.16"
POP_HOST = "pop.probe.test"  # the name in the certificate; tests connect to POP_ADDRESS
MAIL_UID = 65534  # nobody: Dovecot refuses to run mail processes as root
MAIL_GID = 65534
JOURNAL_USER = "journal"
JOURNAL_PASSWORD = "Tr0ub4dor&3-journal"  # what the tests search for in results and logs
JOURNAL_MESSAGES = (
    b"From: a@acme.test\r\nTo: journal@acme.test\r\nSubject: one\r\n\r\nfirst report\r\n",
    b"From: b@acme.test\r\nTo: journal@acme.test\r\nSubject: two\r\n\r\nsecond, longer report\r\n",
    b"From: c@acme.test\r\nTo: journal@acme.test\r\nSubject: three\r\n\r\nthird\r\n",
)


class DovecotError(RuntimeError):
    """Dovecot could not be started."""


class DovecotServer(Daemon):
    log_name = "dovecot.log"
    pid_name = "run/master.pid"

    def __init__(
        self,
        leaf: Leaf,
        *,
        users: Mapping[str, str],
        messages: Mapping[str, Sequence[bytes]] | None = None,
        address: str = POP_ADDRESS,
    ) -> None:
        if not address.startswith("127."):
            raise ValueError("tests serve POP3 on the loopback range only")
        self.leaf = leaf
        self.users = dict(users)
        self.messages = {user: list(items) for user, items in (messages or {}).items()}
        self.address = address
        self.pop3_port = free_port(address)
        self.pop3s_port = free_port(address)
        while self.pop3s_port == self.pop3_port:
            self.pop3s_port = free_port(address)
        super().__init__()
        self.config: Path | None = None

    def _write(self, root: Path) -> Path:
        for sub in ("run", "state", "mail"):
            (root / sub).mkdir(mode=0o755)
        passwd = root / "passwd"
        # user:{PLAIN}password:uid:gid::home -- the test users' passwords are test data.
        passwd.write_text(
            "".join(
                f"{user}:{{PLAIN}}{password}:{MAIL_UID}:{MAIL_GID}::{root / 'mail' / user}\n"
                for user, password in self.users.items()
            )
        )
        passwd.chmod(0o644)
        for user in self.users:
            maildir = root / "mail" / user / "Maildir"
            for sub in ("new", "cur", "tmp"):
                (maildir / sub).mkdir(parents=True)
            for index, body in enumerate(self.messages.get(user, ())):
                (maildir / "new" / f"{1700000000 + index}.M{index}P1.test").write_bytes(body)
            for path in [root / "mail" / user, *maildir.rglob("*"), maildir]:
                os.chown(path, MAIL_UID, MAIL_GID)
        config = root / "dovecot.conf"
        config.write_text(
            f"""
base_dir = {root / "run"}
state_dir = {root / "state"}
instance_name = connect-bot-test-{root.name}
log_path = {self.log_path}
protocols = pop3
listen = {self.address}
ssl = yes
ssl_cert = <{self.leaf.cert_file}
ssl_key = <{self.leaf.key_file}
ssl_min_protocol = TLSv1.2
disable_plaintext_auth = yes
auth_mechanisms = plain
# A wrong password is a test case, not an attack: no 2 s failure delay, and no growing penalty
# on the next login from the same address (a socket mode of 0 turns anvil's auth penalty off).
auth_failure_delay = 0
first_valid_uid = {MAIL_UID}
last_valid_uid = {MAIL_UID}
mail_location = maildir:~/Maildir
pop3_uidl_format = %08Xu%08Xv
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {passwd}
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {passwd}
}}
service pop3-login {{
  inet_listener pop3 {{
    address = {self.address}
    port = {self.pop3_port}
  }}
  inet_listener pop3s {{
    address = {self.address}
    port = {self.pop3s_port}
    ssl = yes
  }}
}}
service imap-login {{
  inet_listener imap {{
    port = 0
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
service stats {{
  unix_listener stats-reader {{
    mode = 0666
  }}
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
""",
            encoding="utf-8",
        )
        return config

    def start(self) -> None:
        if not os.path.exists(DOVECOT):
            raise DovecotError(f"dovecot is not installed ({DOVECOT}); run scripts/system-packages")
        # Not pytest's tmp_path: that sits in a 0700 folder the login processes cannot enter.
        root = Path(tempfile.mkdtemp(prefix="dovecot-", dir="/tmp"))
        root.chmod(0o755)
        self.directory = root
        self.config = self._write(root)
        with (root / "start.log").open("wb") as out:
            # Output to a file, never a pipe: the daemon keeps inherited pipes open.
            started = subprocess.run(
                [DOVECOT, "-c", str(self.config)],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                check=False,
                timeout=START_TIMEOUT,
            )
        if started.returncode != 0:
            text = (root / "start.log").read_text(errors="replace")
            raise DovecotError(f"dovecot did not start (exit {started.returncode}): {text}")
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        last: object = None
        while time.monotonic() < deadline:
            try:
                with socket.create_connection((self.address, self.pop3_port), timeout=1) as sock:
                    if sock.recv(64).startswith(b"+OK"):
                        return
            except OSError as exc:
                last = exc
            time.sleep(0.05)
        raise DovecotError(
            f"dovecot did not answer on {self.address}:{self.pop3_port} ({last}); "
            f"log: {self.log_text()[-2000:]}"
        )


@pytest.fixture(scope="session")
def dovecot_server(probe_ca: TestCA) -> Iterator[DovecotServer]:  # noqa: F811
    leaf = probe_ca.issue(POP_HOST, file_stem="dovecot-pop")
    with DovecotServer(
        leaf,
        users={JOURNAL_USER: JOURNAL_PASSWORD},
        messages={JOURNAL_USER: JOURNAL_MESSAGES},
    ) as server:
        yield server
