"""§1.5: the plotted norms are autograd's, the map is one batched pass, clipping keeps the direction."""
import copy
import math

import numpy as np
import pytest
import torch

from rnn_widgets import GradientFlowWidget
from rnn_widgets.core.flow import (
    MODELS,
    clip_summary,
    decay_rate,
    flow_model,
    gradient_norms,
)
from rnn_widgets.widgets.gradient_flow import MAP_SCALES


@pytest.mark.parametrize("kind", list(MODELS))
def test_batched_scales_equal_separate_models_with_scaled_weights(kind):
    model = flow_model(kind)
    flow = gradient_norms(model, 12, [0.5, 1.3])
    for row, s in enumerate([0.5, 1.3]):
        scaled = flow_model(kind)
        with torch.no_grad():  # scale the recurrent weight blocks by hand
            W = scaled.Wh if kind == "gru" else scaled.W
            W[:, : scaled.hidden_size] *= s
        single = gradient_norms(scaled, 12, [1.0])
        np.testing.assert_allclose(flow.norms[row].numpy(), single.norms[0].numpy(), rtol=1e-10)


def test_norms_are_autograd_gradients_of_the_states():
    model = flow_model("rnn")
    flow = gradient_norms(model, 6, [0.8])
    g = torch.Generator().manual_seed(0)
    x = torch.randn(6, 1, 4, generator=g, dtype=torch.float64)
    u = torch.randn(16, generator=g, dtype=torch.float64)
    u = u / u.norm()
    a0 = torch.zeros(1, 16, dtype=torch.float64, requires_grad=True)
    # dℓ/da^(0) by differentiating the whole run with respect to the initial state
    scaled = flow_model("rnn")
    with torch.no_grad():
        scaled.W[:, :16] *= 0.8
    loss = scaled.trace(x, a0).a[-1, 0] @ u
    (grad,) = torch.autograd.grad(loss, a0)
    assert flow.norms[0, 0].item() == pytest.approx(grad.norm().item(), rel=1e-10)
    assert flow.norms[0, -1].item() == pytest.approx(1.0)  # dℓ/da^(L) = u, a unit vector


def test_widget_plots_the_core_numbers_and_fits_the_decay():
    w = GradientFlowWidget(seq_len=30, scale=0.5, model="rnn", compare="lstm")
    flow = gradient_norms(flow_model("rnn"), 30, [0.5])
    np.testing.assert_allclose(w.lines.y[0], flow.norms[0].numpy(), rtol=1e-12)
    assert w.lines.y[0][0] < 1e-6  # vanished at this scale
    assert w.lines.y[1][0] > 100 * w.lines.y[0][0]  # the LSTM keeps far more of it
    assert w.map.color.shape == (len(MAP_SCALES), 31)
    rho = decay_rate(flow.norms[0])
    assert 0 < rho < 1 and "ρ" in w.summaries["lines"].value


def test_skip_connection_keeps_the_gradient_alive():
    plain = gradient_norms(flow_model("rnn"), 60, [0.5]).norms[0, 0]
    skip = gradient_norms(flow_model("skip"), 60, [0.5]).norms[0, 0]
    assert skip > 1e6 * plain


def test_exploding_run_is_clipped_for_display_and_flagged():
    w = GradientFlowWidget(seq_len=300, scale=2.0, nonlinearity="identity", model="rnn")
    y = np.asarray(w.lines.y)
    assert np.isfinite(y).all() and y.max() <= 1e30
    assert "exploded past 10³⁰" in w.summaries["lines"].value
    assert "overflowed" in w.summaries["clipping"].value or "multiplied by" in w.summaries["clipping"].value


