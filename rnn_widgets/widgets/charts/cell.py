"""A recurrent cell drawn as colah draws it: the carried state along the top, gate boxes, pointwise circles and
arrowheads, every outside label placed clear of every line, shape and other label."""
from __future__ import annotations

import math
from dataclasses import dataclass

import bqplot as bq
import numpy as np

from .figure import FULL_WIDTH, _figure, keep_width
from .geometry import _crossings, _overlaps


@dataclass
class Part:
    """One piece of a drawn cell: a gate ``"box"`` (σ or tanh, with its live value inside), a pointwise
    ``"op"`` circle (⊙, +, tanh, 1−), or a ``"point"`` where lines meet, enter or leave (a state's end).

    ``text`` is written inside (lines split on "\\n"); ``label`` outside, where no edge runs and no other
    text or shape sits (``place`` forces one of :data:`CELL_PLACES`). ``key`` and ``value``: the trace
    quantity a number in the drawing shows, and that number (tests compare it with the trace).
    """

    x: float
    y: float
    kind: str = "point"
    text: str = ""
    label: str = ""
    color: str = "#ffffff"
    place: str = ""
    key: str = ""
    value: float | None = None


#: where a part's outside label can go: (alignment, side): the side is (x, y) in −1, 0, 1, y down
CELL_PLACES = {"above": ("middle", 0, -1), "below": ("middle", 0, 1), "right": ("start", 1, 0),
               "left": ("end", -1, 0), "above-right": ("start", 1, -1), "above-left": ("end", -1, -1),
               "below-right": ("start", 1, 1), "below-left": ("end", -1, 1)}
CELL_FONT = 13  # px, every text of the drawing but the ⊙ and + glyphs
GLYPH_FONT = 20  # px, a one-character operator glyph inside its circle
CELL_CHAR_PX = 7.2  # width of one character at CELL_FONT (generous: no two texts may touch)
CELL_LINE_PX = 15  # px between the lines of a box's text
OP_RADIUS = 17  # px: a pointwise-operation circle ("tanh" fits inside)


