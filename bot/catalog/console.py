"""Who may use the web console: the catalog's `console` section.

```yaml
console:
  allowed_user_groups: [S0SRE0001]
```
Without the section (or with an empty list) every member of the workspace may sign in.
"""

from __future__ import annotations

from bot.catalog.base import StrictModel, UserGroupId


class ConsoleAccess(StrictModel):
    """Slack user groups whose members may sign in to the console (empty: the whole workspace)."""

    allowed_user_groups: list[UserGroupId] = []
