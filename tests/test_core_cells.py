"""The lecture-notation cells against torch.nn: outputs and every parameter's gradient agree."""
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from rnn_widgets.core import GRU, LSTM, RNN

TOL = {torch.float32: 1e-5, torch.float64: 1e-10}
KINDS = {"rnn_tanh": (RNN, lambda i, h: torch.nn.RNN(i, h)),
         "rnn_relu": (RNN, lambda i, h: torch.nn.RNN(i, h, nonlinearity="relu")),
         "lstm": (LSTM, torch.nn.LSTM), "gru": (GRU, torch.nn.GRU)}


def torch_grads_in_our_layout(kind, ref, H):
    """Gather torch.nn's parameter gradients into our parameters' layout."""
    g = {n: p.grad for n, p in ref.named_parameters()}
    if kind == "gru":
        return {"Wx": g["weight_ih_l0"], "Wh": g["weight_hh_l0"], "bx": g["bias_ih_l0"], "bh": g["bias_hh_l0"]}
    W = torch.cat([g["weight_hh_l0"], g["weight_ih_l0"]], 1)
    b = g["bias_ih_l0"]
    if kind == "lstm":  # torch's (i, f, g, o) → the lecture's (f, input gate, candidate, o)
        W = torch.cat([W[H:2 * H], W[:H], W[2 * H:]])
        b = torch.cat([b[H:2 * H], b[:H], b[2 * H:]])
    return {"W": W, "b": b}


def run_both(kind, I, H, T, B, dtype, stepwise):
    ours_cls, make_ref = KINDS[kind]
    ref = make_ref(I, H).to(dtype)
    ours = ours_cls.from_torch(ref)
    x = torch.randn(T, B, I, dtype=dtype) if B else torch.randn(T, I, dtype=dtype)
    R = torch.randn(T, B, H, dtype=dtype) if B else torch.randn(T, H, dtype=dtype)
    tr = ours.trace(x, stepwise=stepwise)
    out = tr[ours.output_name][1:]
    ref_out, ref_final = ref(x)
    loss = (out * R).sum()
    ref_loss = (ref_out * R).sum()
    if kind == "lstm":  # also reach c^(T) so the cell path is checked, not only h
        loss = loss + (tr.c[-1] ** 2).sum()
        ref_loss = ref_loss + (ref_final[1].squeeze(0) ** 2).sum()
    loss.backward()
    ref_loss.backward()
    return ours, ref, tr, out, ref_out, torch_grads_in_our_layout(kind, ref, H)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("stepwise", [False, True])
@pytest.mark.parametrize("kind", list(KINDS))
@settings(max_examples=8, deadline=None)
@given(I=st.integers(1, 6), H=st.integers(1, 9), T=st.integers(1, 12), B=st.integers(0, 4))
def test_outputs_and_gradients_match_torch_nn(kind, stepwise, dtype, I, H, T, B):
    ours, ref, tr, out, ref_out, ref_grads = run_both(kind, I, H, T, B, dtype, stepwise)
    tol = TOL[dtype]
    torch.testing.assert_close(out, ref_out, atol=tol, rtol=tol)
    for name, p in ours.named_parameters():
        torch.testing.assert_close(p.grad, ref_grads[name], atol=tol, rtol=tol, msg=f"d loss / d {name}")


@pytest.mark.parametrize("kind", list(KINDS))
def test_round_trip_through_torch_is_exact(kind):
    ours_cls, make_ref = KINDS[kind]
    ref = make_ref(4, 6)
    back = ours_cls.from_torch(ref).to_torch()
    x = torch.randn(9, 3, 4)
    torch.testing.assert_close(back(x)[0], ref(x)[0], atol=1e-6, rtol=1e-6)


def test_lstm_trace_obeys_the_lecture_equations():
    lstm = LSTM(3, 5)
    tr = lstm.trace(torch.randn(10, 3))
    torch.testing.assert_close(tr.i, tr.input_gate * tr.candidate)
    torch.testing.assert_close(tr.c[1:], tr.c[:-1] * tr.f + tr.i)
    torch.testing.assert_close(tr.h[1:], tr.o * torch.tanh(tr.c[1:]))
    torch.testing.assert_close(tr.f, torch.sigmoid(tr.pre_f))
    assert tr.c.shape == (11, 5) and tr.f.shape == (10, 5)
    assert ((tr.f > 0) & (tr.f < 1)).all()


def test_trace_is_differentiable_and_time_first_for_batches():
    rnn = RNN(2, 4)
    tr = rnn.trace(torch.randn(6, 3, 2))
    assert tr.a.shape == (7, 3, 4) and tr.z.shape == (6, 3, 4)
    tr.a[-1].sum().backward()
    assert rnn.W.grad is not None and rnn.W.grad.abs().sum() > 0


def test_initial_state_is_used_and_defaults_to_zero():
    rnn = RNN(2, 3)
    x = torch.randn(4, 2)
    assert torch.equal(rnn.trace(x).a[0], torch.zeros(3))
    a0 = torch.ones(3)
    tr = rnn.trace(x, a0)
    assert torch.equal(tr.a[0], a0)
    torch.testing.assert_close(tr.a[1], torch.tanh(rnn.W @ torch.cat([a0, x[0]]) + rnn.b))


