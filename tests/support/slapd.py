"""A real directory for the recipient tests: Debian's OpenLDAP `slapd` with its own temporary
configuration and MDB database on loopback, LDAP (StartTLS) and LDAPS on free high ports, with a
certificate from the test CA for `ldap.probe.test` (the name the NSD of `smtp_world` serves).

The seed is made with `slapadd` before the server starts (the fastest way to load 2,500 entries):

  dc=acme,dc=test
    ou=users    2,500 entries of the tiny Active-Directory-like class `user` (a subclass of
                inetOrgPerson, so the same entries serve the "other LDAP" mode), alternately in
                acme.test and acme-eu.test; some without mail, some in other.test (not in the
                RFI), some disabled (userAccountControl 514), some with smtp: aliases in
                proxyAddresses
    ou=groups   GROUPS: `group` entries (a subclass of groupOfNames) with mail and members
    ou=service  the reader account the tests bind as (the rootdn would bypass the size limit)

The size limit is 500 with `size.prtotal=unlimited`: a plain search stops at 500 entries, a paged
search reads everything, as an Active Directory behaves. A server that cannot start raises: the
tests fail, never skip.

Fixture (register with `-p support.slapd`):
  slapd_server  session: the running directory (addresses, ports, CA, bind DN and password)
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.daemon import Daemon
from support.nsd import free_port
from support.smtp_servers import probe_ca  # noqa: F401 (fixture used below)
from support.test_ca import Leaf, TestCA

SLAPD = shutil.which("slapd") or "/usr/sbin/slapd"
SLAPADD = shutil.which("slapadd") or "/usr/sbin/slapadd"
START_TIMEOUT = 20.0
LDAP_ADDRESS = "127.0.0.18"
LDAP_HOST = "ldap.probe.test"  # the name in the certificate (an A record in smtp_servers.py)
SUFFIX = "dc=acme,dc=test"
USERS_DN = f"ou=users,{SUFFIX}"
GROUPS_DN = f"ou=groups,{SUFFIX}"
BIND_DN = f"cn=connect-reader,ou=service,{SUFFIX}"
BIND_PASSWORD = "C0rrect-H0rse-ldap-reader"  # what the tests search for in results and logs
ROOT_PASSWORD = "root-only-for-slapadd"
SIZE_LIMIT = 500
USER_COUNT = 2500
DOMAINS = ("acme.test", "acme-eu.test")  # the RFI's domains in the tests
OUTSIDE_DOMAIN = "other.test"
GROUPS = {  # name -> (mail, which users are members: i % modulus == 0)
    "Sales": ("sales@acme.test", 5),
    "Support": ("support@acme-eu.test", 7),
    "All Staff": ("all-staff@acme.test", 1),
    "Board": ("board@other.test", 500),
}

# A tiny Active-Directory-like schema (a private OID arc; names as AD spells them).
ADLIKE_SCHEMA = """
attributetype ( 1.3.6.1.4.1.55555.1.1 NAME 'userAccountControl'
    EQUALITY integerMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )
attributetype ( 1.3.6.1.4.1.55555.1.2 NAME 'proxyAddresses'
    EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch
    SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 )
