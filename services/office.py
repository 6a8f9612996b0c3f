"""Text for office documents (the DOCX summary, the XLSX export).

Their XML cannot hold the C0 control characters other than tab and line breaks, and both
python-docx and openpyxl raise on them: one such character pasted into a hazard's description
or a unit's name from a spreadsheet made the whole document a 500. The text is stored as the
client sent it; a document drops those characters, which print as nothing anyway.
"""

from __future__ import annotations

import re
from typing import Any

_NOT_IN_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def printable(value: Any) -> Any:
    """A string without the characters an office document cannot hold; anything else as is."""
    return _NOT_IN_XML.sub("", value) if isinstance(value, str) else value
