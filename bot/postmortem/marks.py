"""The marking convention: notes that start with `trigger:`, `root cause:` … pre-fill the draft's sections.

    /incident note root cause: the 14:02 deploy dropped the orders index
    /incident note trigger: traffic shifted to revision checkout-00042
    /incident note resolution: rolled back to checkout-00041
    /incident note went well: / went wrong: / lucky: …
    /incident action prevent: add an index check to CI @alice

The marker is matched case-insensitively at the start of a note (or of a pinned message); the
text after the colon is what the draft shows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Section -> the markers that fill it (the first is the documented spelling).
SECTIONS: dict[str, tuple[str, ...]] = {
    "trigger": ("trigger",),
    "root_cause": ("root cause", "root-cause", "rootcause", "cause"),
    "resolution": ("resolution", "fix", "mitigation"),
    "went_well": ("went well",),
    "went_wrong": ("went wrong",),
    "lucky": ("lucky", "got lucky", "where we got lucky"),
}
MARKED_KINDS = frozenset({"note", "pinned"})
ACTION_TYPES = ("prevent", "mitigate", "detect", "process", "repair")

_BY_MARKER = {marker: section for section, markers in SECTIONS.items() for marker in markers}
_MARK = re.compile(
    r"^\s*("
    + "|".join(sorted((re.escape(m) for m in _BY_MARKER), key=len, reverse=True))
    + r")\s*:\s*(\S.*)$",
    re.IGNORECASE | re.DOTALL,
)
_ACTION = re.compile(r"^\s*(" + "|".join(ACTION_TYPES) + r")\s*:\s*(\S.*)$", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True)
class Marked:
    """A marked note: the section it fills and its text without the marker."""

    section: str
    text: str


def marked(kind: str, text: str) -> Marked | None:
    """The section a note fills, if it starts with a marker."""
    if kind not in MARKED_KINDS:
        return None
    match = _MARK.match(text)
    if match is None:
        return None
    return Marked(_BY_MARKER[match.group(1).lower()], match.group(2).strip())


def action_type(text: str) -> tuple[str | None, str]:
    """('prevent', 'add an index check') for 'prevent: add an index check'; (None, text) otherwise."""
    match = _ACTION.match(text)
    if match is None:
        return None, text
    return match.group(1).lower(), match.group(2).strip()
