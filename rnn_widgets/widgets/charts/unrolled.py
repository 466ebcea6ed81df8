"""Unrolled-network diagrams: boxes (x[l], a^(l), outputs, losses) joined by arrows, each box's text placed where
no line runs through it."""
from __future__ import annotations

import math
from dataclasses import dataclass

import bqplot as bq
import numpy as np

from ..common import GREY, PALETTE
from .figure import FULL_WIDTH, _figure, keep_width
from .geometry import LABEL_HALF_HEIGHT, LABEL_PAD, _crossing_matrix, _overlaps, text_px


def _ramp(stops: list[str], n: int) -> list[str]:
    """``n`` colours evenly along the piecewise-linear path through ``stops`` (hex)."""
    rgb = np.array([[int(s[i:i + 2], 16) for i in (1, 3, 5)] for s in stops], dtype=float)
    t = np.linspace(0, len(stops) - 1, n)
    lo = np.minimum(t.astype(int), len(stops) - 2)
    mix = rgb[lo] + (rgb[lo + 1] - rgb[lo]) * (t - lo)[:, None]
    return ["#" + "".join(f"{round(c):02x}" for c in row) for row in mix]


#: one distinct colour per layer of the §1.2 network (viridis-like: ordered and colour-blind safe)
LAYER_COLORS = _ramp(["#440154", "#3b528b", "#21908d", "#5dc863", "#fde725"], 50)
GREY_INDEX, WHITE_INDEX, FIRST_LAYER_INDEX = 8, 9, 10


def layer_color(l: int) -> int:
    """Colour index of layer l (1-based) of the untied network: no two layers share one."""
    return FIRST_LAYER_INDEX + (l - 1) % len(LAYER_COLORS)


@dataclass
class Node:
    """A box in an unrolled-network diagram: position, text, colour index (into the palette + grey)."""

    x: float
    y: float
    text: str
    color: int = 0
    below: bool = False  # prefer the text under the box (inputs) instead of over it
    place: str = ""  # force the text's place ("above", "below", "right", "left"); "" lets the diagram choose


#: where a box's text can go: (Label alignment, x offset, y offset) in units of half a box
LABEL_PLACES = {"above": ("middle", 0.0, -1.0), "below": ("middle", 0.0, 1.0),
                "right": ("start", 1.0, -0.9), "left": ("end", -1.0, -0.9),
                # over or under the box but ending (starting) at its right (left) side: a wide text by a figure's edge
                "above-end": ("end", 0.7, -1.0), "above-start": ("start", -0.7, -1.0),
                "below-end": ("end", 0.7, 1.0), "below-start": ("start", -0.7, 1.0)}


def _label_dy(dy: float, gap: float) -> float:
    """px from a box's centre down to its text's centre when the text is put at a place with y offset ``dy``:
    above and below, the text's near edge just ``gap`` away; beside the box, level with its upper part."""
    return dy * (gap + LABEL_HALF_HEIGHT) if abs(dy) == 1.0 else dy * gap