def test_clipping_shortens_without_turning():
    g = [torch.tensor([3.0, 4.0]), torch.tensor([12.0])]
    before, after, factor, cosine = clip_summary(g, 1.0)
    assert before == pytest.approx(13.0) and after == pytest.approx(1.0)
    assert factor == pytest.approx(1 / 13) and cosine == pytest.approx(1.0)
    assert clip_summary([torch.tensor([math.inf])], 1.0)[0] == math.inf
    w = GradientFlowWidget(scale=1.5, clip=0.01)
    assert "direction is unchanged (cosine 1.000000)" in w.summaries["clipping"].value
    assert w.clip_bars.y[1] == pytest.approx(0.01)


@pytest.mark.cuda
def test_batched_map_on_cuda_matches_cpu():
    cpu = gradient_norms(flow_model("lstm"), 50, MAP_SCALES)
    gpu = gradient_norms(flow_model("lstm", device="cuda"), 50, MAP_SCALES)
    np.testing.assert_allclose(gpu.norms.cpu().numpy(), cpu.norms.numpy(), rtol=1e-8)


@pytest.mark.parametrize("kind, nonlinearity", [("rnn", "tanh"), ("rnn", "sigmoid"), ("rnn", "relu"),
                                                ("rnn", "identity"), ("skip", "tanh"), ("lstm", "tanh"),
                                                ("gru", "tanh")])
@pytest.mark.parametrize("scales", [[0.5, 1.0, 1.7], [1.3]])  # one scale takes the fused-kernel path
def test_written_out_jacobian_product_equals_autograd(kind, nonlinearity, scales):
    from rnn_widgets.core import step_gradients
    from rnn_widgets.core.jacobians import backward_states

    model = flow_model(kind, nonlinearity, hidden=5)
    scales = torch.tensor(scales, dtype=torch.float64)
    x = torch.randn(9, len(scales), 4, dtype=torch.float64)
    u = torch.randn(5, dtype=torch.float64)
    states, weights = backward_states(model, x, u, scales)
    out = model.output_name
    ref = step_gradients(model, x, lambda tr: (tr[out][-1] @ u).sum(), recurrent_scale=scales, per_sequence=True)
    for name in ref.states:
        torch.testing.assert_close(states[name], ref.states[name], atol=1e-12, rtol=1e-10)
    for name, contrib in ref.contributions.items():
        torch.testing.assert_close(weights[name], contrib.sum(0), atol=1e-12, rtol=1e-10)


@pytest.mark.parametrize("kind, nonlinearity", [("rnn", "tanh"), ("rnn", "relu"), ("rnn", "sigmoid"),
                                                ("skip", "identity"), ("lstm", "tanh"), ("gru", "tanh")])
def test_scaled_trace_without_autograd_equals_the_stepwise_one(kind, nonlinearity):
    """The gradient map's batched run over scales takes a leaner loop without autograd (core/base.py)."""
    model = flow_model(kind, nonlinearity)
    x = torch.randn(30, 21, 4, dtype=torch.float64)
    scales = torch.linspace(0.1, 2.0, 21, dtype=torch.float64)
    with torch.no_grad():
        lean = model.trace(x, recurrent_scale=scales)
        recorded = model.trace(x, recurrent_scale=scales, stepwise=True)
    assert set(lean.keys()) == set(recorded.keys()) and recorded.affine
    for k in recorded.values:
        torch.testing.assert_close(lean[k], recorded[k], atol=1e-12, rtol=1e-10, msg=k)


