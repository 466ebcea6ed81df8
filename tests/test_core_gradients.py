"""Remark 1.1 and §1.5: per-step contributions sum to autograd's gradient; dℓ/da^(k) in one pass; clipping."""
import pytest
import torch

from rnn_widgets.core import GRU, LSTM, RNN, UntiedRNN, clip_by_norm, parameter_count, step_gradients


def readout_loss(name):
    def loss(tr):
        torch.manual_seed(1)
        return (tr[name][1:] * torch.randn_like(tr[name][1:])).sum()
    return loss


@pytest.mark.parametrize("make, state", [(lambda: RNN(3, 5, dtype=torch.float64), "a"),
                                         (lambda: RNN(3, 5, "sigmoid", dtype=torch.float64), "a"),
                                         (lambda: LSTM(3, 5, dtype=torch.float64), "h"),
                                         (lambda: GRU(3, 5, dtype=torch.float64), "h")])
@pytest.mark.parametrize("batch", [None, 4])
def test_per_step_contributions_sum_to_autograd(make, state, batch):
    model = make()
    x = torch.randn(8, 3, dtype=torch.float64) if batch is None else torch.randn(8, batch, 3, dtype=torch.float64)
    sg = step_gradients(model, x, readout_loss(state))
    for name, p in model.named_parameters():
        assert sg.contributions[name].shape == (8, *p.shape)
        torch.testing.assert_close(sg.summed(name), sg.total[name], atol=1e-10, rtol=1e-10)
    # and autograd's total is what an ordinary backward() gives
    loss = readout_loss(state)(model.trace(x))
    loss.backward()
    for name, p in model.named_parameters():
        torch.testing.assert_close(sg.total[name], p.grad, atol=1e-10, rtol=1e-10)


def test_state_gradients_equal_one_backward_per_k():
    """dℓ/da^(k) from the single pass equals the gradient of ℓ with a^(k) cut out and re-fed."""
    torch.manual_seed(3)
    rnn = RNN(2, 4, dtype=torch.float64)
    x = torch.randn(6, 2, dtype=torch.float64)
    loss_fn = lambda tr: (tr.a[-1] ** 2).sum()
    sg = step_gradients(rnn, x, loss_fn)
    assert sg.states["a"].shape == (7, 4)
    for k in range(7):
        a_k = rnn.trace(x[:k]).a[-1].detach().requires_grad_(True) if k else torch.zeros(4, dtype=torch.float64, requires_grad=True)
        rest = rnn.trace(x[k:], a_k) if k < 6 else None
        loss = (rest.a[-1] ** 2).sum() if rest is not None else (a_k ** 2).sum()
        (g,) = torch.autograd.grad(loss, a_k)
        torch.testing.assert_close(sg.states["a"][k], g, atol=1e-10, rtol=1e-10)


def test_lstm_state_gradients_cover_c_and_h():
    sg = step_gradients(LSTM(2, 3), torch.randn(5, 2), lambda tr: tr.h[-1].sum())
    assert set(sg.states) == {"c", "h"}
    assert sg.states["c"].shape == (6, 3)
    tr = sg.trace
    # ℓ = Σ h^(T) = Σ o ⊙ tanh(c^(T))  ⇒  dℓ/dc^(T) = o ⊙ (1 − tanh² c^(T)) and dℓ/dh^(T) = 1
    torch.testing.assert_close(sg.states["c"][-1], tr.o[-1] * (1 - torch.tanh(tr.c[-1]) ** 2))
    torch.testing.assert_close(sg.states["h"][-1], torch.ones(3))
    assert sg.states["c"][0].abs().sum() > 0


def test_untied_layers_get_only_their_own_step():
    rnn = RNN(2, 3, dtype=torch.float64)
    untied = UntiedRNN.from_shared(rnn, max_len=10)
    x = torch.randn(6, 2, dtype=torch.float64)
    torch.testing.assert_close(untied.trace(x).a, rnn.trace(x).a)  # same function before training
    loss = readout_loss("a")
    tied, sep = step_gradients(rnn, x, loss), step_gradients(untied, x, loss)
    torch.testing.assert_close(sep.total["W"][:6], tied.contributions["W"])  # W^(l) gets step l's share
    assert torch.equal(sep.total["W"][6:], torch.zeros(4, 3, 5, dtype=torch.float64))  # never reached
    torch.testing.assert_close(sep.summed("W"), sep.total["W"])
    with pytest.raises(ValueError, match="10 layers"):
        untied.trace(torch.randn(11, 2, dtype=torch.float64))


def test_parameter_count():
    assert parameter_count(3, 4, 50, tied=True) == 4 * 7 + 4
    assert parameter_count(3, 4, 50, tied=False) == 50 * (4 * 7 + 4) - 4 * 4  # W^(1) reads no a^(0)
    # UntiedRNN keeps W^(1)'s state columns (they multiply a^(0) = 0): exactly those are not counted
    assert sum(p.numel() for p in UntiedRNN(3, 4, 50).parameters()) == parameter_count(3, 4, 50, tied=False) + 4 * 4
    assert sum(p.numel() for p in RNN(3, 4).parameters()) == parameter_count(3, 4, 50, tied=True)


def test_clip_by_norm_scales_without_turning():
    g = torch.tensor([3.0, 4.0])
    clipped, factor = clip_by_norm(g, 1.0)
    assert factor == pytest.approx(0.2)
    torch.testing.assert_close(clipped, torch.tensor([0.6, 0.8]))
    assert torch.equal(g, torch.tensor([3.0, 4.0]))  # pure
    same, one = clip_by_norm(g, 10.0)
    assert one == 1.0 and torch.equal(same, g)
    (a, b), f = clip_by_norm([torch.tensor([3.0]), torch.tensor([4.0])], 2.5)
    assert f == pytest.approx(0.5) and a.item() == pytest.approx(1.5) and b.item() == pytest.approx(2.0)
    with pytest.raises(ValueError, match="overflowed"):
        clip_by_norm(torch.tensor([float("inf"), 1.0]), 1.0)
    with pytest.raises(ValueError, match="positive"):
        clip_by_norm(g, 0)
