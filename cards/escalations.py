"""Escalation cards, for coordinators only: who raised which flags about whom, and its handling.

The view has no free-text field, so a check-out's or peer record's words cannot reach this card.
"""

from __future__ import annotations

from cards.common import CardJson, TextColor, card, execute, facts, heading, text
from cards.protocol import DATA_ID, Verb
from programme.answers import FLAG_LABELS, EscalationStatus
from service.views import EscalationView

SOURCE_LABELS = {"checkout": "Check-out", "peer": "Peer record"}
STATUS_LABELS = {
    EscalationStatus.OPEN: "Open",
    EscalationStatus.ACKNOWLEDGED: "Acknowledged",
    EscalationStatus.RESOLVED: "Resolved",
}
_STATUS_COLORS: dict[EscalationStatus, TextColor] = {
    EscalationStatus.OPEN: "attention",
    EscalationStatus.ACKNOWLEDGED: "warning",
    EscalationStatus.RESOLVED: "good",
}


def build_escalation_card(view: EscalationView) -> CardJson:
    """One escalation with acknowledge/resolve buttons while it is still open."""
    # Flags in their fixed order, whatever order the set iterates in.
    flags = [label for flag, label in FLAG_LABELS.items() if flag in view.flags]
    rows = [
        ("Raised by", view.raised_by),
        ("About", view.about),
        ("From", SOURCE_LABELS[view.source]),
        ("When", view.raised_when),
        ("Status", STATUS_LABELS[view.status]),
    ]
    if view.handled_by:
        rows.append(("Handled by", view.handled_by))
    body = [
        heading(f"Escalation: {view.about}"),
        text(STATUS_LABELS[view.status], color=_STATUS_COLORS[view.status], bold=True),
        text("Flags: " + ", ".join(flags)),
        facts(rows),
        text("Confidential: for the people circle only. Please don't forward.", subtle=True),
    ]
    data = {DATA_ID: view.id}
    actions = []
    if view.status is EscalationStatus.OPEN:
        actions.append(execute("Acknowledge", Verb.ESCALATION_ACK, data))
    if view.status is not EscalationStatus.RESOLVED:
        actions.append(execute("Resolve", Verb.ESCALATION_RESOLVE, data, style="positive"))
    return card(
        body,
        actions=actions,
        fallback_text=f"Escalation ({STATUS_LABELS[view.status].lower()}): open this message in Teams.",
    )
