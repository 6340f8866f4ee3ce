"""The gatherings card: the open opt-in gatherings, each with a one-click Join or Leave.

It shows how many joined and whether a gathering meets yet, never who joined. Joining takes effect
at the next allocation of groups, and the card says so. A deployment may offer any number of
gatherings (seed 001), so the card shows one page of them (the use case decides how many and in
which order: the reader's own first) with More / Back buttons that replace it with the next or
previous page; Join and Leave carry the page they were pressed on, so the answer is that page again.
"""

from __future__ import annotations

from cards.common import CardJson, action_set, card, container, execute, facts, heading, text
from cards.protocol import DATA_PAGE, DATA_PROGRAMME, DATA_TOPIC, Verb
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


def _section(gathering: GatheringView, page: int) -> CardJson:
    rows = [
        ("For", f"anyone who shares this experience ({gathering.programme_name})"),
        ("Status", meets_text(gathering)),
        ("Next session", gathering.next_session),
        ("Where", gathering.place or "Online, in Teams"),
    ]
    data = {DATA_PROGRAMME: gathering.programme_id, DATA_TOPIC: gathering.topic, DATA_PAGE: page}
    if gathering.mine:
        leave = {DATA_PROGRAMME: gathering.programme_id, DATA_PAGE: page}
        button = execute("Leave", Verb.GATHERING_LEAVE, leave)
        items = [text(gathering.topic, bold=True), text("You joined this gathering.", color="good")]
    else:
        button = execute("Join", Verb.GATHERING_JOIN, data, style="positive")
        items = [text(gathering.topic, bold=True)]
    return container([*items, facts(rows), action_set([button])], style="emphasis")


def shown_text(view: GatheringsView) -> str:
    """Which gatherings this page shows: "Gatherings 11–20 of 57"."""
    return f"Gatherings {view.first}–{view.last} of {view.total}"


def _navigation(view: GatheringsView) -> list[CardJson]:
    buttons = []
    if view.page > 1:
        buttons.append(execute("Back", Verb.GATHERINGS_PAGE, {DATA_PAGE: view.page - 1}))
    if view.page < view.pages:
        buttons.append(
            execute("More gatherings", Verb.GATHERINGS_PAGE, {DATA_PAGE: view.page + 1}, style="positive")
        )
    return buttons


def build_gatherings_card(view: GatheringsView) -> CardJson:
    """A page of the open gatherings with Join / Leave buttons (and what the last press did)."""
    body: list[CardJson] = [heading("Gatherings you can join")]
    if view.notice:
        body.append(text(view.notice, color="good", bold=True))
    if not view.gatherings:
        body.append(text(NONE_OPEN))
        return card(body, fallback_text=NONE_OPEN)
    body.append(text(HOW_IT_WORKS, subtle=True))
    if view.pages > 1:
        body.append(text(shown_text(view), bold=True))
    if view.page > 1 and view.yours:
        # A join moves the gathering to page 1: say where it went.
        yours = "Your gathering is" if view.yours == 1 else "Your gatherings are"
        body.append(text(f"{yours} listed first, on page 1.", subtle=True))
    body.extend(_section(g, view.page) for g in view.gatherings)
    # The page's topics only: a fallback listing hundreds of them would be a message of its own.
    topics = ", ".join(g.topic for g in view.gatherings)
    shown = f" ({shown_text(view)})" if view.pages > 1 else ""
    return card(
        body,
        fallback_text=f"Gatherings you can join{shown}: {topics}. Open this message in Teams to join.",
        actions=_navigation(view),
        full_width=True,
    )
