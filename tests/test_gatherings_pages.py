"""The gatherings card at any number of gatherings (seed 001): pages of PER_PAGE through the real bot,
the reader's own first, More / Back, Join and Leave answering with the page they were pressed on,
forged page numbers refused, and every page far under Teams' 80 KB per message."""

from __future__ import annotations

import json
import tomllib
from datetime import UTC, datetime
from typing import Any

import pytest

from cards.protocol import Verb
from programme.programmes import parse_programmes
from repositories.gatherings import TopicJoinsRepository
from service.commands import GatheringsPageCommand
from service.gatherings import PER_PAGE
from service.services import Services
from store import Store
from tests.bot_driver import BotDriver, TeamsSender, snapshot
from tests.card_reading import actions, card_text, find_action, heading
from tests.clocks import Clock
from tests.worlds import NAMES, Row, actor, build_services, email

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
ROWS = (
    Row("ann", hours=37.5, aad_object_id="aaaaaaaa-0000-4000-8000-000000000002"),
    Row("bo", hours=30, aad_object_id="aaaaaaaa-0000-4000-8000-000000000003"),
)
ANN = TeamsSender("29:ann", ROWS[0].aad_object_id, NAMES["ann"])
TEAMS_LIMIT = 80 * 1024
LONGEST = 200  # the longest text settings take for a topic, a name or a place
BAD_PAGE = "The card's page is missing or not valid."


def topic(programme: str, number: int, length: int = 0) -> str:
    """A topic's name, padded to `length` characters (its number first, so it stays unique)."""
    return f"{programme} topic {number:03d} ".ljust(length, "x").strip()


def settings(first: int, second: int, length: int = 0) -> str:
    """Two programmes: opt-in gatherings with `first` topics, and another with `second` topics (a
    staff-facilitated programme when 0). `length` pads every topic, name and place to that length."""
    blocks = []
    for programme, count in (("alpha", first), ("beta", second)):
        name = f"Co-reflection {programme}".ljust(length, "y")
        block = f'[[programmes]]\nid = "{programme}"\nname = "{name}"\n'
        if count:
            topics = ", ".join(f'"{topic(programme, n, length)}"' for n in range(1, count + 1))
            block += (
                f'formation = "topic"\nmembership = "opt-in"\ntopics = [{topics}]\nweekday = "Wednesday"\n'
            )
            if length:
                block += f'venue = "{"Room 4, ".ljust(length, "z")}"\n'
        blocks.append(block)
    return "\n".join(blocks)


def build(store: Store, first: int, second: int, length: int = 0) -> tuple[Services, BotDriver]:
    programmes = parse_programmes(tomllib.loads(settings(first, second, length)))
    services = build_services(
        store, Clock(NOW), ROWS, programmes[0].settings, allocate=False, programmes=programmes
    )
    return services, BotDriver(services)


def sections(card: dict[str, Any]) -> list[str]:
    """The gatherings the card shows, in order (each section's bold first line)."""
    return [
        item["items"][0]["text"]
        for item in card["body"]
        if item.get("type") == "Container" and item["items"][0].get("weight") == "bolder"
    ]


def more(bot: BotDriver, card: dict[str, Any]) -> dict[str, Any]:
    (button,) = [a for a in actions(card, Verb.GATHERINGS_PAGE) if a["title"] == "More gatherings"]
    return bot.press(ANN, Verb.GATHERINGS_PAGE, button["data"])


def every_page(bot: BotDriver) -> list[dict[str, Any]]:
    """The `gatherings` card and every page after it, by its More gatherings button."""
    (card,) = bot.say(ANN, "gatherings")
    assert isinstance(card, dict) and heading(card) == "Gatherings you can join"
    pages = [card]
    while any(a["title"] == "More gatherings" for a in actions(pages[-1], Verb.GATHERINGS_PAGE)):
        pages.append(more(bot, pages[-1]))
    return pages


