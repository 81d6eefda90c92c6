"""Appeal rules (申诉): when an appeal may be filed, and how a decision moves it.

* **Window.** An appeal about one module may be filed for ``minutes`` after the window opens. The window
  opens when the module ends (``Module.ends_at``, DOMAIN: "within 2 hours after the module ends",
  configurable per competition); when no end time was recorded for the module it opens when the results
  are first published. Both ends are inclusive: at exactly ``opens_at + minutes`` an appeal is still on
  time, a microsecond later it is late.
* **Decision.** ``open`` → ``upheld`` or ``rejected``, once (a state table, like the lifecycle's).

Pure: datetimes in, codes out; no flask, no database.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from .common import DomainRuleError


class AppealState(StrEnum):
    OPEN = "open"
    UPHELD = "upheld"
    REJECTED = "rejected"


class AppealEvent(StrEnum):
    UPHOLD = "uphold"
    REJECT = "reject"


APPEAL_TRANSITIONS: Mapping[tuple[AppealState, AppealEvent], AppealState] = {
    (AppealState.OPEN, AppealEvent.UPHOLD): AppealState.UPHELD,
    (AppealState.OPEN, AppealEvent.REJECT): AppealState.REJECTED,
}


def appeal_transition(state: AppealState | str, event: AppealEvent | str) -> AppealState:
    """The appeal's next state, or ``DomainRuleError("transition_not_allowed", reason)``
    (``unknown_event``, or ``already_decided`` for an appeal that is no longer open)."""
    try:
        state, event = AppealState(state), AppealEvent(event)
    except ValueError:
        raise DomainRuleError("transition_not_allowed", "unknown_event", state=str(state), event=str(event)) from None
    to = APPEAL_TRANSITIONS.get((state, event))
    if to is None:
        raise DomainRuleError("transition_not_allowed", "already_decided", state=str(state), event=str(event))
    return to


class WindowAnchor(StrEnum):
    MODULE_END = "module_end"
    PUBLICATION = "publication"


class WindowState(StrEnum):
    NOT_OPEN = "not_open"  # the module has not ended (or nothing is published yet)
    OPEN = "open"
    CLOSED = "closed"


@dataclass(frozen=True)
class AppealWindow:
    opens_at: datetime | None
    closes_at: datetime | None
    anchor: WindowAnchor | None

    def state(self, now: datetime) -> WindowState:
        if self.opens_at is None or self.closes_at is None or now < self.opens_at:
            return WindowState.NOT_OPEN
        return WindowState.OPEN if now <= self.closes_at else WindowState.CLOSED


def appeal_window(module_ends_at: datetime | None, published_at: datetime | None, minutes: int) -> AppealWindow:
    """The window of one module: from its end (or, without a recorded end, the first publication) for
    ``minutes`` minutes. Neither known: a window that has not opened."""
    if minutes < 0:
        raise ValueError("minutes must not be negative")
    if module_ends_at is not None:
        start, anchor = module_ends_at, WindowAnchor.MODULE_END
    elif published_at is not None:
        start, anchor = published_at, WindowAnchor.PUBLICATION
    else:
        return AppealWindow(None, None, None)
    return AppealWindow(start, start + timedelta(minutes=minutes), anchor)


__all__ = [
    "APPEAL_TRANSITIONS",
    "AppealEvent",
    "AppealState",
    "AppealWindow",
    "WindowAnchor",
    "WindowState",
    "appeal_transition",
    "appeal_window",
]
