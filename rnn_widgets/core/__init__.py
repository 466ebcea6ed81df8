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
from .generation import GenerationSession, repeating_tail
from .device import get_device, resolve_device, set_device
from .gradients import StepGradients, clip_by_norm, step_gradients
from .seeding import seeded, token_vector
from .sampling import GREEDY_BELOW, entropy, make_generator, next_distribution, sample_next
from .trace import AffineUse, Trace
from .train import StepInfo, TrainConfig, Trainer
from .untied import UntiedRNN, parameter_count
from .vocab import CharVocab, UnknownCharacterError

__all__ = [
    "RNN", "LSTM", "GRU", "UntiedRNN", "NONLINEARITIES", "parameter_count",
    "Trace", "AffineUse", "StepGradients", "step_gradients", "clip_by_norm",
    "next_distribution", "sample_next", "entropy", "make_generator", "GREEDY_BELOW",
    "CharVocab", "UnknownCharacterError", "CharModel", "load_char_model", "GenerationSession", "repeating_tail",
    "Trainer", "TrainConfig", "StepInfo",
    "set_device", "get_device", "resolve_device", "seeded", "token_vector",
]
