"""The watch's rules without DNS or a database: which watch an onboarding has, the back-off,
and what a run concludes from what it saw (a switch once, unknown never a switch, a regression
raised once until it clears)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from commands.checks.result import CheckResult, CheckStatus
from commands.watch.conclude import CHANNEL, ENGINEERS, MX, SPF, Onboarded, conclude
from commands.watch.observe import DomainLook
from commands.watch.schedule import Mode, WatchConfig, mode_for, next_run

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
ACME = Onboarded("acme", "Acme", "C0ACME")
CONFIG = WatchConfig(interval=900, regression_interval=86_400, max_doublings=2)


def result(check_id: str, status: CheckStatus) -> CheckResult:
    return CheckResult(check_id, status, "acme.co.uk", f"{check_id} {status}")


def cutover(gateway: CheckStatus, propagation: CheckStatus, *, ttl: int = 3600) -> DomainLook:
    hosts = ("mx1.gateway.test",) if gateway is CheckStatus.PASS else ("old.example",)
    return DomainLook(
        "acme.co.uk",
        result("inbound.mx_gateway", gateway),
        propagation=result("inbound.mx_propagation", propagation),
        mx_hosts=hosts if gateway is not CheckStatus.UNKNOWN else (),
        mx_ttl=ttl if gateway is not CheckStatus.UNKNOWN else None,
        name_servers=2,
    )


def regression(gateway: CheckStatus, spf: CheckStatus) -> DomainLook:
    return DomainLook(
        "acme.co.uk",
        result("inbound.mx_gateway", gateway),
        spf=result("outbound.spf", spf),
        mx_hosts=("mx1.gateway.test",),
    )


def test_which_watch_an_onboarding_has() -> None:
    assert mode_for("in_progress", closed=False) is Mode.CUTOVER
    assert mode_for("done", closed=False) is Mode.REGRESSION
    assert mode_for("done", closed=True) is None
    assert mode_for("not_started", closed=False) is None
    assert mode_for("not_applicable", closed=False) is None
    assert mode_for(None, closed=False) is None


def test_cutover_runs_back_off_while_nothing_changes_and_start_again_on_a_change() -> None:
    waits = []
    streak = 0
    for _ in range(5):
        due, streak = next_run(Mode.CUTOVER, streak, False, T0, CONFIG)
        waits.append((due - T0).total_seconds())
    assert waits == [1800, 3600, 3600, 3600, 3600]  # doubled, then held at 4 intervals
    due, streak = next_run(Mode.CUTOVER, streak, True, T0, CONFIG)
    assert (due - T0, streak) == (timedelta(seconds=900), 0)
    due, _ = next_run(Mode.REGRESSION, 7, False, T0, CONFIG)
    assert due - T0 == timedelta(days=1)


def test_the_switch_is_concluded_once_with_the_old_records_ttl() -> None:
    before = conclude(
        Mode.CUTOVER,
        {"acme.co.uk": cutover(CheckStatus.FAIL, CheckStatus.PASS, ttl=7200)},
        None,
        ACME,
        now=T0,
    )
    assert before.notices == ()
    assert before.seen["acme.co.uk"]["old_ttl"] == 7200
    later = T0 + timedelta(minutes=15)
    seen = conclude(
        Mode.CUTOVER,
        {"acme.co.uk": cutover(CheckStatus.PASS, CheckStatus.PASS)},
        before.seen,
        ACME,
        now=later,
    )
    (notice,) = seen.notices
    assert notice.audience == CHANNEL
    assert notice.name_servers == 2
    assert notice.caches_expire_at == later + timedelta(seconds=7200)  # the old TTL, not 3600
    assert seen.all_switched
    assert seen.changed
    again = conclude(
        Mode.CUTOVER,
        {"acme.co.uk": cutover(CheckStatus.PASS, CheckStatus.PASS)},
        seen.seen,
        ACME,
        now=later,
    )
    assert again.notices == ()
    assert not again.changed


def test_unknown_is_never_a_switch() -> None:
    for gateway, propagation in [
        (CheckStatus.UNKNOWN, CheckStatus.PASS),
        (CheckStatus.PASS, CheckStatus.UNKNOWN),
        (CheckStatus.PASS, CheckStatus.FAIL),  # a name server still serves the old MX
    ]:
        seen = conclude(
            Mode.CUTOVER, {"acme.co.uk": cutover(gateway, propagation)}, None, ACME, now=T0
        )
        assert seen.notices == ()
        assert not seen.all_switched
        assert not seen.seen["acme.co.uk"]["switched"]


def test_a_regression_is_raised_once_to_both_places_until_it_clears() -> None:
    well = conclude(
        Mode.REGRESSION,
        {"acme.co.uk": regression(CheckStatus.PASS, CheckStatus.PASS)},
        None,
        ACME,
        now=T0,
    )
    assert well.notices == ()
    moved = conclude(
        Mode.REGRESSION,
        {"acme.co.uk": regression(CheckStatus.FAIL, CheckStatus.PASS)},
        well.seen,
        ACME,
        now=T0,
    )
    assert [(n.problem, n.audience) for n in moved.notices] == [(MX, CHANNEL), (MX, ENGINEERS)]
    still = conclude(
        Mode.REGRESSION,
        {"acme.co.uk": regression(CheckStatus.FAIL, CheckStatus.PASS)},
        moved.seen,
        ACME,
        now=T0,
    )
    assert still.notices == ()
    unknown = conclude(
        Mode.REGRESSION,
        {"acme.co.uk": regression(CheckStatus.UNKNOWN, CheckStatus.UNKNOWN)},
        still.seen,
        ACME,
        now=T0,
    )
    assert unknown.notices == ()  # an unanswered run neither clears nor raises
    assert unknown.seen["acme.co.uk"]["alerted"] == [MX]
    back = conclude(
        Mode.REGRESSION,
        {"acme.co.uk": regression(CheckStatus.PASS, CheckStatus.FAIL)},
        unknown.seen,
        ACME,
        now=T0,
    )
    assert [n.problem for n in back.notices] == [SPF, SPF]
    assert back.seen["acme.co.uk"]["alerted"] == [SPF]
    again = conclude(
        Mode.REGRESSION,
        {"acme.co.uk": regression(CheckStatus.FAIL, CheckStatus.FAIL)},
        back.seen,
        ACME,
        now=T0,
    )
    assert [n.problem for n in again.notices] == [MX, MX]  # moved away a second time
