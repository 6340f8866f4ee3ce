"""Meeting requests through the outbox: one per session, updated on change, cancelled on removal."""

from __future__ import annotations

import asyncio
import email
from datetime import UTC, datetime
from pathlib import Path

import icalendar

from app import outbox_drainer
from mailers.pickup import PickupMailer
from programme.settings import ProgrammeSettings
from repositories.groups import GROUPS
from repositories.meetings import MEETINGS
from service.invites_service import InvitesService, MailSettings
from service.services import Services
from store import Store
from support.config import BotSettings

ROSTER = """email,name,role,working_days,facilitator
fay@x.org,Fay Lead,Coach,Mon Tue Wed Thu Fri,yes
ann@x.org,Ann Able,Coach,Mon Tue Wed Thu Fri,no
bo@x.org,Bo Bright,Coach,Mon Tue Wed Thu Fri,no
cy@x.org,Cy Calm,Coach,Mon Tue Wed Thu Fri,no
"""
NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def calendars(mail: Path) -> list[icalendar.Calendar]:
    found = []
    for path in sorted(mail.glob("*.eml")):
        for part in email.message_from_bytes(path.read_bytes()).walk():
            if part.get_content_type() == "text/calendar":
                found.append(icalendar.Calendar.from_ical(part.get_payload(decode=True)))
    return found


def deliver(services: Services, mail: Path) -> None:
    async def run() -> None:
        mailer = PickupMailer(mail, clock=lambda: NOW)
        async with outbox_drainer(services, BotSettings(), mailer, sender="reflect@x.org") as drainer:
            await drainer.drain_once(NOW)
        await mailer.close()

    asyncio.run(run())


def test_a_removed_group_has_its_meeting_cancelled(tmp_path: Path) -> None:
    mail = tmp_path / "mail"
    with Store(tmp_path / "reflect.json") as store:
        services = Services.build(store, ProgrammeSettings(), lambda: NOW)
        services.programme.import_roster(ROSTER.encode(), "roster.csv", NOW)
        services.programme.allocate(NOW)
        invites = InvitesService(
            services.programme, services.outbox, lambda: NOW, MailSettings("reflect@x.org")
        )
        assert invites.sync_month("2026-12") == 1
        assert invites.sync_month("2026-12") == 0  # nothing changed: nothing new
        deliver(services, mail)
        ((group_id, group_doc),) = store.collection(GROUPS).all().items()
        store.collection(GROUPS).replace_all({})  # the group is gone (e.g. everyone left)
        assert invites.sync_month("2026-12") == 1
        deliver(services, mail)
        assert store.collection(MEETINGS).get(f"{group_id}:2026-12")["status"] == "cancelled"
        # The group coming back re-invites once (a higher SEQUENCE), then nothing more.
        store.collection(GROUPS).put(group_id, group_doc)
        assert invites.sync_month("2026-12") == 1
        assert invites.sync_month("2026-12") == 0
        assert store.collection(MEETINGS).get(f"{group_id}:2026-12")["sequence"] == 2
    request, cancel = calendars(mail)
    assert request["METHOD"] == "REQUEST" and cancel["METHOD"] == "CANCEL"
    first, last = (next(iter(c.walk("VEVENT"))) for c in (request, cancel))
    assert first["UID"] == last["UID"]
    assert int(last["SEQUENCE"]) == int(first["SEQUENCE"]) + 1
    assert last["STATUS"] == "CANCELLED"


def test_people_the_bot_cannot_reach_get_announcements_by_email(tmp_path: Path) -> None:
    from cards.actions import AnnounceCommand
    from programme.announcements import AudienceKind

    mail = tmp_path / "mail"
    roster = "email,name,role,coordinator\n" + "".join(
        f"{who}@x.org,{who.title()},Coach,{'yes' if who == 'fay' else 'no'}\n"
        for who in ("fay", "ann", "bo", "cy")
    )
    with Store(tmp_path / "reflect.json") as store:
        services = Services.build(store, ProgrammeSettings(), lambda: NOW)
        services.programme.import_roster(roster.encode(), "roster.csv", NOW)
        services.programme.allocate(NOW)
        fay = services.month.actor(services.programme.people()["fay@x.org"])
        services.announcements.announce(
            fay,
            AnnounceCommand(
                "Room change", "We meet in room 4 this month.", AudienceKind.EVERYONE, "", preview=False
            ),
        )
        deliver(services, mail)  # nobody has a Teams chat with the bot yet
        statuses = {doc["recipient"]: doc["status"] for doc in services.outbox.records("2026-11").values()}
    assert set(statuses.values()) == {"sent"}
    received = {}
    for path in mail.glob("*.eml"):
        message = email.message_from_bytes(path.read_bytes())
        received[str(message["To"])] = str(message["Subject"])
    assert received == {f"{e}": "Room change" for e in ("ann@x.org", "bo@x.org", "cy@x.org", "fay@x.org")}
