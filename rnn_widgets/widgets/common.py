"""The frame every widget shares: title and lecture reference, explanation, equation, error banner,
controls, figures with a one-line summary each. Widgets subclass :class:`LessonWidget`."""
from __future__ import annotations

import functools
import html
import inspect
import math
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

import ipywidgets as W
import numpy as np
import torch
import traitlets
from threadpoolctl import ThreadpoolController

from ..core.device import resolve_device
from .a11y import Accessibility
from .numbers import fmt  # noqa: F401 - re-exported: one way to write a number a student reads (numbers.py)

#: Okabe–Ito: distinguishable with every common form of colour blindness; its orange darkened (#E69F00 →
#: #D27800) to 3:1 against the page, as lines and bars need (WCAG 1.4.11). It then nears the vermillion (5) for a
#: deuteranope, so the two never share a figure (tests/test_accessibility.py checks both).
PALETTE = ["#0072B2", "#D27800", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
GREY = "#888888"  # 3.5:1 against the page, as a line needs (WCAG 1.4.11; #999999 had 2.85:1)
#: A diverging, colour-blind-safe map for signed values (blue → white → orange-red).
DIVERGING = ["#2166ac", "#f7f7f7", "#b35806"]
SEQUENTIAL = ["#f7fbff", "#6baed6", "#08306b"]

#: Values beyond this are drawn at this value and flagged in words (contract 8).
DISPLAY_LIMIT = 1e30


def esc(text: object) -> str:
    """Escape text for an HTML widget: what a student types never becomes markup."""
    return html.escape(str(text), quote=True)


def finite(values, limit: float = DISPLAY_LIMIT) -> np.ndarray:
    """A float64 copy safe to draw: NaN → 0, ±inf and huge values clipped to ±limit."""
    a = np.asarray(values, dtype=np.float64)
    return np.clip(np.nan_to_num(a, nan=0.0, posinf=limit, neginf=-limit), -limit, limit)


@functools.cache
def _blas() -> ThreadpoolController:
    return ThreadpoolController()  # finds the loaded BLAS libraries once (inspecting them each time costs ms)


@contextmanager
def small_tensor_mode():
    """How the widgets run their tensors on the CPU; both settings are restored afterwards.

    - One thread: the tensors are small (16–256 units), so a second thread only adds synchronisation, and on
      a busy machine (a shared hub node, a 2-core laptop) waiting for it made a cold GradientFlow update at
      L = 300 take about 2 s instead of 70 ms (benchmarks/latency.py).
    - No oneDNN (mkldnn): it compiles and keeps a kernel for every new tensor shape, and the widgets make many
      (every length, every text): 20 MB more after 1,500 LSTMGates changes, at no gain in speed at these sizes
      (benchmarks/soak.py).
    - numpy's BLAS on one thread as well: a vector-matrix product of 128 units took 80 µs instead of 4 µs with
      OpenBLAS's threads waking beside torch's (TextMemory's step-by-step gradient, core/text_memory.py).
    """
    threads, onednn = torch.get_num_threads(), torch.backends.mkldnn.enabled
    if threads != 1:
        torch.set_num_threads(1)
    torch.backends.mkldnn.enabled = False
    blas = _blas().limit(limits=1, user_api="blas")
    try:
        yield
    finally:
        blas.restore_original_limits()
        torch.backends.mkldnn.enabled = onednn
        if threads != 1:
            torch.set_num_threads(threads)


def _widgets_in(value) -> Iterator[W.Widget]:
    if isinstance(value, W.Widget):
        yield value
    elif isinstance(value, (list, tuple, set, frozenset)):
        for v in value:
            yield from _widgets_in(v)
    elif isinstance(value, dict):
        for v in value.values():
            yield from _widgets_in(v)


def widget_tree(root: W.Widget, *extra) -> list[W.Widget]:
    """``root`` and every widget it reaches through its synced traits (children, figures, marks, scales, axes,
    tooltips, layouts, styles), and through ``extra`` (widgets, or lists and dicts of them): each once, root first."""
    found = {id(root): root}
    stack = [root, *(w for value in extra for w in _widgets_in(value))]
    for w in stack[1:]:
        found[id(w)] = w
    while stack:
        widget = stack.pop()
        for name in widget.keys:
            for child in _widgets_in(getattr(widget, name, None)):
                if id(child) not in found:
                    found[id(child)] = child
                    stack.append(child)
    return list(found.values())


def close_tree(root: W.Widget, *extra) -> None:
    """Close every widget below ``root`` (see :func:`widget_tree`); each one's own ``close`` stops its work."""
    for widget in widget_tree(root, *extra)[1:]:
        widget.close()


def _bad_value(name: str, value) -> str | None:
    """Why a value no knob accepts is wrong: NaN or ±inf for a number, a lone surrogate in text."""
    if isinstance(value, (float, np.floating)) and not math.isfinite(value):
        return f"{name} must be a finite number, got {value!r}."
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            return (f"{name} contains a lone surrogate (U+{ord(value[exc.start]):04X}) at position {exc.start}: "
                    "half of a UTF-16 pair, not a character. Delete it, or paste the text again.")
    return None


def _parts(value) -> Iterable:
    """What a value holds that is sent as JSON: list and tuple items, dict keys and values, the items of a text
    or object array (numbers in arrays go as binary buffers, where NaN is a gap in a line, not an error)."""
    if isinstance(value, dict):
        return [*value.keys(), *value.values()]
    if isinstance(value, (list, tuple, set, frozenset)):
        return value
    if isinstance(value, np.ndarray) and value.dtype.kind in "UO":
        return value.ravel().tolist()
    return ()


def _unsendable(name: str, value) -> str | None:
    """:func:`_bad_value` for ``value`` and everything in it, and for the synced state of each widget in it that
    no guard watches yet (a widget joining a tree is checked once, then guarded: see :func:`guard`)."""
    why = _bad_value(name, value)
    if why or not isinstance(value, (dict, list, tuple, set, frozenset, np.ndarray, W.Widget)):
        return why
    if isinstance(value, W.Widget):
        return None if _guarded(value) else _unsendable_state(value)
    for part in _parts(value):
        why = _unsendable(name, part)
        if why:
            return why
    return None


#: traits of ipywidgets' own machinery, not state: never guarded
_MACHINERY = frozenset({"comm", "keys", "log"})
#: the attribute that marks a guarded widget (it holds the traits the guard leaves to the widget's owner)
_GUARD = "_rnn_guard"


def _guarded(widget: W.Widget) -> bool:
    return _GUARD in widget.__dict__ or isinstance(widget, LessonWidget)  # a lesson widget guards its class


def _guarded_names(widget: W.Widget) -> list[str]:
    """The traits a guard watches: the synced ones (what the browser gets) and the public ones."""
    return [n for n, t in widget.traits().items()
            if n not in _MACHINERY and (t.metadata.get("sync") or not n.startswith("_"))]


def _unsendable_state(widget: W.Widget) -> str | None:
    """Guard ``widget``, then say what in its current state could not be sent, if anything."""
    guard(widget)
    for name in widget.keys:
        why = _unsendable(name, getattr(widget, name, None))
        if why:
            return f"{type(widget).__name__}: {why}"
    return None


def reported_by_owner(widget: W.Widget, *names: str) -> None:
    """Leave ``names`` out of ``widget``'s guard: its owner reports a bad value there in the widget (a banner,
    a message) instead of a TraitError, which from the browser would end in the kernel's log, unseen."""
    widget.__dict__.setdefault("_rnn_reported", set()).update(names)


def guard(widget: W.Widget) -> None:
    """From now on, ``widget`` refuses (TraitError) a value its state could not be sent with: NaN or ±inf, a
    lone surrogate (jupyter_client's JSON would fail, or send a byte that is not UTF-8), in the value or in
    anything it holds. Its own validators still run after this one. Guarding twice does nothing."""
    if _guarded(widget):
        return
    left = frozenset(widget.__dict__.get("_rnn_reported", ()))
    widget.__dict__[_GUARD] = left
    for name in _guarded_names(widget):
        if name not in left:
            widget._register_validator(_SendableCheck(widget._trait_validators.get(name)), [name])


class _SendableCheck:
    """A widget's validator for one trait: refuse what could not be sent, then run the trait's own validator."""

    def __init__(self, then):
        self.then = then

    def __call__(self, widget, proposal):
        name, value = proposal["trait"].name, proposal["value"]
        why = _unsendable(name, value)
        if why:
            raise traitlets.TraitError(f"{type(widget).__name__}: {why}")
        if self.then is None:
            return value
        try:
            return self.then(widget, proposal)
        except ArithmeticError as exc:  # FloatLogSlider's own check computes base ** 1e308
            raise traitlets.TraitError(f"{type(widget).__name__}: {name} = {value!r:.40} is out of range ({exc}).") \
                from exc


def guard_tree(root: W.Widget, *extra) -> None:
    """:func:`guard` every widget of :func:`widget_tree` (what the user can reach: ``w.controls[...]``,
    figures, marks, layouts, styles)."""
    for widget in widget_tree(root, *extra):
        guard(widget)


def _open_only(func: Callable, what: str = "") -> Callable:
    """A public method (or property getter) of a lesson widget that says so when the widget is closed (its
    models are gone)."""
    if getattr(func, "_open_only", False):
        return func
    what = what or f"call {func.__name__}()"

    @functools.wraps(func)
    def method(self, *args, **kwargs):
        self._check_open(what)
        return func(self, *args, **kwargs)

    method._open_only = True
    return method


#: attributes every ipywidgets Box has; close() drops the ones a lesson widget adds
def _box_attributes() -> frozenset[str]:
    box = W.Box()
    names = set(vars(box))
    box.layout.close()
    box.close()
    return frozenset(names | {"comm", "_property_lock", "_holding_sync", "_states_to_send", "_msg_callbacks",
                              "_display_callbacks", "_repr_mimebundle_"})


_BOX_ATTRIBUTES = _box_attributes()


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

    def __init_subclass__(cls, **kwargs):
        """Every trait, inherited ones included (``tooltip``, ``layout``…), refuses what could not be sent: NaN
        and ±inf (a bounded Float lets NaN through: every comparison with NaN is false), lone surrogates, and a
        text longer than its ``max_length`` tag; a trait with its own ``@validate`` keeps it. Each widget of the
        tree is guarded too once built (:func:`guard`), and the public methods say so when the widget is closed."""
        super().__init_subclass__(**kwargs)
        cls._validate_every_trait()
        for name, value in list(vars(cls).items()):
            if name.startswith("_") or name == "close":
                continue
            if inspect.isfunction(value):
                setattr(cls, name, _open_only(value))
            elif isinstance(value, property) and value.fget is not None:
                getter = _open_only(value.fget, f"read {name}")
                setattr(cls, name, property(getter, value.fset, value.fdel, value.__doc__))
        if "__init__" in vars(cls):
            cls.__init__ = LessonWidget._guarding(vars(cls)["__init__"])

    @classmethod
    def _validate_every_trait(cls) -> None:
        """Register :meth:`_well_formed` for every synced or public trait no ``@validate`` of the class handles."""
        handled = {n for klass in cls.__mro__ for v in vars(klass).values()
                   if isinstance(v, traitlets.ValidateHandler) for n in v.trait_names}
        # the class's own traits are not in class_traits() yet: traitlets sets them up after this hook
        traits = {**cls.class_traits(), **{n: t for n, t in vars(cls).items() if isinstance(t, traitlets.TraitType)}}
        names = [n for n, t in traits.items()
                 if n not in handled and n not in _MACHINERY and (t.metadata.get("sync") or not n.startswith("_"))]
        if names:
            attr = f"_well_formed_{cls.__name__}"
            handler = traitlets.validate(*names)(LessonWidget._well_formed)
            setattr(cls, attr, handler)
            handler.class_init(cls, attr)

    @staticmethod
    def _guarding(init: Callable) -> Callable:
        """A constructor that guards the whole tree once built (guarding twice does nothing)."""
        @functools.wraps(init)
        def __init__(self, *args, **kwargs):
            init(self, *args, **kwargs)
            guard_tree(self, *vars(self).values())
        return __init__

    def _well_formed(self, proposal):
        trait, value = proposal["trait"], proposal["value"]
        why = _unsendable(trait.name, value)
        longest = trait.metadata.get("max_length")
        if not why and longest is not None and isinstance(value, str) and len(value) > longest:
            # a text the widget never reads whole is refused where it comes in, whatever mode is on
            why = f"{trait.name} has {len(value):,} characters; this widget reads at most {longest:,}."
        if why:
            raise traitlets.TraitError(f"{type(self).__name__}: {why}")
        return value

    # ------------------------------------------------------------------ closed
    def _check_open(self, what: str) -> None:
        """RuntimeError once the widget is closed: close() dropped its models and figures, so nothing it could
        do now would be seen (and most of it would fail deep inside)."""
        if self.__dict__.get("_closed") and not self.__dict__.get("_closing"):
            name = type(self).__name__
            raise RuntimeError(f"{name} is closed: cannot {what} (close() released its models and figures). "
                               f"Make a new {name}() to go on.")

    def __setattr__(self, name, value):
        if not name.startswith("_") and name not in _MACHINERY and self.has_trait(name):
            self._check_open(f"set {name}")
        super().__setattr__(name, value)

    def set_trait(self, name, value):
        if not name.startswith("_") and name not in _MACHINERY:
            self._check_open(f"set {name}")
        super().set_trait(name, value)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._links: list[_ControlLink] = []
        self._closed = False
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
        """Link ``control.value`` to the trait of the same lecture name, both ways; a value the trait refuses
        becomes the banner's message (the trait and the control keep the last good value)."""
        control.value = getattr(self, trait)
        self._links.append(_ControlLink(self, trait, control))
        reported_by_owner(control, "value")  # the link says what is wrong in the banner
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
        if fig.layout.min_width:  # a diagram that keeps its width (charts.keep_width): it scrolls in a narrow window
            return W.VBox([fig, summary], layout=W.Layout(overflow="auto hidden"))
        return W.VBox([fig, summary])

    def _assemble(self, controls: Iterable[W.Widget], body: Iterable[W.Widget]) -> None:
        # h2: under a notebook's "# Title" (h1) and beside the tour's "## ..." sections (WCAG 1.3.1); its size,
        # the section's colour (the theme's secondary text) and the explanation's measure come from the package's
        # prose stylesheet (widgets/a11y.py, PROSE_CSS)
        header = W.HTML(
            f"<h2 class='rnn-title'>{esc(self.TITLE)} <span style='font-weight:normal'>({esc(self.SECTION)})</span>"
            f"</h2><div class='rnn-explanation'>{self.EXPLANATION}</div>"
        )
        self.a11y = Accessibility()  # names, figure descriptions, the live region (widgets/a11y.py)
        controls_box = W.Box(list(controls), layout=W.Layout(flex_flow="row wrap", grid_gap="4px 16px"))
        self.body = list(body)  # figures and what explains them (what a static page freezes)
        self.children = [header, self.a11y, self.equation, self.error, controls_box, *self.body]
        self.layout.max_width = "900px"

    @_open_only
    def prepare_static_frame(self) -> None:
        """Called before a static page freezes a frame (see rnn_widgets.export); most widgets need nothing."""

    # ------------------------------------------------------------------ closing
    def close(self) -> None:
        """Close the whole widget tree (controls, figures, marks, scales, axes, layouts), stop its background
        work and drop what the widget holds (models, results), so that nothing of it stays in memory even while
        a variable still names it (contract 13). Closing twice does nothing; anything else done to a closed
        widget (a public method, setting a trait) raises RuntimeError saying it is closed."""
        if self.__dict__.get("_closed", True):  # closed already, or the constructor failed before any child
            super().close()
            return
        self._closed = self._closing = True
        try:
            for link in self._links:
                link.unlink()
            self.unobserve_all()
            close_tree(self, *vars(self).values())  # a panel with a thread (live training) stops it in its close()
            super().close()
            self.children = ()
            for name in [n for n in vars(self) if n not in _BOX_ATTRIBUTES and n not in ("_closed", "_closing")]:
                value = getattr(self, name)
                setattr(self, name, type(value)() if isinstance(value, (dict, list, str)) else None)
        finally:
            self._closing = False

    @property
    def closed(self) -> bool:
        return self.__dict__.get("_closed", True)

    @property
    def error_message(self) -> str:
        """The banner's message in plain text ("" when there is none)."""
        return self.__dict__.get("_error_message", "")

    # ------------------------------------------------------------------ running
    @_open_only
    def show_error(self, message: str) -> None:
        """Show a message in the banner instead of a traceback; the figures keep their last state."""
        self._error_message = str(message)
        self.error.value = (
            # its own dark text on its light background, in a dark theme too
            "<div role='alert' style='background:#fdecea;color:#1a1a1a;border-left:4px solid #D55E00;"
            "padding:6px 10px'>"
            f"{esc(message)}</div>"
        )
        self.error.layout.display = ""

    @_open_only
    def clear_error(self) -> None:
        self._error_message = ""
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
        """Run an update; a ValueError (bad input) becomes the banner's message, never a traceback.

        An update asked for while one runs (a slider clamped by a new ``max`` moves its trait) waits until the
        running one has finished, then runs: never one update inside another, half-drawn marks in between.
        """
        if self.closed:
            return False
        pending = self.__dict__.setdefault("_pending", [])
        if self.__dict__.get("_updating"):
            if update not in pending:
                pending.append(update)
            return True
        self._updating = True
        try:
            with small_tensor_mode():
                update()
                while pending and not self.closed:
                    pending.pop(0)()
        except (ValueError, RuntimeError, ArithmeticError, traitlets.TraitError) as exc:
            # TraitError: a computed value a mark refuses (NaN in a scale's range); ArithmeticError: an overflow.
            # Neither happens with the shipped models and ranges; if one ever does, the student reads why.
            pending.clear()
            self.show_error(str(exc))
            return False
        finally:
            self._updating = False
        self.clear_error()
        return True


class _ControlLink:
    """``traitlets.link`` between a control's value and a widget's trait, except that a value the trait refuses
    (NaN, a lone surrogate, out of range) is shown in the widget's banner instead of raising
    ``TraitError: Broken link`` in the comm handler, and the control goes back to the trait's value."""

    def __init__(self, widget: LessonWidget, trait: str, control: W.Widget):
        self.widget, self.trait, self.control = widget, trait, control
        self.updating = False
        control.observe(self._to_trait, names="value")
        widget.observe(self._to_control, names=trait)

    def _to_trait(self, change) -> None:
        if self.updating:
            return
        self.updating = True
        try:
            setattr(self.widget, self.trait, change.new)
        except traitlets.TraitError as exc:
            self.control.value = getattr(self.widget, self.trait)
            self.widget.show_error(str(exc).removeprefix(f"{type(self.widget).__name__}: "))
        finally:
            self.updating = False

    def _to_control(self, change) -> None:
        if self.updating:
            return
        self.updating = True
        try:
            self.control.value = change.new
        finally:
            self.updating = False
        if self.control.value != change.new:  # the control clamped it (a slider's max): the trait follows
            self._to_trait(traitlets.Bunch(new=self.control.value))

    def unlink(self) -> None:
        self.control.unobserve(self._to_trait, names="value")
        self.widget.unobserve(self._to_control, names=self.trait)


def slider(description: str, lo, hi, step=1, *, float_=False, readout_format=None, **kw) -> W.Widget:
    """A slider that keeps the keyboard and continuous updates (every drag position recomputes)."""
    cls = W.FloatSlider if float_ else W.IntSlider
    extra = {"readout_format": readout_format} if readout_format else {}
    return cls(min=lo, max=hi, step=step, description=description, continuous_update=True, **extra, **kw)


def show_or_hide(control: W.Widget, applies: bool) -> None:
    """Show a control only where it applies (a greyed value beside the drawing would contradict it);
    it is disabled as well, so keyboard users and walkers skip it."""
    control.disabled = not applies
    control.layout.display = "" if applies else "none"
