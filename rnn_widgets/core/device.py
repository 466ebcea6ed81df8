"""The one place where a device name becomes a :class:`torch.device`.

Everything in rnn-widgets that creates tensors asks :func:`resolve_device`, so
``set_device("cuda")`` moves the whole package at once and no module scatters
``.cuda()`` calls of its own.
"""
from __future__ import annotations

import torch

_VALID = ("auto", "cpu", "cuda")
_current: str = "auto"


def _check_name(name: str) -> str:
    if isinstance(name, torch.device):
        name = str(name)
    if not isinstance(name, str):
        raise TypeError(f"device must be one of {_VALID}, got {name!r}")
    base = name.split(":")[0]
    if base not in _VALID:
        raise ValueError(f"device must be one of {_VALID} (optionally 'cuda:N'), got {name!r}")
    return name


def resolve_device(name: str | torch.device | None = None) -> torch.device:
    """Turn ``"auto" | "cpu" | "cuda[:N]"`` (or ``None`` for the global choice) into a device.

    ``"auto"`` takes CUDA when a GPU is visible and the CPU otherwise. Asking for
    CUDA on a machine without one raises a :class:`RuntimeError` that says so,
    instead of failing later inside a kernel launch.
    """
    name = _current if name is None else _check_name(name)
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError(
            "device 'cuda' was requested but PyTorch sees no CUDA GPU on this machine "
            f"(torch {torch.__version__}, CUDA build: {torch.version.cuda is not None}). "
            "Use set_device('auto') or set_device('cpu')."
        )
    return torch.device(name)


def set_device(name: str = "auto") -> torch.device:
    """Choose the device every widget and core helper uses by default.

    Parameters
    ----------
    name : {"auto", "cpu", "cuda"} or "cuda:N"
        ``"auto"`` (the default) picks CUDA when available, else the CPU.

    Returns
    -------
    torch.device
        The device that ``name`` resolves to now.
    """
    global _current
    name = _check_name(name)
    device = resolve_device(name)  # raises before the global changes
    _current = name
    return device


def get_device() -> torch.device:
    """The device that the global setting resolves to now."""
    return resolve_device(None)
