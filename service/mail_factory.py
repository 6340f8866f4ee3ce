"""Builds the configured Mailer; each backend's library is imported only when it is chosen."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from mailers.base import Mailer
from service.config import MailConfig


def build_mailer(config: MailConfig, clock: Callable[[], datetime]) -> Mailer:
    """The backend named by `[mail] backend` (pickup files by default, under `pickup_dir`)."""
    if config.backend == "pickup":
        from mailers.pickup import PickupMailer

        return PickupMailer(Path(config.pickup_dir), clock=clock)
    raise NotImplementedError(config.backend)