class UnrolledDiagram:
    """Boxes (x[l], a^(l), outputs, losses) joined by directed edges, drawn with bqplot marks.

    Time runs left to right; inputs sit at y = 0, states at y = 1, outputs at y = 2, the loss at y = 3.
    ``draw`` replaces the nodes and edges in place; the figure is never rebuilt. Each box's text goes
    where no edge leaves the box (above, below, or beside it), and a row of texts too long for the
    spacing of its boxes shows every 2nd, 3rd… of them (the highlighted box's always). A text with no
    place clear of every edge, box and other text is left out, never drawn under a line: ``left_out``
    lists them and ``left_out_note`` says so for the title (the figure has the class ``rnn-no-crossing``,
    so the browser's legibility audit checks that no line runs through a text).
    """

    COLORS = PALETTE + [GREY, "#ffffff"] + LAYER_COLORS

    def __init__(self, title: str, height: int = 250, width: int = FULL_WIDTH):
        self.height, self.width = height, width
        # no padding: bqplot would otherwise shrink the range by each Scatter's half size + 1 px and by
        # padding_y (measured in Chromium: rows 53.7 px apart, not the 66 px the placement of texts assumed)
        self.sx = bq.LinearScale(min=-1.0, max=8.0, allow_padding=False)
        self.sy = bq.LinearScale(min=-0.6, max=3.6, allow_padding=False)
        self.color_scale = bq.OrdinalColorScale(domain=list(range(len(self.COLORS))), colors=self.COLORS)
        scales = {"x": self.sx, "y": self.sy}
        self.edges = bq.Lines(x=np.zeros((1, 2)), y=np.zeros((1, 2)), scales=scales, colors=["#555555"],
                              stroke_width=1.6)
        # arrowheads: triangles turned to each edge's direction (0° points up, 90° right)
        self.arrows = bq.Scatter(x=[0.0], y=[0.0], rotation=[0.0], marker="triangle-up", default_size=50,
                                 colors=["#555555"], stroke="#555555",
                                 scales={**scales, "rotation": bq.LinearScale(min=0.0, max=180.0)})
        self.boxes = bq.Scatter(x=[0.0], y=[0.0], color=[0], scales={**scales, "color": self.color_scale},
                                marker="square", default_size=900, stroke="#333333", opacities=[0.9])
        self.highlight = bq.Scatter(x=[0.0], y=[0.0], scales=scales, marker="square", default_size=1400,
                                    colors=["#D55E00"], fill=False, stroke="#D55E00", stroke_width=3,
                                    visible=False)
        self.labels = {place: bq.Label(x=[0.0], y=[0.0], text=[""], scales=scales, default_size=12, align=align,
                                       colors=["#222222"], font_weight="normal")
                       for place, (align, _, _) in LABEL_PLACES.items()}
        self.fig = _figure(title, [self.edges, self.highlight, self.boxes, self.arrows, *self.labels.values()], [],
                           height)
        self.fig.fig_margin = {"top": 36, "bottom": 10, "left": 10, "right": 10}
        self.fig.add_class("rnn-no-crossing")  # the browser's legibility audit checks that no line crosses a text
        keep_width(self.fig, width)
        self.left_out: list[str] = []  # after a draw: the texts that had no place clear of every edge and box

    def _px_per_unit(self) -> tuple[float, float]:
        m = self.fig.fig_margin
        return ((self.width - m["left"] - m["right"]) / (self.sx.max - self.sx.min),
                (self.height - m["top"] - m["bottom"]) / (self.sy.max - self.sy.min))

    def left_out_note(self) -> str:
        """What the last draw left out, short enough for the figure's title: "" when every text was drawn."""
        n = len(self.left_out)
        return f"  ({n} label{'s' if n > 1 else ''} not drawn: no room)" if n else ""

    @staticmethod
    def _label_boxes(place: str, xs: np.ndarray, ys: np.ndarray, widths: np.ndarray, gap: float) -> np.ndarray:
        """Each text's box (left, top, right, bottom) in px (y down) when put at ``place``."""
        align, dx, dy = LABEL_PLACES[place]
        x = xs + dx * gap
        mid = ys + _label_dy(dy, gap)  # the text's centre (bqplot centres it on its y)
        left = {"middle": x - widths / 2, "start": x, "end": x - widths}[align]
        h = LABEL_HALF_HEIGHT + LABEL_PAD
        return np.stack([left - LABEL_PAD, mid - h, left + widths + LABEL_PAD, mid + h], axis=1)

    @classmethod
    def _places(cls, nodes: list[Node], edges: list[tuple[int, int]], px: float, py: float, gap: float,
                half: float, area: tuple[float, float, float, float] | None = None, first: list[int] = (),
                beside: bool = True) -> tuple[list[str], list[tuple[int, float, float]]]:
        """For each node, the first place (its preferred side, the other side, upper right, upper left)
        where its text crosses no edge, no box and no text placed before it. Failing that, the first place
        above or below where the only edges it crosses are the node's own, running straight up or down
        from it: the text then sits on that edge, which is cut around it (like a label on a wire). Failing
        both, "": the text is left out, never drawn under a line.

        The nodes ``first`` are placed before the others (which follow in their order); ``beside=False``
        leaves out the places right and left of a box (a crowded row where they take each other's room).
        ``area`` (left, top, right, bottom, px at the scale of x·px, −y·py): where a text may go (the figure).
        Arrowheads count as boxes. Returns the places and the cuts: (edge index, top, bottom), the px (y down)
        where an edge stops."""
        xs = np.array([n.x for n in nodes]) * px
        ys = -np.array([n.y for n in nodes]) * py
        widths = np.array([text_px(n.text) for n in nodes])
        seg = np.array([[xs[a], ys[a], xs[b], ys[b]] for a, b in edges]) if edges else np.zeros((0, 4))
        squares = np.stack([xs - half, ys - half, xs + half, ys + half], axis=1)
        tips = cls._arrow_centres(xs, ys, edges, half)  # arrowheads: about 11 px triangles
        tips = np.stack([tips[:, 0] - 6, tips[:, 1] - 6, tips[:, 0] + 6, tips[:, 1] + 6], axis=1)
        boxes = {place: cls._label_boxes(place, xs, ys, widths, gap) for place in LABEL_PLACES}
        hits = {place: _crossing_matrix(b, seg) for place, b in boxes.items()}
        # the edges a node's text may sit on: its own, vertical ones
        vertical = np.array([abs(xs[a] - xs[b]) < 1e-9 for a, b in edges], dtype=bool)
        placed = np.zeros((0, 4))
        places, cuts = [""] * len(nodes), []
        first = [i for i in first if 0 <= i < len(nodes)]
        for i in dict.fromkeys([*first, *range(len(nodes))]):  # ``first`` placed first, then the rest in order
            node = nodes[i]
            sides = ["below", "above"] if node.below else ["above", "below"]
            order = sides + ["right", "left"] * beside + [f"{side}-{end}" for side in sides for end in ("end", "start")]
            if not node.text:
                places[i] = node.place or order[0]
                continue
            order = [node.place] if node.place else order
            others = np.vstack([np.delete(squares, i, 0), tips])
            best = ""
            own = vertical & np.array([i in e for e in edges], dtype=bool)
            for allowed in (np.zeros(len(edges), dtype=bool), own):  # clear of every edge, else on its own
                for place in order:
                    box = boxes[place][i]
                    if place not in ("above", "below") and allowed.any():
                        continue  # beside the box, a text is never put on an edge
                    if (hits[place][i] & ~allowed).any() or _overlaps(box, placed) or _overlaps(box, others):
                        continue
                    if area is not None and (box[0] < area[0] or box[1] < area[1] or box[2] > area[2]
                                             or box[3] > area[3]):
                        continue
                    best = place
                    cuts += [(int(j), float(box[1]), float(box[3])) for j in np.flatnonzero(hits[place][i])]
                    break
                if best:
                    break
            places[i] = best
            if best:
                placed = np.vstack([placed, boxes[best][i]])
        return places, cuts

    @staticmethod
    def _thin(texts: list[str], xs: np.ndarray, px: float, keep: set[int]) -> list[str]:
        """Blank every 2nd, 3rd… text of a row where neighbouring texts are wider than their boxes' spacing."""
        if len(texts) < 2:
            return texts
        order = np.argsort(xs)
        widths = np.array([text_px(texts[i]) for i in order])
        spacing = np.maximum(np.diff(xs[order]) * px, 1e-9)
        needed = (widths[1:] + widths[:-1]) / 2 + 8
        every = max(1, math.ceil(float(np.max(needed / spacing))))
        if every == 1:
            return texts
        # counted from the highlighted text (its neighbours the same 2nd, 3rd… away), else from the first
        phase = min((k for k, i in enumerate(order) if int(i) in keep), default=0) % every
        shown = {int(order[i]) for i in range(phase, len(order), every)} | keep
        return [t if i in shown else "" for i, t in enumerate(texts)]

    def draw(self, nodes: list[Node], edges: list[tuple[int, int]], highlight: list[int] | None = None,
             size: int = 900) -> None:
        """Show ``nodes`` and straight directed edges between them (pairs of node indices, from → to)."""
        xs = np.array([n.x for n in nodes], dtype=float)
        ys = np.array([n.y for n in nodes], dtype=float)
        half = math.sqrt(size) / 2  # px: a square marker of area ``size``
        with self.sx.hold_sync(), self.sy.hold_sync():
            self.sx.min, self.sx.max = float(xs.min()) - 0.8, float(xs.max()) + 0.8
            self.sy.min, self.sy.max = float(ys.min()) - 0.7, float(ys.max()) + 0.6
        px, py = self._px_per_unit()
        gap = half * (1.5 ** 0.5) + 4  # px from a box's centre to its text: clear of the highlight ring
        # a row too crowded for its texts keeps every 2nd, 3rd… (the highlighted box's always); the texts
        # left are then placed one by one where they collide with nothing
        texts = self._thin_rows(nodes, xs, px, set(highlight or []))
        shown = [Node(n.x, n.y, t, n.color, n.below, n.place) for n, t in zip(nodes, texts)]
        area = (self.sx.min * px - 8, -self.sy.max * py, self.sx.max * px + 8, -self.sy.min * py)
        # the highlighted box's text first; a text left out gets its place first in the next try
        # (at most 6), and failing that the texts go nowhere beside their boxes (where they take each other's room)
        tries = []
        for beside in (True, False):
            first = list(highlight or [])
            for _ in range(6):
                places, cuts = self._places(shown, edges, px, py, gap, half, area, first, beside)
                missing = [i for i, p in enumerate(places) if texts[i] and not p]
                tries.append((len(missing), places, cuts))
                if not missing or set(missing) <= set(first):
                    break
                first = list(dict.fromkeys([*first, *missing]))
            if not missing:
                break
        _, places, cuts = min(tries, key=lambda t: t[0])
        # a text with no clear place is left out (never drawn under a line); the widget says so
        self.left_out = [texts[i] for i, p in enumerate(places) if texts[i] and not p]
        texts = [t if p else "" for t, p in zip(texts, places)]
        with self.boxes.hold_sync(), self.edges.hold_sync(), self.highlight.hold_sync(), self.arrows.hold_sync():
            pieces = self._cut(xs, ys, edges, cuts, py)
            self.edges.x = np.array([[x0, x1] for x0, _, x1, _ in pieces]) if pieces else np.zeros((1, 2))
            self.edges.y = np.array([[y0, y1] for _, y0, _, y1 in pieces]) if pieces else np.zeros((1, 2))
            self._draw_arrows(xs, ys, edges, px, py, half)
            self.boxes.x, self.boxes.y = xs, ys
            self.boxes.color = np.array([n.color for n in nodes])
            self.boxes.default_size = size
            if highlight:
                self.highlight.x, self.highlight.y = xs[highlight], ys[highlight]
                self.highlight.default_size = int(size * 1.5)
            self.highlight.visible = bool(highlight)
        for place, mark in self.labels.items():
            idx = [i for i, p in enumerate(places) if p == place and texts[i]]
            _, dx, dy = LABEL_PLACES[place]
            with mark.hold_sync():
                mark.x, mark.y = (xs[idx], ys[idx]) if idx else (np.zeros(1), np.zeros(1))
                mark.text = [texts[i] for i in idx] if idx else [""]
                mark.x_offset = round(dx * gap)
                mark.y_offset = round(_label_dy(dy, gap))

    @staticmethod
    def _cut(xs, ys, edges, cuts, py) -> list[tuple[float, float, float, float]]:
        """The edges as drawn (x0, y0, x1, y1 in data units): a vertical edge a text sits on stops at the text's
        box and goes on beyond it (``cuts``: edge index, top, bottom in px, y down)."""
        pieces = []
        for j, (a, b) in enumerate(edges):
            mine = [(-bottom / py, -top / py) for k, top, bottom in cuts if k == j]  # px (y down) → data (y up)
            if not mine:
                pieces.append((xs[a], ys[a], xs[b], ys[b]))
                continue
            # only a vertical edge is ever cut: the data y where its drawn pieces start and end, bottom to top
            spans = sorted([*sorted((ys[a], ys[b])), *(v for cut in mine for v in cut)])
            pieces += [(xs[a], y0, xs[b], y1) for y0, y1 in zip(spans[::2], spans[1::2]) if y1 > y0]
        return pieces

    @classmethod
    def _thin_rows(cls, nodes: list[Node], xs: np.ndarray, px: float, keep: set[int]) -> list[str]:
        """Every node's text, with crowded rows (same height, same preferred side) thinned."""
        texts = [n.text for n in nodes]
        rows: dict = {}
        for i, n in enumerate(nodes):
            if n.text:
                rows.setdefault((n.y, n.below), []).append(i)
        for members in rows.values():
            thinned = cls._thin([texts[i] for i in members], xs[members], px,
                                {k for k, i in enumerate(members) if i in keep})
            for i, t in zip(members, thinned):
                texts[i] = t
        return texts

    @staticmethod
    def _arrow_centres(xs: np.ndarray, ys: np.ndarray, edges, half: float) -> np.ndarray:
        """Each edge's arrowhead centre, (x, y) in px: just outside its target box (xs, ys in px)."""
        out = np.zeros((len(edges), 2))
        for k, (a, b) in enumerate(edges):
            dx, dy = xs[b] - xs[a], ys[b] - ys[a]
            back = (half + 5) / (math.hypot(dx, dy) or 1.0)
            out[k] = xs[b] - dx * back, ys[b] - dy * back
        return out

    def _draw_arrows(self, xs, ys, edges, px, py, half) -> None:
        if not edges:
            self.arrows.visible = False
            return
        ax, ay, rot = [], [], []
        for a, b in edges:
            dx, dy = (xs[b] - xs[a]) * px, (ys[b] - ys[a]) * py
            length = math.hypot(dx, dy) or 1.0
            back = (half + 5) / length  # the tip just outside the target box
            ax.append(xs[b] - (xs[b] - xs[a]) * back)
            ay.append(ys[b] - (ys[b] - ys[a]) * back)
            rot.append(math.degrees(math.atan2(dx, dy)) % 360)
        self.arrows.x, self.arrows.y, self.arrows.rotation = np.array(ax), np.array(ay), np.array(rot)
        self.arrows.visible = True
