"""How much of a request's own values the portal sends back to whoever sent them.

A search refilled, a form filled in again, a redirect to the page asked for, a message naming
what was not understood: each echoes a value of the request. These bounds keep every echo
small, so that nobody makes the portal answer with headers or pages of any size.
"""

from __future__ import annotations

#: The longest path (with its query) taken from a request and sent back, in a redirect or a
#: page (a search refilled, the links to a search's other pages): longer than any of the
#: portal's own addresses, short enough that nobody makes it answer with headers or pages of
#: any size.
MAX_ECHOED_PATH = 2000


#: The longest value typed in a form field, or named in a message, that is shown back as it
#: was typed: longer than any one-line field the portal accepts.
MAX_SHOWN_BACK = 1000


def shown_back(value: object, limit: int = MAX_SHOWN_BACK) -> str:
    """``value`` as it is shown back to whoever sent it (a form filled in again, a message
    naming it): cut to ``limit`` characters, the cut marked with ``...`` (plain ASCII, which
    every message may carry, an OAuth ``error_description`` included)."""
    text = str(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
