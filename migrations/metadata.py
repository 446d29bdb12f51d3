"""Every table Flare has: bot/'s models plus runbooks/' own (runbooks/ builds on bot/, never the reverse).

Alembic's env.py and the schema drift tests read the metadata from here.
"""

import runbooks.models  # noqa: F401  (importing registers the runbook tables on the shared metadata)
from bot.db.models import metadata

__all__ = ["metadata"]
