"""Thin entry points: parse the request, call bot/, answer."""
