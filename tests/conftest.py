import pytest
import torch

from rnn_widgets.core import set_device


@pytest.fixture(autouse=True)
def _cpu_and_seeded():
    """Every test starts on the CPU with a fixed global seed, whatever an earlier test chose."""
    set_device("cpu")
    torch.manual_seed(0)
    yield
    set_device("cpu")


def pytest_collection_modifyitems(config, items):
    if not torch.cuda.is_available():
        skip = pytest.mark.skip(reason="needs a CUDA GPU")
        for item in items:
            if "cuda" in item.keywords:
                item.add_marker(skip)
