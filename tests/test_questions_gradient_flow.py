"""examples/05_gradient_flow.ipynb's questions: each truth recomputed with autograd through the model's own run
(the widget uses the written-out product of Jacobians, core/jacobians.py) and torch.nn.utils' clipping."""
import numpy as np
import torch

from rnn_widgets.core.flow import INPUT_SIZE, flow_model

HIDDEN = 16


def _model(kind="rnn", nonlinearity="tanh", scale=0.9):
    model = flow_model(kind, nonlinearity)
    with torch.no_grad():
        model.W[:, :HIDDEN] *= scale  # W_a, the block of W that reads the state, times the weight scale
    return model


def _inputs(L=50, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(L, 1, INPUT_SIZE, generator=g, dtype=torch.float64)
    u = torch.randn(HIDDEN, generator=g, dtype=torch.float64)
    return x, u / u.norm()


def grad_norms(kind="rnn", nonlinearity="tanh", scale=0.9, L=50):
    """‖dℓ/da⁽ᵏ⁾‖ for k = 0…L, ℓ = u · a⁽ᴸ⁾: a⁽ᵏ⁾ made a leaf and the rest of the run differentiated."""
    model, (x, u) = _model(kind, nonlinearity, scale), _inputs(L)
    with torch.no_grad():
        states = model.trace(x).a  # a⁽¹⁾ … a⁽ᴸ⁾
    states = torch.cat([torch.zeros(1, 1, HIDDEN, dtype=torch.float64), states])
    norms = []
    for k in range(L):
        a_k = states[k].clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(model.trace(x[k:], a_k).a[-1, 0] @ u, a_k)
        norms.append(float(grad.norm()))
    return np.array(norms + [1.0])


def threshold():
    scales = np.round(np.linspace(0.1, 2.0, 20), 3)
    return next(s for s in scales if grad_norms(scale=s)[0] > 1)


def rho_against_jacobian():
    norms = grad_norms()
    L = len(norms) - 1
    slope = np.polyfit(np.arange(L + 1), np.log(norms), 1)[0]
    rho = float(np.exp(-slope))
    model, (x, _) = _model(), _inputs()
    with torch.no_grad():
        states = torch.cat([torch.zeros(1, 1, HIDDEN, dtype=torch.float64), model.trace(x).a])
    spectral = [torch.linalg.matrix_norm(torch.autograd.functional.jacobian(
        lambda a, k=k: model.trace(x[k:k + 1], a.reshape(1, HIDDEN)).a[-1, 0], states[k, 0]), ord=2)
        for k in range(L)]
    jac = float(torch.stack(spectral).log().mean().exp())
    assert abs(jac - 0.897) < 0.001  # the number the notebook's answer quotes
    return "ρ is smaller" if rho < 0.98 * jac else ("ρ is larger" if rho > 1.02 * jac else "about the same")


def skip_growth():
    ratio = grad_norms("skip", scale=0.5)[0]
    return "it grows" if ratio > 2 else ("it shrinks" if ratio < 0.5 else "it stays about the same")


def clipped_direction():
    model, (x, u) = _model(scale=1.7), _inputs()
    model.zero_grad()
    (model.trace(x).a[-1, 0] @ u).backward()
    grads = [p.grad.clone() for p in model.parameters()]
    torch.nn.utils.clip_grad_norm_(list(model.parameters()), 1.0)
    clipped = [p.grad for p in model.parameters()]
    dot = sum(float((a * b).sum()) for a, b in zip(grads, clipped))
    norm = np.sqrt(sum(float((a * a).sum()) for a in grads) * sum(float((b * b).sum()) for b in clipped))
    return "the same direction" if dot / norm > 0.999999 else "a different direction"


def relu_against_tanh():
    relu, tanh = grad_norms(nonlinearity="relu", scale=2.0)[0], grad_norms(scale=2.0)[0]
    return "larger than tanh's" if relu > tanh else "smaller than tanh's"


TRUTHS = {1: threshold, 2: rho_against_jacobian, 3: skip_growth, 4: clipped_direction, 5: relu_against_tanh}
