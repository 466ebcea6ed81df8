"""rnn-widgets: Jupyter widgets that teach recurrent neural networks, one per lecture idea.

The widgets (and the device functions) are imported on first use, so ``import rnn_widgets.core`` stays free
of ipywidgets and bqplot, and ``import rnn_widgets`` alone (the ``rnn-widgets`` command) does not import torch.
"""
from __future__ import annotations

import importlib

__version__ = "0.1.0"

#: widget class → module in rnn_widgets.widgets, in lecture order
WIDGETS = {
    "UnrollingWidget": "unrolling",
    "WeightSharingWidget": "weight_sharing",
    "TopologiesWidget": "topologies",
    "GenerationWidget": "generation",
    "GradientFlowWidget": "gradient_flow",
    "LSTMGatesWidget": "lstm_gates",
    "TextMemoryWidget": "text_memory",
}

#: the predict-commit-reveal question (widgets/question.py) and its entries
QUESTION = {"Question": "question", "Number": "question", "Choice": "question"}

__all__ = ["set_device", "get_device", "__version__", *list(WIDGETS), *list(QUESTION)]  # noqa: PLE0604 - names


def __getattr__(name: str):
    if name in ("get_device", "set_device"):  # on first use: `rnn-widgets gallery` starts without importing torch
        from .core import device

        return getattr(device, name)
    if name in WIDGETS or name in QUESTION:
        module = importlib.import_module(f".widgets.{WIDGETS.get(name) or QUESTION[name]}", __name__)
        return getattr(module, name)
    raise AttributeError(f"module 'rnn_widgets' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(WIDGETS) | set(QUESTION))