@pytest.mark.parametrize(
    ("first", "second"),
    [(1, 0), (5, 5), (6, 5), (250, 250)],
    ids=["1 topic", "10 topics", "11 topics", "500 topics"],
)
def test_every_page_is_far_under_80_kb_and_together_they_show_every_gathering_once(
    store: Store, first: int, second: int
) -> None:
    # The longest topics, programme names and places settings allow: the worst case of a page.
    _, bot = build(store, first, second, LONGEST)
    pages = every_page(bot)
    total = first + second
    assert len(pages) == -(-total // PER_PAGE)
    for card in pages:
        assert len(json.dumps(card)) < TEAMS_LIMIT
        assert len(sections(card)) <= PER_PAGE
        # The fallback names the page's gatherings only, never all of them.
        assert len(card["fallbackText"]) < (LONGEST + 2) * PER_PAGE + 200
    shown = [name for card in pages for name in sections(card)]
    offered = [topic("alpha", n, LONGEST) for n in range(1, first + 1)]
    offered += [topic("beta", n, LONGEST) for n in range(1, second + 1)]
    assert shown == offered  # settings order, each once
    if total > PER_PAGE:
        assert f"Gatherings 1–{PER_PAGE} of {total}" in card_text(pages[0])
        assert f"Gatherings {len(pages) * PER_PAGE - PER_PAGE + 1}–{total} of {total}" in card_text(pages[-1])
    else:
        assert "Gatherings 1–" not in card_text(pages[0])  # one page needs no count
        assert not actions(pages[0], Verb.GATHERINGS_PAGE)


def test_more_and_back_page_through_and_the_count_says_which(store: Store) -> None:
    _, bot = build(store, 13, 12)
    first, second, third = every_page(bot)
    assert "Gatherings 11–20 of 25" in card_text(second)
    assert sections(second) == [topic("alpha", n) for n in (11, 12, 13)] + [
        topic("beta", n) for n in range(1, 8)
    ]
    assert "Gatherings 21–25 of 25" in card_text(third) and len(sections(third)) == 5
    assert [a["title"] for a in actions(first, Verb.GATHERINGS_PAGE)] == ["More gatherings"]
    assert [a["title"] for a in actions(second, Verb.GATHERINGS_PAGE)] == ["Back", "More gatherings"]
    assert [a["title"] for a in actions(third, Verb.GATHERINGS_PAGE)] == ["Back"]
    back = find_action(third, Verb.GATHERINGS_PAGE, page=2)
    assert bot.press(ANN, Verb.GATHERINGS_PAGE, back["data"]) == second


def test_joining_and_leaving_on_page_3_answers_with_page_3_and_lists_yours_first(store: Store) -> None:
    services, bot = build(store, 13, 12)
    joins = TopicJoinsRepository(store)
    *_, third = every_page(bot)
    wanted = topic("beta", 10)
    join = find_action(third, Verb.GATHERING_JOIN, programme="beta", topic=wanted)
    assert join["data"]["page"] == 3

    after = bot.press(ANN, Verb.GATHERING_JOIN, join["data"])
    assert f"You joined {wanted}. You'll be placed in its group" in card_text(after)
    assert "Gatherings 21–25 of 25" in card_text(after)
    assert "Your gathering is listed first, on page 1." in card_text(after)
    assert wanted not in sections(after)  # it moved to page 1; the rest keep their order
    assert sections(after) == [topic("beta", n) for n in (7, 8, 9, 11, 12)]
    assert joins.topic_of("beta", email("ann")) == wanted

    # Page 1 starts with it, with its Leave button; Leave pressed there answers with page 1.
    page_one = services.gatherings.page(actor(services, "ann"), GatheringsPageCommand(1))
    assert page_one.gatherings[0].topic == wanted and page_one.gatherings[0].mine
    assert page_one.yours == 1 and page_one.first == 1 and page_one.total == 25

    # Leave carries the page too: pressed on page 3's card (as a stale card would), page 3 again.
    leave = bot.press(ANN, Verb.GATHERING_LEAVE, {"programme": "beta", "page": 3})
    assert f"You left {wanted}." in card_text(leave) and "Gatherings 21–25 of 25" in card_text(leave)
    assert "listed first" not in card_text(leave)
    assert sections(leave) == [topic("beta", n) for n in range(8, 13)]
    assert joins.topic_of("beta", email("ann")) is None


def test_the_card_shows_nobody_elses_choice_on_any_page(store: Store) -> None:
    services, bot = build(store, 13, 12)
    bo = TeamsSender("29:bo", ROWS[1].aad_object_id, NAMES["bo"])
    bot.press(bo, Verb.GATHERING_JOIN, {"programme": "beta", "topic": topic("beta", 10), "page": 3})
    for card in every_page(bot):
        assert email("bo") not in json.dumps(card) and NAMES["bo"] not in card_text(card)
        assert "listed first" not in card_text(card) and "You joined this gathering." not in card_text(card)
    assert "meets once 3 have joined (1 so far)" in card_text(every_page(bot)[2])


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"page": 0},
        {"page": -2},
        {"page": "2"},
        {"page": 2.5},
        {"page": True},
        {"page": None},
        {"page": [2]},
        {"page": {"page": 2}},
    ],
    ids=repr,
)
def test_a_forged_page_gets_a_problem_card_and_changes_nothing(store: Store, data: dict[str, Any]) -> None:
    _, bot = build(store, 13, 12)
    bot.say(ANN, "gatherings")
    before = snapshot(store)
    for verb, payload in (
        (Verb.GATHERINGS_PAGE, data),
        (Verb.GATHERING_JOIN, {"programme": "alpha", "topic": topic("alpha", 1), **data}),
        (Verb.GATHERING_LEAVE, {"programme": "alpha", **data}),
    ):
        if verb != Verb.GATHERINGS_PAGE and not data:
            continue  # Join / Leave of a card from before pages: page 1 (the next test)
        card = bot.press(ANN, verb, payload)
        assert BAD_PAGE in card_text(card), card_text(card)
        assert not actions(card, Verb.GATHERING_JOIN)
    assert snapshot(store) == before


def test_a_join_from_a_card_without_pages_answers_with_page_1(store: Store) -> None:
    _, bot = build(store, 13, 12)
    card = bot.press(ANN, Verb.GATHERING_JOIN, {"programme": "beta", "topic": topic("beta", 12)})
    assert "Gatherings 1–10 of 25" in card_text(card)
    assert sections(card)[0] == topic("beta", 12) and "listed first" not in card_text(card)


def test_a_page_past_the_end_shows_the_last_one(store: Store) -> None:
    # A card from before a coordinator removed topics: its More points past the end.
    services, bot = build(store, 13, 12)
    card = bot.press(ANN, Verb.GATHERINGS_PAGE, {"page": 99})
    assert "Gatherings 21–25 of 25" in card_text(card)
    view = services.gatherings.page(actor(services, "ann"), GatheringsPageCommand(10**12))
    assert (view.page, view.pages, view.first, view.last) == (3, 3, 21, 25)
