"""Cloud Run: a gateway Protocol returning plain dataclasses, and its run_v2 implementation."""
