"""`flare serve` imports with the collector off; settle_heap turns it back on for the server's life."""

from __future__ import annotations

import gc

from bot.observability.heap import YOUNG_THRESHOLD, settle_heap


def test_settle_heap_freezes_and_re_enables_the_collector() -> None:
    saved = gc.get_threshold()
    gc.disable()
    try:
        settle_heap()
        assert gc.isenabled()
        assert gc.get_threshold()[0] == YOUNG_THRESHOLD
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        gc.set_threshold(*saved)
        gc.enable()
