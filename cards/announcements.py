"""Programme announcements: the coordinators' composer, the announcement itself, and the delivery result."""

from __future__ import annotations

from cards.common import (
    MAX_TITLE,
    CardJson,
    card,
    choice_set,
    container,
    execute,
    facts,
    heading,
    text,
    text_input,
)
from cards.protocol import ANNOUNCE_AUDIENCE, ANNOUNCE_AUDIENCE_VALUE, ANNOUNCE_TEXT, ANNOUNCE_TITLE, Verb
from programme.announcements import AudienceKind
from service.views import AnnouncementDraft, AnnouncementResultView, AnnouncementView, DeliveryProblemsView

AUDIENCE_LABELS = {
    AudienceKind.EVERYONE: "Everyone",
    AudienceKind.ROLE: "Everyone in a role",
    AudienceKind.WEEKDAY: "The groups of a weekday",
    AudienceKind.GROUP: "One group",
    AudienceKind.FACILITATORS: "The facilitators",
}


def build_announcement_composer_card(
    draft: AnnouncementDraft | None = None, *, preview_recipients: int | None = None
) -> CardJson:
    """The composer; with a draft it is prefilled, and with `preview_recipients` it shows the preview."""
    body: list[CardJson] = [heading("New announcement")]
    if draft is not None and preview_recipients is not None:
        body.append(
            container(
                [
                    text("Preview", bold=True),
                    text(draft.title, bold=True),
                    text(draft.text),
                    text(f"Would go to {preview_recipients} people.", color="accent"),
                ],
                style="emphasis",
            )
        )
    body += [
        text_input(
            ANNOUNCE_TITLE, "Title", value=draft.title if draft else "", required=True, max_length=MAX_TITLE
        ),
        text_input(
            ANNOUNCE_TEXT, "Message", multiline=True, value=draft.text if draft else "", required=True
        ),
        choice_set(
            ANNOUNCE_AUDIENCE,
            "Send to",
            [(kind.value, label) for kind, label in AUDIENCE_LABELS.items()],
            value=(draft.audience if draft else AudienceKind.EVERYONE).value,
            required=True,
            compact=True,
        ),
        text_input(
            ANNOUNCE_AUDIENCE_VALUE,
            "Which role, weekday or group (for those choices)",
            placeholder="e.g. Health Coach, Tuesday, or a group's name",
            value=draft.audience_value if draft else "",
            max_length=MAX_TITLE,
        ),
    ]
    return card(
        body,
        actions=[
            execute("Preview", Verb.ANNOUNCE_PREVIEW, {}),
            execute("Send", Verb.ANNOUNCE_SEND, {}, style="positive"),
        ],
        fallback_text="Compose an announcement: open this message in Teams.",
        full_width=True,
    )


def build_announcement_card(view: AnnouncementView) -> CardJson:
    """The announcement as staff receive it."""
    return card(
        [heading(view.title), text(view.text), text(f"From {view.sender}", subtle=True, separator=True)],
        fallback_text=f"Announcement from {view.sender}: {view.title}",
    )


def build_announcement_result_card(view: AnnouncementResultView) -> CardJson:
    """Delivery counts for the coordinator who sent an announcement."""
    rows = (
        [("Sent", str(view.sent)), ("Pending", str(view.pending))]
        if view.pending
        else [("Sent", str(view.sent))]
    )
    rows += [("Failed", str(view.failed)), ("Unreachable", str(view.unreachable))]
    if view.pending and view.rate:
        minutes = max(1, round(view.pending / view.rate / 60))
        rows.append(("Rate", f"{view.rate:.0f} a second, about {minutes} min to go"))
    body = [
        heading(f"Announcement {'being sent' if view.pending else 'sent'}: {view.title}"),
        text(f"To {view.audience}.", subtle=True),
        facts(rows),
    ]
    if view.failed:
        body.append(text("Some deliveries failed even after retrying.", color="attention"))
    if view.unreachable:
        body.append(
            text("Unreachable people have not installed the app in Teams or have blocked it.", subtle=True)
        )
    return card(
        body,
        fallback_text=f'Announcement "{view.title}": {view.sent} sent, {view.pending} pending, '
        f"{view.failed} failed, {view.unreachable} unreachable.",
    )


def build_delivery_problems_card(view: DeliveryProblemsView) -> CardJson:
    """Deliveries (Teams and email) that failed or wait to be retried, for coordinators."""
    if not view.failed and not view.retrying:
        return card(
            [heading("Deliveries"), text("Everything queued lately was delivered or is on its way.")],
            fallback_text="Deliveries: nothing failed lately.",
        )
    rows = [(f"Failed: {kind}", f"{count} ({reason})") for kind, reason, count in view.failed]
    rows += [(f"To retry: {kind}", str(count)) for kind, count in view.retrying]
    failed = sum(count for _, _, count in view.failed)
    retrying = sum(count for _, count in view.retrying)
    return card(
        [
            heading("Deliveries"),
            text(
                "These were not delivered. Failures are final: check the mail settings or the bot's "
                "registration; retries happen by themselves.",
                color="attention" if failed else None,
            ),
            facts(rows),
        ],
        fallback_text=f"Deliveries: {failed} failed, {retrying} to retry.",
    )
