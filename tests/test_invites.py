"""Meeting requests through the outbox: one per session, updated on change, cancelled on removal."""

from __future__ import annotations

import email
from datetime import UTC, datetime
from pathlib import Path

from app import wiring
from service.invites import Invites, MailSettings
from store import Store
from tests.pickup_mail import calendars, deliver
from tests.worlds import Row, actor, build_services, place_groups

ROSTER = (Row("fay", facilitator=True), Row("ann"), Row("bo"), Row("cy"))
NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def test_a_removed_group_has_its_meeting_cancelled(store: Store, tmp_path: Path) -> None:
    mail = tmp_path / "mail"
    services = build_services(store, lambda: NOW, ROSTER)
    invites = Invites(services.sessions, services.outbox, MailSettings("reflect@x.org"))
    assert invites.sync_month("2026-12") == 1
    assert invites.sync_month("2026-12") == 0  # nothing changed: nothing new
    deliver(services, mail, NOW)
    (group,) = services.programme.groups()
    place_groups(store, [], NOW)  # the group is gone (e.g. everyone left)
    assert invites.sync_month("2026-12") == 1
    deliver(services, mail, NOW)
    # The group coming back re-invites once (a higher SEQUENCE), then nothing more.
    place_groups(store, [group], NOW)
    assert invites.sync_month("2026-12") == 1
    assert invites.sync_month("2026-12") == 0
    deliver(services, mail, NOW)
    request, cancel, again = calendars(mail)
    assert [c["METHOD"] for c in (request, cancel, again)] == ["REQUEST", "CANCEL", "REQUEST"]
    first, last, back = (next(iter(c.walk("VEVENT"))) for c in (request, cancel, again))
    assert first["UID"] == last["UID"] == back["UID"]
    assert int(last["SEQUENCE"]) == int(first["SEQUENCE"]) + 1
    assert int(back["SEQUENCE"]) == int(first["SEQUENCE"]) + 2
    assert last["STATUS"] == "CANCELLED" and back["STATUS"] != "CANCELLED"
    # The request and its cancellation reach the group's members and its facilitator.
    addressed = {str(a).removeprefix("mailto:").lower() for a in first.get("ATTENDEE", [])}
    assert addressed == {f"{k}@x.org" for k in ("fay", "ann", "bo", "cy")}


def test_people_the_bot_cannot_reach_get_announcements_by_email(tmp_path: Path) -> None:
    from cards.actions import AnnounceCommand
    from programme.announcements import AudienceKind

    mail = tmp_path / "mail"
    roster = [
        Row(who, coordinator=who == "fay", name=who.title(), days="") for who in ("fay", "ann", "bo", "cy")
    ]
    with Store(tmp_path / "reflect.json") as store:
        services = build_services(store, lambda: NOW, roster)
        fay = actor(services, "fay")
        services.announcements.announce(
            fay,
            AnnounceCommand(
                "Room change", "We meet in room 4 this month.", AudienceKind.EVERYONE, "", preview=False
            ),
        )
        deliver(services, mail, NOW)  # nobody has a Teams chat with the bot yet
        statuses = {doc["recipient"]: doc["status"] for doc in services.outbox.records("2026-11").values()}
    assert set(statuses.values()) == {"sent"}
    received = {}
    for path in mail.glob("*.eml"):
        message = email.message_from_bytes(path.read_bytes())
        received[str(message["To"])] = str(message["Subject"])
    assert received == {f"{e}": "Room change" for e in ("ann@x.org", "bo@x.org", "cy@x.org", "fay@x.org")}


def test_the_programme_clocks_invites_use_the_one_sessions_of_the_services(tmp_path: Path) -> None:
    # One planner and one clock for the month's sessions: the invites' times are the cards' times.
    settings = tmp_path / "reflect.toml"
    settings.write_text("[programme]\n", encoding="utf-8")
    with wiring(str(tmp_path / "reflect.json"), str(settings), lambda: NOW) as wired:
        assert wired.scheduler.invites.sessions is wired.services.sessions
