"""§1.5: vanishing and exploding gradients, clipping, and why skip connections and the LSTM help."""
from __future__ import annotations

import ctypes
import ctypes.util
import functools
import math
import time

import bqplot as bq
import ipywidgets as W
import numpy as np
import torch
import traitlets

from ..core.flow import (
    INPUT_SIZE,
    MODELS,
    clip_by_value_cosine,
    clip_summary,
    decay_rate,
    flow_model,
    gradient_norms,
    scaled_weight_grads,
    slope_rms,
    step_jacobian_norms,
)
from ..core.jacobians import _with_recurrent_scale
from .charts.axes import fit_y
from .charts.builders import bar_chart, line_chart, timeline_map
from .charts.legend import show_in_legend
from .charts.maps import fill_grid
from .common import DISPLAY_LIMIT, PALETTE, LessonWidget, esc, slider
from .numbers import fmt, power_of_ten

MAP_SCALES = np.round(np.linspace(0.1, 2.0, 20), 3)


def _find_malloc_trim():
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "").malloc_trim  # glibc only
    except (OSError, AttributeError, TypeError):
        return None


_malloc_trim = _find_malloc_trim()
TRIM_INTERVAL_S = 1.0
_last_trim = [0.0]


def release_freed_memory() -> None:
    """Hand the heap pages that the update freed back to the system (glibc's malloc_trim), at most once a second.

    An update at L = 300 allocates and frees tens of MB of tensors (21 scales × 301 steps, each step's
    values, the backward's); glibc keeps freed pages for reuse, and their pattern fragments its heap, so
    without this the kernel's resident memory crept up by 22 MB in 1,500 changes of this widget alone and by
    93 MB in benchmarks/soak.py's 10,000 changes over all widgets, though malloc_trim gave back all but ~1 MB
    of it (nothing live grew). With it the soak ended at +5, −4 and +15 MB in three runs: the trim is
    process-wide, so it also hands back what the other widgets freed, but between trims glibc keeps up to
    twice its largest recent freed block (its dynamic trim threshold), and RSS swings by 30–40 MB within a
    second of changes. Only fixed thresholds (MALLOC_TRIM_THRESHOLD_ / MALLOC_MMAP_THRESHOLD_ in the kernel's
    environment) would end that. A student on Binder has 1–2 GB. The call costs ~1 ms (10 ms at most seen);
    off glibc nothing happens.
    """
    now = time.monotonic()
    if _malloc_trim is None or now - _last_trim[0] < TRIM_INTERVAL_S:
        return
    _last_trim[0] = now
    _malloc_trim(0)
LOW = 1e-30  # below this a gradient counts as vanished and is drawn at this value
LIMIT_TEXT, LOW_TEXT = power_of_ten(round(math.log10(DISPLAY_LIMIT))), power_of_ten(round(math.log10(LOW)))  # 10³⁰, 10⁻³⁰
VANISHED = 1e-2  # the clipping summary calls the gradient vanishing where step 0 gets under this share of step L's


@functools.lru_cache(maxsize=32)
def _model(kind: str, nonlinearity: str, seed: int, device: str):
    return flow_model(kind, nonlinearity, seed=seed, device=device)


@functools.lru_cache(maxsize=64)
def flow_rows(kind: str, nonlinearity: str, seq_len: int, scale: float, seed: int, device: str, with_map: bool):
    """‖dℓ/da^(k)‖ for the chosen scale (row 0) and, ``with_map``, every scale of the map (rows 1…) in the
    same batched pass; and dℓ/d(parameters) at the chosen scale."""
    scales = np.concatenate([[scale], MAP_SCALES]) if with_map else np.array([scale])
    with torch.enable_grad():
        flow = gradient_norms(_model(kind, nonlinearity, seed, device), seq_len, scales, seed)
    return flow.norms.cpu().numpy(), [g.cpu() for g in flow.weight_grads]


def display_norms(norms: np.ndarray) -> np.ndarray:
    """Norms safe for a log axis: inf/NaN and huge values at 1e30, tiny ones at 1e-30."""
    return np.clip(np.nan_to_num(norms, nan=DISPLAY_LIMIT, posinf=DISPLAY_LIMIT), LOW, DISPLAY_LIMIT)


@functools.lru_cache(maxsize=64)
def step_jacobian_norm(kind: str, nonlinearity: str, seq_len: int, scale: float, seed: int, device: str) -> float:
    """The geometric mean of ‖da^(k+1)/da^(k)‖₂ over the steps (see core.flow.step_jacobian_norms)."""
    norms = step_jacobian_norms(_model(kind, nonlinearity, seed, device), seq_len, scale, seed)
    return float(torch.log(norms.clamp_min(1e-300)).mean().exp())


