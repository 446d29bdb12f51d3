"""Drawing delivery charts as SVG with pygal (tooltips are SVG <title>s, so they work without JavaScript)."""

from __future__ import annotations

import threading
from xml.etree import ElementTree

import pygal
from pygal.style import Style

from bot.console.delivery_view import Chart

_STYLE = Style(
    background="transparent",
    plot_background="transparent",
    foreground="#8a94a6",
    foreground_strong="#8a94a6",
    foreground_subtle="rgba(138,148,166,0.25)",
    opacity=".85",
    opacity_hover="1",
    colors=("#3b82f6", "#ef4444", "#f59e0b", "#10b981", "#8b5cf6"),
    font_family="system-ui, sans-serif",
    label_font_size=11,
    major_label_font_size=11,
    legend_font_size=11,
    title_font_size=13,
    tooltip_font_size=11,
)
# Severity charts use the console's severity colours (P0 red ... P3 slate).
_SEVERITY_STYLE = Style(**{**_STYLE.to_dict(), "colors": ("#dc2626", "#ea580c", "#ca8a04", "#64748b")})
_SVG = "{http://www.w3.org/2000/svg}"


def _value(value: float | None, unit: str) -> str:
    if value is None:
        return "no data"
    shown = f"{value:g}"
    return f"{shown}%" if unit == "%" else f"{shown} {unit}"


_NONCE_SLOT = "flare-nonce-slot"
# Charts drawn lately, by their data (oldest first); drawing runs in worker threads, hence the lock.
_KEEP = 256
_DRAWN: dict[str, str] = {}
_LOCK = threading.Lock()


def svg(chart: Chart, *, nonce: str) -> str:
    """The chart as an inline <svg> element: its <style> carries `nonce`, its inline <script> is dropped.

    Drawing is pure, so a chart drawn before (same data) is reused; only the nonce differs per page.
    """
    key = repr(chart)
    with _LOCK:
        drawn = _DRAWN.get(key)
    if drawn is None:
        drawn = _draw(chart, nonce=_NONCE_SLOT)
        with _LOCK:
            if len(_DRAWN) >= _KEEP:
                _DRAWN.pop(next(iter(_DRAWN)))
            _DRAWN[key] = drawn
    return drawn.replace(_NONCE_SLOT, nonce)


def _draw(chart: Chart, *, nonce: str) -> str:
    if chart.stacked:
        kind = pygal.StackedBar
    elif chart.unit in ("%", "hours"):
        kind = pygal.Line
    else:
        kind = pygal.Bar
    drawing = kind(
        style=_SEVERITY_STYLE if chart.stacked else _STYLE,
        width=640,
        height=260,
        show_legend=len(chart.series) > 1,
        legend_at_bottom=True,
        legend_at_bottom_columns=len(chart.series),
        x_label_rotation=0,
        show_minor_x_labels=len(chart.weeks) <= 13,
        x_labels_major_every=max(1, len(chart.weeks) // 8),
        margin=8,
        js=[],
        disable_xml_declaration=True,
        title=None,
        allow_interruptions=True,
        include_x_axis=True,
        print_zeroes=False,
        show_dots=True,
        dots_size=3,
    )
    drawing.x_labels = chart.weeks
    for series in chart.series:
        drawing.add(
            series.name,
            [
                {"value": v, "tooltip": f"{series.name}, week of {week}: {_value(v, chart.unit)}"}
                for week, v in zip(chart.weeks, series.values, strict=True)
            ],
        )
    tree = drawing.render_tree()
    for parent in tree.iter():
        for child in list(parent):
            if not isinstance(child.tag, str):  # comments
                continue
            tag = child.tag.removeprefix(_SVG)
            if tag == "script" or "tooltip" in child.get("class", "").split():
                # pygal's script-driven tooltip (its config script and hidden overlay): the <title>s
                # below give native tooltips, so a strict CSP needs neither.
                parent.remove(child)
            elif tag == "style":
                child.set("nonce", nonce)
            elif child.get("style") is not None:
                del child.attrib["style"]
    heading = tree.find(f"{_SVG}title")
    if heading is None:
        heading = tree.find("title")
    if heading is not None:
        heading.text = chart.title  # pygal names an untitled chart "Pygal"
    tree.set("role", "img")
    tree.set("aria-label", chart.title)
    ElementTree.register_namespace("", "http://www.w3.org/2000/svg")
    ElementTree.register_namespace("xlink", "http://www.w3.org/1999/xlink")
    return ElementTree.tostring(tree, encoding="unicode")