@pytest.mark.parametrize("nonlinearity", ["sigmoid", "identity"])
def test_other_nonlinearities_follow_the_equation(nonlinearity):
    rnn = RNN(2, 3, nonlinearity=nonlinearity)
    x = torch.randn(5, 2)
    tr = rnn.trace(x)
    sigma = torch.sigmoid if nonlinearity == "sigmoid" else (lambda z: z)
    for t in range(5):
        torch.testing.assert_close(tr.a[t + 1], sigma(rnn.W @ torch.cat([tr.a[t], x[t]]) + rnn.b))
    with pytest.raises(ValueError, match="tanh and relu"):
        rnn.to_torch()


def test_bad_inputs_get_clear_errors():
    lstm = LSTM(3, 4)
    with pytest.raises(ValueError, match="input_size=3"):
        lstm.trace(torch.randn(5, 2))
    with pytest.raises(ValueError, match="T = 0"):
        lstm.trace(torch.randn(0, 3))
    with pytest.raises(TypeError, match="torch.Tensor"):
        lstm.trace([[1.0, 2.0, 3.0]])
    with pytest.raises(ValueError, match="num_layers=2"):
        LSTM.from_torch(torch.nn.LSTM(3, 4, num_layers=2))
    with pytest.raises(TypeError, match="torch.nn.LSTM"):
        LSTM.from_torch(torch.nn.GRU(3, 4))
    with pytest.raises(ValueError, match="nonlinearity"):
        RNN(2, 2, nonlinearity="softplus")
    with pytest.raises(ValueError, match="hidden_size"):
        RNN(2, 0)


def test_forward_matches_trace():
    gru = GRU(3, 4)
    x = torch.randn(7, 2, 3)
    out, h_last = gru(x)
    tr = gru.trace(x)
    torch.testing.assert_close(out, tr.h[1:])
    torch.testing.assert_close(h_last, tr.h[-1])
    lstm = LSTM(3, 4)
    _, (c_last, _) = lstm(x)
    torch.testing.assert_close(c_last, lstm.trace(x).c[-1])


@pytest.mark.parametrize("T, B, H", [(5, 1, 3), (40, 2, 8), (37, 40, 64)])  # the last one runs the plain loop
@pytest.mark.parametrize("scale", [1.0, 30.0])  # 30: forget gates saturated at 0 and 1
def test_cell_state_scan_equals_the_recurrence(T, B, H, scale):
    from rnn_widgets.core.scan import cell_states
    pre_f = torch.randn(T, B, H, dtype=torch.float64) * scale
    f, i, c0 = torch.sigmoid(pre_f), torch.tanh(torch.randn(T, B, H, dtype=torch.float64)), torch.randn(B, H, dtype=torch.float64)
    c = [c0]
    for t in range(T):
        c.append(c[-1] * f[t] + i[t])
    torch.testing.assert_close(cell_states(c0, pre_f, f, i), torch.stack(c), atol=1e-12, rtol=1e-12)


@pytest.mark.parametrize("T, B, H", [(1, 1, 3), (2, 1, 3), (37, 5, 9), (100, 1, 64), (12, 3, 48)])
@pytest.mark.parametrize("onednn", [True, False])
def test_lstm_trace_without_autograd_reads_the_kernel_or_rebuilds_c(T, B, H, onednn):
    """Without autograd on the CPU, c and the gates come from oneDNN's workspace (core/scan.py); they must equal
    the differentiable trace (gates computed here, c from the scan) and torch.nn.LSTM's last c."""
    from rnn_widgets.core import scan
    if onednn and not torch.backends.mkldnn.is_available():
        pytest.skip("this build of PyTorch has no oneDNN")
    torch.manual_seed(T * 100 + H)
    ref = torch.nn.LSTM(4, H)
    ours = LSTM.from_torch(ref)
    x = 3 * torch.randn(T, B, 4)  # large enough to saturate some gates
    c0, h0 = torch.randn(B, H), torch.randn(B, H)
    enabled = torch.backends.mkldnn.enabled
    torch.backends.mkldnn.enabled = onednn
    try:
        with torch.no_grad():
            fast = [ours.trace(x, (c0, h0)) for _ in range(2)]  # the second run reads a known layout
            _, (_, ref_c) = ref(x, (h0[None], c0[None]))
    finally:
        torch.backends.mkldnn.enabled = enabled
    if onednn:
        assert scan._layouts.get((T, B, H)) is not None, "the workspace's layout was not found"
    slow = ours.trace(x, (c0, h0))  # autograd on: the gates computed here, c from the scan
    for tr in fast:
        assert set(tr.keys()) == set(slow.keys())
        for k in slow.values:
            torch.testing.assert_close(tr[k], slow[k].detach(), atol=1e-5, rtol=1e-5, msg=k)
        torch.testing.assert_close(tr.c[-1], ref_c[0], atol=1e-6, rtol=1e-6)
        torch.testing.assert_close(tr.c[1:], tr.c[:-1] * tr.f + tr.i, atol=1e-6, rtol=1e-6)
        # copies, not views that keep the (several times larger) workspace alive
        assert not tr.c.requires_grad and tr.c._base is None
        assert tr.f._base is None or tr.f._base.numel() == T * B * 4 * H


def test_lstm_trace_falls_back_where_the_workspace_does_not_check_out(monkeypatch):
    from rnn_widgets.core import scan
    lstm = LSTM(3, 5)
    x = torch.randn(9, 2, 3)
    monkeypatch.setitem(scan._layouts, (9, 2, 5), None)  # as after a failed check (another oneDNN's layout)
    with torch.no_grad():
        tr = lstm.trace(x)
    torch.testing.assert_close(tr.c, lstm.trace(x).c.detach())
