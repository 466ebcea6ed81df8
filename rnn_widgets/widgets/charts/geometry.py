"""The geometry the diagrams place their texts by: a label's estimated width, and whether line segments cross
boxes or boxes overlap (px, y down)."""
from __future__ import annotations

import numpy as np

CHAR_PX = 7.5  # width of one character of a 12-px label, for thinning crowded rows
#: a 12-px label's characters that are wider or narrower than CHAR_PX, generous for every text the diagrams
#: draw (measured in Chromium: "W" 12.0 px, "a⁽¹²⁾ · W⁽¹²⁾" 55.8, "x[10]=-0.15" 60.7, "'t'" 7.9, "ŷ=-0.14" 40.7)
WIDE_CHARS, WIDE_PX = "MWmw@%✗", 12.5
NARROW_CHARS, NARROW_PX = "'\"il.,:;!|()[] ·-tfrj⁽⁾⁰¹²³⁴⁵⁶⁷⁸⁹ˡᵏᴸᵀ⁺⁻", 4.5
LABEL_HALF_HEIGHT = 7  # px: bqplot centres a Label's text on its anchor (dominant-baseline: central), 14 px tall
LABEL_PAD = 2  # px kept clear around a text's estimated box (a line's stroke, the font's own overhang)


def text_px(text: str) -> float:
    """Estimated width of a 12-px label's text in px (generous: Chromium drew "ℓ (y=6)" 34.9 px, "ŷ=9" 20 px)."""
    return sum(WIDE_PX if ch in WIDE_CHARS else NARROW_PX if ch in NARROW_CHARS else CHAR_PX for ch in text)



def _crossings(boxes: np.ndarray, segments: np.ndarray) -> np.ndarray:
    """How many of the line ``segments`` (x0, y0, x1, y1) pass through each box (left, top, right, bottom)."""
    return _crossing_matrix(boxes, segments).sum(axis=1)


def _crossing_matrix(boxes: np.ndarray, segments: np.ndarray) -> np.ndarray:
    """Whether each line segment (x0, y0, x1, y1) passes through each box (left, top, right, bottom), boxes ×
    segments: Liang–Barsky clipping, for every box and segment at once."""
    if not len(segments) or not len(boxes):
        return np.zeros((len(boxes), len(segments)), dtype=bool)
    x0, y0, x1, y1 = (segments[:, k][None, :] for k in range(4))
    left, top, right, bottom = (boxes[:, k][:, None] for k in range(4))
    dx, dy = x1 - x0, y1 - y0
    p = [-dx, dx, -dy, dy]
    q = [x0 - left, right - x0, y0 - top, bottom - y0]
    t0 = np.zeros((len(boxes), len(segments)))
    t1 = np.ones_like(t0)
    hit = np.ones_like(t0, dtype=bool)
    for pk, qk in zip(p, q):
        pk = np.broadcast_to(pk, t0.shape)
        qk = np.broadcast_to(qk, t0.shape)
        parallel = np.abs(pk) < 1e-12
        hit &= ~(parallel & (qk < 0))
        with np.errstate(divide="ignore", invalid="ignore"):
            r = np.where(parallel, 0.0, qk / np.where(parallel, 1.0, pk))
        t0 = np.where(~parallel & (pk < 0), np.maximum(t0, r), t0)
        t1 = np.where(~parallel & (pk > 0), np.minimum(t1, r), t1)
    return hit & (t0 <= t1)


def _overlaps(box: np.ndarray, others: np.ndarray) -> int:
    """How many of the boxes ``others`` (left, top, right, bottom) overlap ``box``."""
    if not len(others):
        return 0
    w = np.minimum(box[2], others[:, 2]) - np.maximum(box[0], others[:, 0])
    h = np.minimum(box[3], others[:, 3]) - np.maximum(box[1], others[:, 1])
    return int(((w > 0) & (h > 0)).sum())
