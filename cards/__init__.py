"""Adaptive Card 1.5 builders (pure: service view in, card dict out) and card action parsing.

`cards.actions` parses card payloads into service commands. No botbuilder, no I/O: the Teams
surface renders use-case results with these and routes `parse_action`'s commands.
"""
