"""Adaptive Card 1.5 builders (pure: view in, card dict out) and card action parsing (`cards.actions`).

No botbuilder, no I/O: `teams_bot/` sends what these build and routes `parse_action`'s commands.
"""