@functools.lru_cache(maxsize=64)
def rms_slope_factor(nonlinearity: str, seq_len: int, scale: float, seed: int, device: str) -> float:
    """The plain RNN's scale × RMS σ′ (see core.flow.slope_rms)."""
    return slope_rms(_model("rnn", nonlinearity, seed, device), seq_len, scale, seed)


@functools.lru_cache(maxsize=64)
def peak_state(nonlinearity: str, seq_len: int, scale: float, seed: int, device: str) -> float:
    """The plain RNN's largest |a⁽ᵏ⁾| over its units and steps, on the input :func:`flow_rows` uses (inf where it
    overflowed)."""
    model = _model("rnn", nonlinearity, seed, device)
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(seq_len, 1, INPUT_SIZE, generator=g, dtype=model.W.dtype).to(model.W.device)
    with torch.no_grad():
        a = _with_recurrent_scale(model, float(scale)).trace(x).a[1:]
    peak = float(torch.nan_to_num(a.abs(), nan=math.inf).max())
    return peak


def why_this_sigma(nonlinearity: str, scale: float, peak: float) -> str:
    """What σ's slope and range do to the gradient and the states, with the state's largest value (§1.5: why tanh)."""
    shown = next((fmt(peak, d) for d in range(3, 7) if peak >= 1 or fmt(peak, d) != "1"), "1 to six digits")
    size = f"max |a| = {shown}" if math.isfinite(peak) and peak <= DISPLAY_LIMIT else f"max |a| past {LIMIT_TEXT}"
    if nonlinearity == "relu":
        return (f" ReLU′ is 1 on every active unit (0 on the others), and ReLU does not bound the states: here they "
                f"reach {size} (tanh keeps them inside (−1, 1)); where the active units' factor exceeds 1, the "
                f"states and the gradient explode together.")
    if nonlinearity == "sigmoid":
        return (f" sigmoid′ ≤ ¼: no step's factor exceeds the weight scale/4 = {fmt(scale / 4)}, so the gradient "
                f"vanishes at every scale of the map (tanh′ reaches 1); the states stay inside (0, 1), here {size}.")
    if nonlinearity == "tanh":
        return f" tanh′ ≤ 1, reaching 1 at 0, and tanh keeps the states inside (−1, 1): here {size}."
    return f" σ = identity: slope 1 everywhere and no bound on the states: here {size}."


def growth_words(at_loss: float, at_start: float, steps: int) -> str:
    """ " (it shrinks by a factor 6.08 × 10⁵ over the 50 steps)", or grows; nothing where a ratio means nothing."""
    if not (math.isfinite(at_loss) and math.isfinite(at_start)) or at_loss <= 0 or at_start <= 0:
        return ""
    ratio = at_start / at_loss
    how = f"grows by a factor {fmt(ratio)}" if ratio >= 1 else f"shrinks by a factor {fmt(1 / ratio)}"
    return f" (it {how} over the {steps} steps)"


def first_above_one(step0: np.ndarray) -> str:
    """Where the map's step-0 gradient first exceeds 1, in words (``step0``: one value per map scale)."""
    above = np.nonzero(np.nan_to_num(step0, nan=np.inf) > 1.0)[0]
    if not above.size:
        return f"it stays below 1 up to scale {MAP_SCALES[-1]}."
    if above[0] == 0:
        return f"it is above 1 already at scale {MAP_SCALES[0]}."
    return f"it first exceeds 1 at scale {MAP_SCALES[above[0]]}."


def describe_extremes(norms: np.ndarray) -> str:
    """Words for overflow and underflow: where the gradient exploded past 10³⁰ or vanished below 10⁻³⁰."""
    L = len(norms) - 1
    big = np.where(~np.isfinite(norms) | (norms > DISPLAY_LIMIT))[0]
    small = np.where(norms < LOW)[0]
    if big.size:
        return (f" The gradient exploded past {LIMIT_TEXT} at step {big.max()} (drawn at {LIMIT_TEXT}), "
                f"{L - big.max()} steps from the loss.")
    if small.size:
        return f" It vanished below {LOW_TEXT} at step {small.max()}, {L - small.max()} steps from the loss."
    return ""


