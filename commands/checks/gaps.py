"""A gateway fact the profile does not have (no public source gives it): the check that needs it
is `skipped` and names the gap, never passes, and the advice speaks to whoever can fill the gap.

A Connect engineer can: they get the fact from the gateway (the account's Connect Application,
the gateway's support) and add it to the profile the bot reads. A customer contact cannot, and is
not asked to edit a server setting: they are told that nothing is needed from them.
"""

from __future__ import annotations

from commands.core.roles import Role
from commands.profiles import GatewayRegion


def fact_gap(region: GatewayRegion, what: str, audience: Role, *, plural: bool = True) -> str:
    """A clause (no capital, no full stop) naming the missing fact and who acts on it.

    what: the missing fact as people call it, e.g. "journal hosts", "SPF include".
    audience: the role of the person the result is for (the one who ran the check)."""
    where = f"region {region.key} ({region.name})"
    them = "them" if plural else "it"
    if audience is Role.CUSTOMER:
        return (
            f"the bot does not know the gateway's {what} for {where} yet, so it has nothing to "
            f"compare with; nothing is needed from you: your Connect engineer will confirm "
            f"{them} with the gateway and run this check again"
        )
    return (
        f"the gateway profile lists no {what} for {where}; "
        f"confirm {them} with your gateway engineer (or the account's Connect Application) and "
        f"add {them} to the profile the bot reads (CONNECT_GATEWAY_PROFILE, a copy of the "
        "shipped commands/profiles/mimecast.yml)"
    )


def not_checked(
    region: GatewayRegion, judged: str, what: str, audience: Role, *, plural: bool = True
) -> str:
    """A skipped check's summary: "Not checked: <judged> cannot be told, because <gap>."."""
    gap = fact_gap(region, what, audience, plural=plural)
    return f"Not checked: {judged} cannot be told, because {gap}."
