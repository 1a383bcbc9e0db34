"""Where a recipient list's columns are: the header row's address and name cells, found in any
order and under the names people and exports give them (`Email`, `E-mail Address`, `Mail`,
`Display Name`, `Name`...)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

# Compared without case, spaces, hyphens, underscores or dots: "E-mail Address" is emailaddress.
ADDRESS_HEADERS = frozenset(
    {
        "email",
        "emails",
        "emailaddress",
        "emailaddresses",
        "mail",
        "mailaddress",
        "smtpaddress",
        "primarysmtpaddress",  # Exchange and Microsoft 365 exports
        "primaryemail",
        "primaryemailaddress",
    }
)
NAME_HEADERS = frozenset(
    {"name", "displayname", "fullname", "recipientname", "contactname", "recipient"}
)
SHOWN = "`Email` (or `E-mail Address`, `Mail`) and `Name` (or `Display Name`)"
_IGNORED = re.compile(r"[\s\-_.]+")


@dataclass(frozen=True)
class Columns:
    address: int  # 0 is column A
    name: int


def _folded(cell: str) -> str:
    return _IGNORED.sub("", cell.casefold())


def find_columns(cells: Sequence[str], width: int) -> Columns | None:
    """The address and name columns, if this row is a header row: among its first `width`
    cells, one names addresses and another names names, in either order (the name may also
    be just right of them, where the gateway's layout puts it beside an address header in the
    last column). The first of each wins, so a second `Mail` column is data, not a header."""
    address = name = None
    for index, cell in enumerate(cells[: width + 1]):
        folded = _folded(cell)
        if address is None and index < width and folded in ADDRESS_HEADERS:
            address = index
        elif name is None and folded in NAME_HEADERS:
            name = index
    if address is None or name is None:
        return None
    return Columns(address, name)
