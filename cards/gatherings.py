"""The gatherings card: the open opt-in gatherings, each with a one-click Join or Leave.

It shows how many joined and whether a gathering meets yet, never who joined. Joining takes effect
at the next allocation of groups, and the card says so.
"""

from __future__ import annotations

from cards.common import CardJson, action_set, card, container, execute, facts, heading, text
from cards.protocol import DATA_PROGRAMME, DATA_TOPIC, Verb
from service.views import GatheringsView, GatheringView

NONE_OPEN = "There are no gatherings to join at the moment."
HOW_IT_WORKS = (
    "Gatherings are voluntary groups around a shared experience. You can join one per programme; "
    "joining another leaves the first. You're placed in its group at the next allocation of groups, "
    "and then get its invitation. Nobody else sees which gathering you joined, only how many joined."
)


def meets_text(gathering: GatheringView) -> str:
    """Whether it meets yet: "meets once 4 have joined (2 so far)" or "meets: 5 have joined"."""
    if gathering.meets:
        return f"meets: {gathering.joined} have joined"
    return f"meets once {gathering.minimum} have joined ({gathering.joined} so far)"


def _section(gathering: GatheringView) -> CardJson:
    rows = [
        ("For", f"anyone who shares this experience ({gathering.programme_name})"),
        ("Status", meets_text(gathering)),
        ("Next session", gathering.next_session),
        ("Where", gathering.place or "Online, in Teams"),
    ]
    data = {DATA_PROGRAMME: gathering.programme_id, DATA_TOPIC: gathering.topic}
    if gathering.mine:
        button = execute("Leave", Verb.GATHERING_LEAVE, {DATA_PROGRAMME: gathering.programme_id})
        items = [text(gathering.topic, bold=True), text("You joined this gathering.", color="good")]
    else:
        button = execute("Join", Verb.GATHERING_JOIN, data, style="positive")
        items = [text(gathering.topic, bold=True)]
    return container([*items, facts(rows), action_set([button])], style="emphasis")


def build_gatherings_card(view: GatheringsView) -> CardJson:
    """The open gatherings with Join / Leave buttons (and what the last press did)."""
    body: list[CardJson] = [heading("Gatherings you can join")]
    if view.notice:
        body.append(text(view.notice, color="good", bold=True))
    if not view.gatherings:
        body.append(text(NONE_OPEN))
        return card(body, fallback_text=NONE_OPEN)
    body.append(text(HOW_IT_WORKS, subtle=True))
    body.extend(_section(g) for g in view.gatherings)
    topics = ", ".join(g.topic for g in view.gatherings)
    return card(
        body,
        fallback_text=f"Gatherings you can join: {topics}. Open this message in Teams to join.",
        full_width=True,
    )
