"""The user's areas of the app: the header's links and the start page's tiles, from one list.

Why one list: the start page had its own copy of the header's links, and it fell behind as the app grew. An
organizer's start page offered enterprises, chains and trades but not competitions or certificates. A judge's
offered a tile that said "your competitions will appear here" and linked nowhere. Each domain declares its areas,
with the roles that see them and their position, in its ``Domain`` (``app.domains``); they show in both places.
An area without roles is public: every visitor sees it, signed in or not (the live boards).
"""

from __future__ import annotations

from app.domains import Area, all_areas


def _with_urls(areas) -> list[tuple[Area, str]]:
    from app import url_for_optional

    found = []
    for area in areas:
        url = url_for_optional(area.endpoint)
        if url is not None:  # an area whose page this build does not have is left out
            found.append((area, url))
    return found


def areas_for(user) -> list[tuple[Area, str]]:
    """The areas of ``user``'s roles, in the header's order, with their addresses."""
    if user is None or not user.is_authenticated:
        return []
    return _with_urls(a for a in all_areas() if a.roles is not None and user.has_role(*a.roles))


def public_areas() -> list[tuple[Area, str]]:
    """The areas every visitor sees, with their addresses."""
    return _with_urls(a for a in all_areas() if a.roles is None)
