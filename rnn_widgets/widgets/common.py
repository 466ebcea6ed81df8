"""The frame every widget shares: title and lecture reference, explanation, equation, error banner,
controls, figures with a one-line summary each. Widgets subclass :class:`LessonWidget`."""
from __future__ import annotations

import html
import math
from collections.abc import Callable, Iterable
from contextlib import contextmanager

import ipywidgets as W
import numpy as np
import traitlets

from ..core.device import resolve_device

#: Okabe–Ito: distinguishable with every common form of colour blindness.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
GREY = "#999999"
#: A diverging, colour-blind-safe map for signed values (blue → white → orange-red).
DIVERGING = ["#2166ac", "#f7f7f7", "#b35806"]
SEQUENTIAL = ["#f7fbff", "#6baed6", "#08306b"]

#: Values beyond this are drawn at this value and flagged in words (contract 8).
DISPLAY_LIMIT = 1e30


def esc(text: object) -> str:
    """Escape text for an HTML widget: what a student types never becomes markup."""
    return html.escape(str(text), quote=True)


def fmt(x: float, digits: int = 3) -> str:
    """A short, readable number: 0.123, 4.5e-07, 1.2e+31."""
    if not math.isfinite(x):
        return "∞" if x > 0 else ("−∞" if x < 0 else "NaN")
    if x == 0:
        return "0"
    if 1e-3 <= abs(x) < 1e4:
        return f"{x:.{digits}g}"
    return f"{x:.{max(1, digits - 1)}e}"


def finite(values, limit: float = DISPLAY_LIMIT) -> np.ndarray:
    """A float64 copy safe to draw: NaN → 0, ±inf and huge values clipped to ±limit."""
    a = np.asarray(values, dtype=np.float64)
    return np.clip(np.nan_to_num(a, nan=0.0, posinf=limit, neginf=-limit), -limit, limit)


class LessonWidget(W.VBox):
    """A lecture idea as a widget: state in traits, one update function, marks changed in place.

    Subclasses set ``TITLE``, ``SECTION`` and ``EXPLANATION``, build their controls and figures,
    then call :meth:`_assemble`. ``controls`` maps each trait name to the control linked to it,
    ``figures`` maps a name to its bqplot Figure, ``summaries`` to the line describing it in words.
    """

    TITLE = ""
    SECTION = ""
    EXPLANATION = ""

    device = traitlets.Unicode(None, allow_none=True, help="'cpu', 'cuda' or None for the global set_device").tag(
        config=True)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.controls: dict[str, W.Widget] = {}
        self.figures: dict = {}
        self.summaries: dict[str, W.HTML] = {}
        self.error = W.HTML("", layout=W.Layout(display="none"))
        self.equation = W.HTML("")
        self.add_class("rnn-widget")

    @traitlets.validate("device")
    def _valid_device(self, proposal):
        if proposal["value"] is not None:
            try:
                resolve_device(proposal["value"])
            except (ValueError, RuntimeError, TypeError) as exc:
                raise traitlets.TraitError(str(exc)) from exc
        return proposal["value"]

    @property
    def torch_device(self):
        return resolve_device(self.device)

    # ------------------------------------------------------------------ building
    def _control(self, trait: str, control: W.Widget) -> W.Widget:
        """Link ``control.value`` to the trait of the same lecture name, both ways."""
        control.value = getattr(self, trait)
        traitlets.link((control, "value"), (self, trait))
        control.style.description_width = "initial"
        if isinstance(control, W.ToggleButtons):
            control.style.button_width = "auto"
        self.controls[trait] = control
        return control

    def _figure(self, name: str, fig, half: bool = False) -> W.VBox:
        """A figure with its one-line summary underneath; ``half`` for two side by side."""
        if half:
            fig.layout.width = "440px"
        summary = W.HTML("", layout=W.Layout(margin="0 0 6px 8px", max_width="440px" if half else "880px"))
        summary.add_class("rnn-summary")
        self.figures[name] = fig
        self.summaries[name] = summary
        return W.VBox([fig, summary])

    def _assemble(self, controls: Iterable[W.Widget], body: Iterable[W.Widget]) -> None:
        header = W.HTML(
            f"<h3 style='margin:4px 0'>{esc(self.TITLE)} <span style='font-weight:normal;color:#555'>"
            f"({esc(self.SECTION)})</span></h3><div style='max-width:860px'>{self.EXPLANATION}</div>"
        )
        controls_box = W.Box(list(controls), layout=W.Layout(flex_flow="row wrap", grid_gap="4px 16px"))
        self.body = list(body)  # figures and what explains them (what a static page freezes)
        self.children = [header, self.equation, self.error, controls_box, *self.body]
        self.layout.max_width = "900px"

    def prepare_static_frame(self) -> None:
        """Called before a static page freezes a frame (see rnn_widgets.export); most widgets need nothing."""

    # ------------------------------------------------------------------ running
    def show_error(self, message: str) -> None:
        """Show a message in the banner instead of a traceback; the figures keep their last state."""
        self.error.value = (
            "<div role='alert' style='background:#fdecea;border-left:4px solid #D55E00;padding:6px 10px'>"
            f"{esc(message)}</div>"
        )
        self.error.layout.display = ""

    def clear_error(self) -> None:
        self.error.value = ""
        self.error.layout.display = "none"

    @contextmanager
    def _holding(self, *marks):
        """Send each mark's changes to the browser as one message."""
        stack = [m.hold_sync() for m in marks]
        for s in stack:
            s.__enter__()
        try:
            yield
        finally:
            for s in reversed(stack):
                s.__exit__(None, None, None)

    def _run(self, update: Callable[[], None]) -> bool:
        """Run an update; a ValueError (bad input) becomes the banner's message, never a traceback."""
        try:
            update()
        except (ValueError, RuntimeError) as exc:
            self.show_error(str(exc))
            return False
        self.clear_error()
        return True


def slider(description: str, lo, hi, step=1, *, float_=False, readout_format=None, **kw) -> W.Widget:
    """A slider that keeps the keyboard and continuous updates (every drag position recomputes)."""
    cls = W.FloatSlider if float_ else W.IntSlider
    extra = {"readout_format": readout_format} if readout_format else {}
    return cls(min=lo, max=hi, step=step, description=description, continuous_update=True, **extra, **kw)
