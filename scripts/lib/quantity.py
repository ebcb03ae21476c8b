"""Formats measured values for people: durations in ns/us/ms/s, counts with k/M/G, bytes."""

TO_NS = {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}


def si(value, unit=""):
    if value is None:
        return "-"
    for factor, prefix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= factor:
            return f"{value / factor:.3g}{prefix}{unit}"
    return f"{value:.3g}{unit}"


def duration_ns(ns):
    if ns is None:
        return "-"
    for factor, unit in ((1e9, "s"), (1e6, "ms"), (1e3, "us")):
        if ns >= factor:
            return f"{ns / factor:.3g} {unit}"
    return f"{ns:.3g} ns"


def ratio(value):
    """A ratio with three significant figures, whole above 100: 0.224x, 1.04x, 12.5x, 120x."""
    if value is None:
        return "-"
    return f"{value:.3g}x" if value < 100 else f"{value:.0f}x"
