"""rnn_widgets.core: the lecture's RNN, LSTM and GRU in PyTorch, with every internal exposed.

Torch and numpy only: importing it never imports ipywidgets or bqplot, so it can be used alone::

    import torch
    from rnn_widgets.core import LSTM
    lstm = LSTM(input_size=3, hidden_size=8)
    tr = lstm.trace(torch.randn(20, 3))      # every per-step value, time first
    tr.f.shape                               # forget gate f^(l): (20, 8)
"""
from .cells import GRU, LSTM, NONLINEARITIES, RNN
from .charmodel import CharModel, load_char_model
from .device import get_device, resolve_device, set_device
from .generation import GenerationSession, repeating_tail
from .gradients import StepGradients, clip_by_norm, step_gradients
from .sampling import GREEDY_BELOW, entropy, make_generator, next_distribution, sample_next
from .seeding import seeded, token_vector
from .trace import AffineUse, Trace
from .train import StepInfo, TrainConfig, Trainer
from .untied import UntiedRNN, parameter_count
from .vocab import CharVocab, UnknownCharacterError

__all__ = [
    "GREEDY_BELOW",
    "GRU",
    "LSTM",
    "NONLINEARITIES",
    "RNN",
    "AffineUse",
    "CharModel",
    "CharVocab",
    "GenerationSession",
    "StepGradients",
    "StepInfo",
    "Trace",
    "TrainConfig",
    "Trainer",
    "UnknownCharacterError",
    "UntiedRNN",
    "clip_by_norm",
    "entropy",
    "get_device",
    "load_char_model",
    "make_generator",
    "next_distribution",
    "parameter_count",
    "repeating_tail",
    "resolve_device",
    "sample_next",
    "seeded",
    "set_device",
    "step_gradients",
    "token_vector",
]