class CellDiagram:
    """A recurrent cell drawn in the style of colah's "Understanding LSTM Networks": the carried state as a
    straight line along the top, gate boxes fed by [h; x] from a line along the bottom, round ⊙ and + nodes,
    and an arrowhead where each line enters a box, a circle or a state leaving the cell.

    Positions are in data units; sizes (boxes fitted to their text, circles, gaps) in px, converted with
    the figure's size. ``draw`` replaces everything in place; the figure is never rebuilt. After a draw,
    ``label_boxes`` (text, (left, top, right, bottom) px) and ``segments`` (px) say where each outside label and
    edge went, and ``collisions`` counts the labels that could not be placed clear of every edge, shape
    and other label (0 in every state the widgets draw; the tests check it).
    """

    EDGE = "#555555"

    def __init__(self, title: str, height: int = 340, width: int = FULL_WIDTH):
        self.height, self.width = height, width
        self.sx = bq.LinearScale(min=0.0, max=10.0)
        self.sy = bq.LinearScale(min=0.0, max=4.0)
        scales = {"x": self.sx, "y": self.sy}
        self.edges = bq.Lines(x=np.zeros((1, 2)), y=np.zeros((1, 2)), scales=scales, colors=[self.EDGE],
                              stroke_width=1.8)
        self.arrows = bq.Scatter(x=[0.0], y=[0.0], rotation=[0.0], marker="triangle-up", default_size=56,
                                 colors=[self.EDGE], stroke=self.EDGE,
                                 scales={**scales, "rotation": bq.LinearScale(min=0.0, max=180.0)})
        self.boxes = bq.Lines(x=np.zeros((1, 5)), y=np.zeros((1, 5)), scales=scales, colors=["#333333"],
                              fill="inside", fill_colors=["#ffffff"], fill_opacities=[1.0], stroke_width=1.4)
        self.ops = bq.Scatter(x=[0.0], y=[0.0], scales=scales, marker="circle",
                              default_size=int(math.pi * OP_RADIUS ** 2), colors=["#ffffff"], stroke="#333333",
                              stroke_width=1.4)
        self.inner = bq.Label(x=[0.0], y=[0.0], text=[""], scales=scales, default_size=CELL_FONT, align="middle",
                              colors=["#111111"], font_weight="normal")
        self.glyphs = bq.Label(x=[0.0], y=[0.0], text=[""], scales=scales, default_size=GLYPH_FONT, align="middle",
                               colors=["#111111"], font_weight="normal")
        self.labels = {align: bq.Label(x=[0.0], y=[0.0], text=[""], scales=scales, default_size=CELL_FONT,
                                       align=align, colors=["#222222"], font_weight="normal")
                       for align in ("start", "middle", "end")}
        self.fig = _figure(title, [self.edges, self.arrows, self.boxes, self.ops, self.inner, self.glyphs,
                                   *self.labels.values()], [], height)
        self.fig.fig_margin = {"top": 36, "bottom": 8, "left": 10, "right": 10}
        self.fig.add_class("rnn-no-crossing")  # the browser's legibility audit checks that no line crosses a text
        keep_width(self.fig, width)
        self.parts: list[Part] = []
        self.label_boxes: list[tuple[str, tuple[float, float, float, float]]] = []
        self.segments = np.zeros((0, 4))
        self.collisions = 0

    # sizes -------------------------------------------------------------------------------------
    def _px_per_unit(self) -> tuple[float, float]:
        m = self.fig.fig_margin
        return ((self.width - m["left"] - m["right"]) / (self.sx.max - self.sx.min),
                (self.height - m["top"] - m["bottom"]) / (self.sy.max - self.sy.min))

    @staticmethod
    def half_size(part: Part) -> tuple[float, float]:
        """Half the width and height of a part's shape, in px."""
        if part.kind == "box":
            lines = part.text.split("\n")
            return (max(len(t) for t in lines) * CELL_CHAR_PX + 16) / 2, (len(lines) * CELL_LINE_PX + 10) / 2
        if part.kind == "op":
            return OP_RADIUS, OP_RADIUS
        return 0.0, 0.0

    def _to_px(self, x, y):
        px, py = self._px_per_unit()
        return (np.asarray(x, dtype=float) - self.sx.min) * px, (self.sy.max - np.asarray(y, dtype=float)) * py

    @staticmethod
    def _label_box(place: str, cx: float, cy: float, hw: float, hh: float, width: float):
        """The label's box (left, top, right, bottom) and its anchor (bqplot centres a Label's text
        vertically on its y: ``dominant-baseline: central``), px, y down."""
        align, sx, sy = CELL_PLACES[place]
        gap = 4.0
        if sy < 0:
            bottom = cy - hh - gap
            top = bottom - 14
        elif sy > 0:
            top = cy + hh + gap
            bottom = top + 14
        else:
            top, bottom = cy - 7, cy + 7
        ax = cx + sx * (hw + gap if sy == 0 or hw > 0 else 2.0)
        left = {"start": ax, "middle": ax - width / 2, "end": ax - width}[align]
        return np.array([left, top, left + width, bottom]), (ax, (top + bottom) / 2)

    # drawing -------------------------------------------------------------------------------------
    def draw(self, parts: list[Part], edges: list[tuple[int, int]], x_range: tuple[float, float],
             y_range: tuple[float, float]) -> None:
        """Draw ``parts`` joined by straight ``edges`` (pairs of part indices, from → to) on the given data
        ranges. An arrowhead marks each edge that ends at a box, a circle or a labelled point."""
        with self.sx.hold_sync(), self.sy.hold_sync():
            self.sx.min, self.sx.max = map(float, x_range)
            self.sy.min, self.sy.max = map(float, y_range)
        px, py = self._px_per_unit()
        self.parts = list(parts)
        xs, ys = self._to_px([p.x for p in parts], [p.y for p in parts])
        halves = np.array([self.half_size(p) for p in parts])
        # each edge runs from the border of its source's shape to the border of its target's: never under a text
        clipped = []
        for a, b in edges:
            dx, dy = xs[b] - xs[a], ys[b] - ys[a]
            length = math.hypot(dx, dy) or 1.0
            ux, uy = dx / length, dy / length
            ra, rb = self._reach(parts[a], halves[a], ux, uy), self._reach(parts[b], halves[b], ux, uy)
            clipped.append([xs[a] + ux * ra, ys[a] + uy * ra, xs[b] - ux * rb, ys[b] - uy * rb])
        self.segments = np.array(clipped) if edges else np.zeros((0, 4))
        shapes = np.stack([xs - halves[:, 0], ys - halves[:, 1], xs + halves[:, 0], ys + halves[:, 1]], 1)
        shapes = shapes[[p.kind != "point" for p in parts]]
        area = np.array([0.0, 0.0, self.width - 20, self.height - 44])
        # outside labels, one by one, each where it collides with nothing drawn or placed before it
        placed, chosen, self.collisions = [], [], 0
        for i, part in enumerate(parts):
            if not part.label:
                continue
            width = len(part.label) * CELL_CHAR_PX
            order = [part.place] if part.place else list(CELL_PLACES)
            best = None
            for place in order:
                box, anchor = self._label_box(place, xs[i], ys[i], *halves[i], width)
                cost = int(_crossings(box[None], self.segments)[0]) + _overlaps(box, shapes) \
                    + _overlaps(box, np.array(placed).reshape(-1, 4)) \
                    + int(box[0] < area[0] or box[1] < area[1] or box[2] > area[2] or box[3] > area[3])
                if best is None or cost < best[0]:
                    best = (cost, place, box, anchor)
                if cost == 0:
                    break
            cost, place, box, anchor = best
            self.collisions += cost
            placed.append(box)
            chosen.append((part.label, CELL_PLACES[place][0], anchor, box))
        self.label_boxes = [(text, tuple(float(v) for v in box)) for text, _, _, box in chosen]

        def data(point):
            return self.sx.min + point[0] / px, self.sy.max - point[1] / py

        boxes = [(p, h) for p, h in zip(parts, halves) if p.kind == "box"]
        ops = [p for p in parts if p.kind == "op"]
        inner = []  # (x, y, text, is a glyph): each line of a box, each circle's text, centred
        for p in parts:
            lines = p.text.split("\n") if p.text and p.kind != "point" else []
            for k, line in enumerate(lines):
                dy = (k - (len(lines) - 1) / 2) * CELL_LINE_PX  # px below the centre (text centred on y)
                inner.append((p.x, p.y - dy / py, line, p.kind == "op" and len(line) == 1))
        with self.edges.hold_sync(), self.arrows.hold_sync(), self.boxes.hold_sync(), self.ops.hold_sync():
            seg = self.segments if edges else np.zeros((1, 4))
            self.edges.x = self.sx.min + seg[:, [0, 2]] / px
            self.edges.y = self.sy.max - seg[:, [1, 3]] / py
            self._draw_arrows(parts, edges, xs, ys, halves, px, py)
            if boxes:
                self.boxes.x = np.array([[p.x - w / px, p.x + w / px, p.x + w / px, p.x - w / px, p.x - w / px]
                                         for p, (w, _) in boxes])
                self.boxes.y = np.array([[p.y + h / py, p.y + h / py, p.y - h / py, p.y - h / py, p.y + h / py]
                                         for p, (_, h) in boxes])
                self.boxes.fill_colors = [p.color for p, _ in boxes]
                self.boxes.fill_opacities = [1.0] * len(boxes)
            self.boxes.visible = bool(boxes)
            self.ops.x, self.ops.y = (np.array([p.x for p in ops]), np.array([p.y for p in ops])) if ops else \
                (np.zeros(1), np.zeros(1))
            self.ops.colors = [p.color for p in ops] or ["#ffffff"]
            self.ops.visible = bool(ops)
        for mark, texts in ((self.inner, [t for t in inner if not t[3]]), (self.glyphs, [t for t in inner if t[3]])):
            with mark.hold_sync():
                mark.x = np.array([t[0] for t in texts]) if texts else np.zeros(1)
                mark.y = np.array([t[1] for t in texts]) if texts else np.zeros(1)
                mark.text = [t[2] for t in texts] or [""]
        for align, mark in self.labels.items():
            mine = [(text, data(anchor)) for text, a, anchor, _ in chosen if a == align]
            with mark.hold_sync():
                mark.x = np.array([p[0] for _, p in mine]) if mine else np.zeros(1)
                mark.y = np.array([p[1] for _, p in mine]) if mine else np.zeros(1)
                mark.text = [t for t, _ in mine] or [""]

    @staticmethod
    def _reach(part: Part, half, ux: float, uy: float) -> float:
        """px from a part's centre to its shape's border along the direction (ux, uy): 0 for a point."""
        if part.kind == "op":
            return float(OP_RADIUS)
        if part.kind == "box":
            hw, hh = half
            return float(min(hw / abs(ux) if abs(ux) > 1e-9 else math.inf, hh / abs(uy) if abs(uy) > 1e-9 else math.inf))
        return 0.0

    def _draw_arrows(self, parts, edges, xs, ys, halves, px, py) -> None:
        ax, ay, rot = [], [], []
        for a, b in edges:
            target = parts[b]
            if target.kind == "point" and not target.label:
                continue  # lines meeting at a junction: no arrowhead
            dx, dy = xs[b] - xs[a], ys[b] - ys[a]  # px, y down
            length = math.hypot(dx, dy) or 1.0
            ux, uy = dx / length, dy / length
            back = self._reach(target, halves[b], ux, uy) + 5.0  # the triangle's centre, its tip just touching the target
            ax.append(parts[b].x - ux * back / px)
            ay.append(parts[b].y + uy * back / py)
            rot.append(math.degrees(math.atan2(ux, -uy)) % 360)  # 0°: up, 90°: right
        with self.arrows.hold_sync():
            self.arrows.x = np.array(ax) if ax else np.zeros(1)
            self.arrows.y = np.array(ay) if ay else np.zeros(1)
            self.arrows.rotation = np.array(rot) if rot else np.zeros(1)
            self.arrows.visible = bool(ax)