@pytest.mark.parametrize("kind, nonlinearity", [("rnn", "tanh"), ("rnn", "relu"), ("skip", "tanh"), ("plain", "tanh")])
def test_step_jacobian_norms_are_spectral_norms(kind, nonlinearity):
    """Without an SVD per step (core/flow.py): ρ·max σ′ for flow_model's orthogonal W_a, an eigensolver else."""
    from rnn_widgets.core import RNN
    from rnn_widgets.core.flow import INPUT_SIZE, step_jacobian_norms
    model = RNN(INPUT_SIZE, 16, dtype=torch.float64) if kind == "plain" else flow_model(kind, nonlinearity)
    scaled = copy.deepcopy(model)
    with torch.no_grad():
        scaled.W[:, :16] *= 0.9
    x = torch.randn(40, 1, INPUT_SIZE, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    z = scaled.trace(x).z[:, 0].detach()
    slope = 1 - torch.tanh(z) ** 2 if nonlinearity == "tanh" else (z > 0).double()
    J = slope[:, :, None] * scaled.W[:, :16].detach() + (torch.eye(16, dtype=torch.float64) if kind == "skip" else 0)
    torch.testing.assert_close(step_jacobian_norms(model, 40, 0.9), torch.linalg.matrix_norm(J, ord=2),
                               atol=1e-12, rtol=1e-12)


def test_updates_hand_freed_memory_back_at_most_once_a_second(monkeypatch):
    import rnn_widgets.widgets.gradient_flow as gf
    calls = []
    monkeypatch.setattr(gf, "_malloc_trim", lambda pad: calls.append(pad))
    monkeypatch.setattr(gf, "_last_trim", [0.0])
    w = GradientFlowWidget(seq_len=20)
    w.seq_len = 21
    w.seq_len = 22
    assert calls == [0]  # the first update trimmed; the next two came within the second
    monkeypatch.setattr(gf, "_malloc_trim", None)  # not glibc: nothing to call
    gf._last_trim[0] = 0.0
    w.seq_len = 23
    w.close()


# ---------------------------------------------------------------------- why tanh (issue 22): ReLU's states explode
def test_the_states_the_sentence_gives_are_the_plain_rnns_own():
    import html

    from rnn_widgets.core.jacobians import _with_recurrent_scale

    for nonlinearity, bound in (("tanh", 1.0), ("sigmoid", 1.0), ("relu", None)):
        w = GradientFlowWidget(nonlinearity=nonlinearity, scale=2.0, seq_len=50)
        g = torch.Generator().manual_seed(0)
        x = torch.randn(50, 1, 4, generator=g, dtype=torch.float64)  # gradient_norms' input for seed 0
        with torch.no_grad():
            a = _with_recurrent_scale(flow_model("rnn", nonlinearity), 2.0).trace(x).a[1:]
        peak = float(a.abs().max())
        said = html.unescape(w.summaries["lines"].value)
        if bound:
            assert peak < bound and "max |a| = " in said
        else:  # ReLU: the states explode with the gradient
            assert f"{peak:.2e}" == "1.76e+09" and "max |a| = 1.76 × 10⁹" in said
            assert f"{w.lines.y[0][0]:.2e}" == "4.78e+09"
        w.close()
    w = GradientFlowWidget(nonlinearity="sigmoid", scale=2.0)
    jac = flow_model("rnn", "sigmoid")
    from rnn_widgets.core.flow import step_jacobian_norms

    assert float(step_jacobian_norms(jac, 50, 2.0).max()) <= 2.0 / 4 + 1e-12  # "no factor exceeds scale/4"
    assert "the weight scale/4 = 0.5" in html.unescape(w.summaries["lines"].value)
    w.close()


def test_the_explanation_gives_no_answer_of_05_away():
    """05 Q1, Q3 and Q5 ask for these numbers: the summaries say them for the state shown, the explanation
    above the widget (read before the student predicts) does not."""
    text = GradientFlowWidget.EXPLANATION
    w = GradientFlowWidget(nonlinearity="relu", scale=2.0)
    assert f"{w.lines.y[0][0]:.2e}" == "4.78e+09" and "4.78 × 10⁹" in w.summaries["lines"].value
    assert "4.78 × 10⁹" not in text and "1.76 × 10⁹" not in text
    w.close()
    tanh = GradientFlowWidget(scale=2.0)
    assert f"{tanh.lines.y[0][0]:.3g}" == "241" and "241" in tanh.summaries["lines"].value and "241" not in text
    tanh.close()
    assert "even grows" not in text  # 05 Q3: the skip connection at scale 0.5
