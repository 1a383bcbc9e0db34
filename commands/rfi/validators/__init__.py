"""Validators for the RFI answers: text a person typed in, typed values (or a reason) out.

Every public function takes the text of one answer (already unescaped from Slack's `&amp;`,
`&lt;`, `&gt;`) and returns a `Parsed` of frozen pydantic values, or raises `Invalid` with a
plain-text problem (what exactly is wrong) and an example of a good answer. Nothing here touches
Slack, the store or the network (no DNS): the checks do that later.

One module per kind of answer, on top of what they share:

- common.py: `Invalid`, `Parsed`, the limits, and the cleaning and splitting of typed text;
- addresses.py: outbound IP addresses, and the address policy (the probes' guard) hosts share;
- names.py: DNS name syntax, IDNA and the public suffix, for domains and host names;
- mail_domains.py, hosts.py (forwarding hosts), points_of_contact.py, platforms.py (mail
  platform and previous provider), journaling.py, directory.py.

No module shares a name with a function exported here (`contacts`, `domains`): the function
would hide the module as an attribute of this package, for `import ... as` and `mock.patch`.

This module re-exports only what the rest of the bot and the tests import from it.
"""

from commands.rfi.validators.addresses import EXAMPLE_IPS, OutboundIP, outbound_ips
from commands.rfi.validators.common import (
    MAX_TEXT_CHARS,
    MAX_VALUES,
    Invalid,
    Parsed,
    split_values,
)
from commands.rfi.validators.directory import directory_type
from commands.rfi.validators.hosts import EXAMPLE_HOSTS, Host, forwarding_hosts
from commands.rfi.validators.journaling import journaling_method
from commands.rfi.validators.mail_domains import EXAMPLE_DOMAINS, Domain, domains
from commands.rfi.validators.platforms import Platform, platform, previous_provider
from commands.rfi.validators.points_of_contact import Contact, contacts, contacts_complete

__all__ = [
    "EXAMPLE_DOMAINS",
    "EXAMPLE_HOSTS",
    "EXAMPLE_IPS",
    "MAX_TEXT_CHARS",
    "MAX_VALUES",
    "Contact",
    "Domain",
    "Host",
    "Invalid",
    "OutboundIP",
    "Parsed",
    "Platform",
    "contacts",
    "contacts_complete",
    "directory_type",
    "domains",
    "forwarding_hosts",
    "journaling_method",
    "outbound_ips",
    "platform",
    "previous_provider",
    "split_values",
]