attributetype ( 1.3.6.1.4.1.55555.1.3 NAME 'sAMAccountName'
    EQUALITY caseIgnoreMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
objectclass ( 1.3.6.1.4.1.55555.2.1 NAME 'user' SUP inetOrgPerson STRUCTURAL
    MAY ( userAccountControl $ proxyAddresses $ sAMAccountName ) )
objectclass ( 1.3.6.1.4.1.55555.2.2 NAME 'group' SUP groupOfNames STRUCTURAL
    MAY ( mail $ proxyAddresses $ displayName $ sAMAccountName ) )
"""


def user_profile(i: int) -> dict[str, object]:
    """What the seed gives user number i (the tests compute their expectations from this)."""
    domain = DOMAINS[i % 2]
    no_mail = i % 50 == 7
    outside = i % 100 == 3
    disabled = i % 25 == 11
    alias = i % 10 == 1
    mail = None if no_mail else f"user{i:04d}@{OUTSIDE_DOMAIN if outside else domain}"
    proxies: list[str] = []
    if mail:
        proxies.append(f"SMTP:{mail}")
        proxies.append(f"X500:/o=acme/ou=first/cn=user{i:04d}")  # not an address: ignored
        if alias:
            proxies.append(f"smtp:alias{i:04d}@{domain}")
    return {
        "uid": f"user{i:04d}",
        "display": f"User {i:04d}",
        "mail": mail,
        "proxies": proxies,
        "disabled": disabled,
        "alias": f"alias{i:04d}@{domain}" if mail and alias else None,
    }


def seed_ldif() -> str:
    blocks = [
        f"dn: {SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\no: Acme\ndc: acme\n",
        f"dn: {USERS_DN}\nobjectClass: organizationalUnit\nou: users\n",
        f"dn: {GROUPS_DN}\nobjectClass: organizationalUnit\nou: groups\n",
        f"dn: ou=service,{SUFFIX}\nobjectClass: organizationalUnit\nou: service\n",
        f"dn: {BIND_DN}\nobjectClass: person\nobjectClass: simpleSecurityObject\n"
        f"cn: connect-reader\nsn: reader\nuserPassword: {BIND_PASSWORD}\n",
    ]
    for i in range(USER_COUNT):
        p = user_profile(i)
        lines = [
            f"dn: uid={p['uid']},{USERS_DN}",
            "objectClass: user",
            f"uid: {p['uid']}",
            f"cn: {p['display']}",
            f"sn: {i:04d}",
            f"displayName: {p['display']}",
            f"sAMAccountName: {p['uid']}",
            f"userAccountControl: {514 if p['disabled'] else 512}",
        ]
        if p["mail"]:
            lines.append(f"mail: {p['mail']}")
        lines += [f"proxyAddresses: {proxy}" for proxy in p["proxies"]]  # type: ignore[union-attr]
        blocks.append("\n".join(lines) + "\n")
    for name, (mail, modulus) in GROUPS.items():
        lines = [
            f"dn: cn={name},{GROUPS_DN}",
            "objectClass: group",
            f"cn: {name}",
            f"displayName: {name}",
            f"mail: {mail}",
            f"proxyAddresses: SMTP:{mail}",
        ]
        lines += [f"member: uid=user{i:04d},{USERS_DN}" for i in range(0, USER_COUNT, modulus)]
        blocks.append("\n".join(lines) + "\n")
    return "\n".join(blocks)


class SlapdError(RuntimeError):
    """slapd could not be seeded or started."""


class SlapdServer(Daemon):
    log_name = "slapd.log"
    pid_name = "slapd.pid"

    def __init__(self, leaf: Leaf, ca_file: Path, *, address: str = LDAP_ADDRESS) -> None:
        if not address.startswith("127."):
            raise ValueError("tests serve LDAP on the loopback range only")
        self.leaf = leaf
        self.ca_file = ca_file
        self.ca_pem = ca_file.read_text()
        self.address = address
        self.host = LDAP_HOST
        self.ldap_port = free_port(address)
        self.ldaps_port = free_port(address)
        while self.ldaps_port == self.ldap_port:
            self.ldaps_port = free_port(address)
        self.bind_dn = BIND_DN
        self.password = BIND_PASSWORD
        self.base_dn = SUFFIX
        super().__init__()

    def _config(self, root: Path) -> Path:
        (root / "db").mkdir()
        schema = root / "adlike.schema"
        schema.write_text(ADLIKE_SCHEMA)
        conf = root / "slapd.conf"
        conf.write_text(
            "\n".join(
                [
                    "include /etc/ldap/schema/core.schema",
                    "include /etc/ldap/schema/cosine.schema",
                    "include /etc/ldap/schema/inetorgperson.schema",
                    f"include {schema}",
                    f"pidfile {root / 'slapd.pid'}",
                    f"argsfile {root / 'slapd.args'}",
                    "modulepath /usr/lib/ldap",
                    "moduleload back_mdb",
                    f"TLSCACertificateFile {self.ca_file}",
                    f"TLSCertificateFile {self.leaf.cert_file}",
                    f"TLSCertificateKeyFile {self.leaf.key_file}",
                    "database mdb",
                    "maxsize 268435456",
                    f'suffix "{SUFFIX}"',
                    f'rootdn "cn=admin,{SUFFIX}"',
                    f"rootpw {ROOT_PASSWORD}",
                    f"directory {root / 'db'}",
                    "index objectClass eq",
                    "index mail,uid eq",
                    f"sizelimit size.soft={SIZE_LIMIT} size.hard={SIZE_LIMIT} "
                    "size.prtotal=unlimited",
                    "access to attrs=userPassword by anonymous auth by * none",
                    "access to * by users read by * none",
                    "",
                ]
            )
        )
        return conf

    def start(self) -> None:
        root = Path(tempfile.mkdtemp(prefix="slapd-"))
        self.directory = root
        conf = self._config(root)
        ldif = root / "seed.ldif"
        ldif.write_text(seed_ldif())
        with self.log_path.open("ab") as log:
            added = subprocess.run(
                [SLAPADD, "-q", "-f", str(conf), "-l", str(ldif)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                timeout=120,
                check=False,
            )
            if added.returncode != 0:
                raise SlapdError(f"slapadd failed ({added.returncode}):\n{self.log_text()}")
            urls = (
                f"ldap://{self.address}:{self.ldap_port}/ ldaps://{self.address}:{self.ldaps_port}/"
            )
            started = subprocess.run(
                [SLAPD, "-f", str(conf), "-h", urls],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                timeout=START_TIMEOUT,
                check=False,
            )
        if started.returncode != 0:
            raise SlapdError(f"slapd did not start ({started.returncode}):\n{self.log_text()}")
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._answers(self.ldap_port) and self._answers(self.ldaps_port):
                return
            time.sleep(0.1)
        self.stop()
        raise SlapdError(f"slapd did not answer within {START_TIMEOUT} s:\n{self.log_text()}")

    def _answers(self, port: int) -> bool:
        try:
            with socket.create_connection((self.address, port), timeout=1):
                return True
        except OSError:
            return False


@pytest.fixture(scope="session")
def slapd_server(probe_ca: TestCA) -> Iterator[SlapdServer]:  # noqa: F811
    leaf = probe_ca.issue(LDAP_HOST, file_stem="slapd-ldap")
    with SlapdServer(leaf, probe_ca.ca_file) as server:
        yield server