def by_value_sentence(weight_grads, threshold: float) -> str:
    """What clipping each entry to ±threshold (by value) would do to the gradient's direction, true for the state:
    it turns the gradient only when some entry exceeds the threshold."""
    if max(float(g.abs().max()) for g in weight_grads) <= threshold:
        return (f"Clipped by value instead (each entry to ±{fmt(threshold)}), it would be left as it is: no entry "
                f"exceeds {fmt(threshold)}.")
    cosine = clip_by_value_cosine(weight_grads, threshold)
    return (f"Clipped by value instead (each entry to ±{fmt(threshold)}), it would turn: cosine {cosine:.3f} with "
            "the gradient.")


class GradientFlowWidget(LessonWidget):
    """‖dℓ/da^(k)‖ against k for a chosen model, a second one overlaid, a scale × step map, clipping.

    Traits
    ------
    seq_len : int           sequence length L
    scale : float           spectral radius of the recurrent weights
    nonlinearity : str      σ of the plain and skip RNNs ("tanh", "sigmoid", "relu", "identity")
    model, compare : str    "rnn", "skip", "lstm" or "gru"
    clip : float            the clipping threshold on ‖dℓ/dW‖
    seed : int              weights and inputs
    """

    TITLE = "Vanishing and exploding gradients"
    SECTION = "§1.5"
    EXPLANATION = (
        "The gradient reaching step k is a <b>product of Jacobians</b>, one per step between k and the loss: "
        "each step back multiplies it by da<sup>(k+1)</sup>/da<sup>(k)</sup> = diag(σ′(z)) W<sub>a</sub>, "
        "W<sub>a</sub> the block of W that reads the state. Here W<sub>a</sub> is an orthogonal matrix (it turns a "
        "vector without stretching it) times the <b>weight scale</b>, so W<sub>a</sub> multiplies every length by "
        "exactly the scale. With σ = identity that is the whole factor, and the gradient <b>vanishes</b> below a "
        "weight scale of 1 and <b>explodes</b> above it. tanh′ ≤ 1 and sigmoid′ ≤ ¼ (much less where they "
        "saturate) shrink every factor: with tanh the gradient vanishes even at scale 1 and can grow only at larger "
        "scales; with sigmoid no factor exceeds scale/4 ≤ 0.5 on this map. ReLU′ is 1 on every active unit, and "
        "ReLU does not bound the states. The map says where the gradient reaching step 0 passes 1 for the σ and "
        "length shown; the sentence under the gradient plot gives its growth and the states' largest |a|. "
        "<b>Clipping</b> tames exploding gradients. Clipping by norm (here) multiplies the whole gradient by one "
        "factor, keeping its direction, so one update cannot throw the weights far; clipping by value clamps each "
        "entry and can turn it. Neither can help a vanishing gradient: clipping never lengthens one. Vanishing "
        "needs architecture: a <b>skip connection</b> makes each step's Jacobian I + J, which can shrink the "
        "gradient g only where gJ points against g (W<sub>a</sub> = −0.9·I with σ = identity leaves 0.1·I per "
        "step). The LSTM's cell state c, scaled only by its forget gate f, passes the gradient "
        "back on a path no nonlinearity touches: that slows vanishing, it does not stop it, since a product of "
        "f < 1 still shrinks (this LSTM's gradient, by a factor 86.6 over L = 300). The LSTM and GRU here are built "
        "with their keep-gates open, f ≈ z ≈ 0.95 (here z = 1 keeps h; colah's post writes 1 − z for that): the "
        "skip path at its best. Trained ones need not learn it: over 5,000 characters of held-out Shakespeare the "
        "shipped small LSTM's f averages 0.58 and only 6 of its 128 units average f above 0.9; its GRU's z has "
        "median 0.003, and no unit averages z above 0.9."
    )
    #: the learning rate of the SGD step the clipping summary talks about
    DEMO_LEARNING_RATE = 0.1

    seq_len = traitlets.Int(50, min=2, max=300).tag(config=True)
    scale = traitlets.Float(0.9, min=0.1, max=2.0).tag(config=True)
    nonlinearity = traitlets.Enum(["tanh", "sigmoid", "relu", "identity"], "tanh").tag(config=True)
    model = traitlets.Enum(list(MODELS), "rnn").tag(config=True)
    compare = traitlets.Enum(list(MODELS), "lstm").tag(config=True)
    clip = traitlets.Float(1.0, min=0.01, max=100.0).tag(config=True)
    seed = traitlets.Int(0, min=0, max=20).tag(config=True)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.line_fig, self.lines, _ = line_chart(
            "‖dℓ/da⁽ᵏ⁾‖ against the step k (loss at step L)", "step k", "‖dℓ/da⁽ᵏ⁾‖ (log)", 2, log_y=True,
            labels=["model", "compared"], colors=[PALETTE[0], PALETTE[1]], height=260)
        self.trend = bq.Lines(x=[0.0, 1.0], y=[1.0, 1.0], scales=self.lines.scales, colors=["#555555"],
                              line_style="dashed", stroke_width=1.5, labels=["fitted C·ρᴸ⁻ᵏ"])
        self.line_fig.marks = [self.lines, self.trend]
        show_in_legend(self.line_fig, self.trend)
        self.map_fig, self.map, cursor = timeline_map(
            "log₁₀ ‖dℓ/da⁽ᵏ⁾‖ for every scale (one batched pass)", "weight scale", "log₁₀ ‖dℓ/da⁽ᵏ⁾‖",
            column_label="step k", height=230, lo=-12.0, hi=12.0, reverse_rows=False)
        cursor.visible = False
        self.clip_fig, self.clip_bars, _ = bar_chart(
            "Clipping the gradient of all weights and biases by its norm", "", "‖dℓ/d(W, b)‖ (log)", log_y=True,
            height=220)
        models = [(v, k) for k, v in MODELS.items()]
        controls = [
            self._control("model", W.Dropdown(options=models, description="Model")),
            self._control("compare", W.Dropdown(options=models, description="Compare with")),
            self._control("nonlinearity", W.Dropdown(options=["tanh", "sigmoid", "relu", "identity"],
                                                     description="σ (RNNs)")),
            self._control("seq_len", slider("Length L", 2, 300)),
            self._control("scale", slider("Weight scale", 0.1, 2.0, 0.05, float_=True)),
            self._control("clip", W.FloatLogSlider(min=-2, max=2, step=0.1, base=10, description="Clip at")),
            self._control("seed", slider("Seed", 0, 20)),
        ]
        self._assemble(controls, [
            self._figure("lines", self.line_fig), self._figure("map", self.map_fig),
            self._figure("clipping", self.clip_fig),
        ])
        self.observe(lambda _: self._run(self._update), names=["seq_len", "scale", "nonlinearity", "model",
                                                                "compare", "clip", "seed"])
        self._run(self._update)

    def _rows(self, kind: str, with_map: bool):
        return flow_rows(kind, self.nonlinearity, self.seq_len, round(self.scale, 4), self.seed,
                         str(self.torch_device), with_map)

    def _update(self) -> None:
        # σ is the plain and skip RNNs' own: with two gated cells it changes nothing (a static page refuses it then)
        self.controls["nonlinearity"].disabled = not {self.model, self.compare} & {"rnn", "skip"}
        rows, weight_grads = self._rows(self.model, True)
        mine, other = rows[0], self._rows(self.compare, False)[0][0]
        L = self.seq_len
        with self._holding(self.lines):
            self.lines.x = np.arange(L + 1)
            self.lines.y = display_norms(np.stack([mine, other]))
            self.lines.labels = [MODELS[self.model], MODELS[self.compare]]
        stride = max(1, (L + 1) // 100)  # at most ~100 columns stay readable
        fill_grid(self.map_fig, self.map, np.log10(display_norms(rows[1:, ::stride])), rows=MAP_SCALES,
                  columns=np.arange(0, L + 1, stride))
        rho = decay_rate(torch.from_numpy(mine))
        jac = self._jacobian_norm()
        self._draw_trend(mine, rho)
        shown = [self.lines.y.ravel()] + ([self.trend.y] if self.trend.visible else [])
        fit_y(self.line_fig, np.concatenate(shown))
        trend = "" if rho is None else (
            f" Fitted per-step factor ρ = {fmt(rho)}: each step back multiplies the gradient by about {fmt(rho)}.")
        if jac is not None:
            trend += (f" Each step's Jacobian has norm {fmt(jac)} (geometric mean over the steps; the product of "
                      f"these norms bounds the growth).")
        if jac is not None and self.model == "rnn":
            typical = rms_slope_factor(self.nonlinearity, L, round(self.scale, 4), self.seed, str(self.torch_device))
            trend += (f" That is the weight scale × the largest slope σ′; but W_a turns the gradient onto every "
                      f"unit's slope, and the weight scale × the RMS slope is {fmt(typical)}.")
            trend += why_this_sigma(self.nonlinearity, self.scale,
                                    peak_state(self.nonlinearity, L, round(self.scale, 4), self.seed,
                                               str(self.torch_device)))
        self.summaries["lines"].value = esc(
            f"{MODELS[self.model]}: ‖dℓ/da‖ goes from {fmt(float(mine[L]))} at step {L} to {fmt(float(mine[0]))} "
            f"at step 0{growth_words(float(mine[L]), float(mine[0]), L)}; {MODELS[self.compare]}: "
            f"{fmt(float(other[0]))} at step 0." + trend + describe_extremes(mine))
        self.summaries["map"].value = esc(
            f"At step 0 (L = {L} steps from the loss) the gradient is {fmt(float(rows[1, 0]))} at scale "
            f"{MAP_SCALES[0]} and {fmt(float(rows[-1, 0]))} at scale {MAP_SCALES[-1]}; "
            + first_above_one(rows[1:, 0]) + " White means ‖·‖ ≈ 1, blue smaller, orange larger.")
        self._update_clipping(weight_grads, float(mine[0]), float(mine[L]))
        release_freed_memory()
        self.equation.value = (
            "<div style='font-family:serif;font-size:15px'>dℓ/da<sup>(k)</sup> = dℓ/da<sup>(L)</sup> · "
            "da<sup>(L)</sup>/da<sup>(L−1)</sup> ⋯ da<sup>(k+1)</sup>/da<sup>(k)</sup>"
            + (f" &nbsp;≈ ρ<sup>L−k</sup>, &nbsp;now ρ ≈ <b>{esc(fmt(rho))}</b>" if rho is not None else "")
            + (f"; &nbsp;‖da<sup>(k+1)</sup>/da<sup>(k)</sup>‖ ≈ <b>{esc(fmt(jac))}</b>" if jac is not None else "")
            + "</div>")

    def _jacobian_norm(self) -> float | None:
        """Geometric mean of the per-step Jacobians' spectral norms (plain and skip RNNs), or None."""
        if self.model not in ("rnn", "skip"):
            return None
        return step_jacobian_norm(self.model, self.nonlinearity, self.seq_len, round(self.scale, 4), self.seed,
                                  str(self.torch_device))

    def _draw_trend(self, norms: np.ndarray, rho: float | None) -> None:
        """The fitted geometric trend C·ρ^(L−k), dashed, through the same points the fit used."""
        L = len(norms) - 1
        k = np.arange(L + 1)
        ok = np.isfinite(norms) & (norms > 1e-300)
        with self._holding(self.trend):
            if rho is None or not ok.any():
                self.trend.visible = False
                return
            log_c = float(np.mean(np.log(norms[ok]) - (L - k[ok]) * np.log(rho)))
            self.trend.x, self.trend.y = k, display_norms(np.exp(log_c + (L - k) * np.log(rho)))
            self.trend.visible = True

    def _update_clipping(self, weight_grads, at_start: float, at_loss: float) -> None:
        before, after, factor, cosine = clip_summary(weight_grads, self.clip)
        with self._holding(self.clip_bars):
            self.clip_bars.x = ["before clipping", f"after (threshold {fmt(self.clip)})"]
            self.clip_bars.y = display_norms(np.array([before, after]))
            # bars on a log axis need a positive base: a decade below the shorter one
            self.clip_bars.base = float(10 ** (np.floor(np.log10(self.clip_bars.y.min())) - 1))
            self.clip_bars.colors = [PALETTE[5], PALETTE[2]]
        fit_y(self.clip_fig, np.concatenate([self.clip_bars.y, [self.clip_bars.base]]))
        lr = self.DEMO_LEARNING_RATE
        if math.isinf(before):
            text = "The gradient overflowed: no finite length to clip; lower the scale or the length."
        else:
            effective = clip_summary(scaled_weight_grads(self.model, weight_grads, self.scale), self.clip)[0]
            norm = (f"‖dℓ/d(W, b)‖ = {fmt(before)} (taken against W as stored; against the W the model runs with, "
                    f"W_a × the weight scale, it is {fmt(effective)})")
            if factor < 1:
                text = (f"{norm} exceeds {fmt(self.clip)}: multiplied by {fmt(factor)} to {fmt(after)}; the direction "
                        f"is unchanged (cosine {cosine:.6f}). With learning rate {lr}, one SGD step would move the "
                        f"weights by {fmt(lr * before)}; clipped, by {fmt(lr * after)}. "
                        + by_value_sentence(weight_grads, self.clip))
            else:
                text = (f"{norm} is within {fmt(self.clip)}: clipping leaves it alone (factor 1); an SGD step with "
                        f"learning rate {lr} moves the weights by {fmt(lr * before)}.")
            if 0 < at_start < VANISHED * at_loss:
                text += (f" Here the gradient vanishes (‖dℓ/da⁽⁰⁾‖ = {fmt(at_start)}, against {fmt(at_loss)} at step "
                         "L): clipping cannot help that, it never lengthens a gradient.")
        self.summaries["clipping"].value = esc(text)
