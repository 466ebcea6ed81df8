"""examples/03_topologies.ipynb's questions: each truth recomputed without the widget, from the shipped trained
models: the accuracies by running them on the measurement's examples (the same seeded generator, drawn length by
length as the measurement drew them; the shipped tables keep four decimals), what the decoder reads by recording
its inputs with a forward hook, and what one-to-one carries by counting its steps."""
import torch

from rnn_widgets.core.tasks import load_task_models

DIGITS, EXAMPLES, SEED = 10, 200, 12345


def _reversed_right(n=16):
    """(n, 200) bool: which digits the shipped reverser writes right, on the measurement's examples of length n."""
    g = torch.Generator().manual_seed(SEED)
    for length in range(1, n + 1):
        d = torch.randint(0, DIGITS, (length, EXAMPLES), generator=g)  # lengths before n only advance the generator
    with torch.no_grad():
        written = load_task_models()["reverse"](d, n).argmax(-1)
    return written == d.flip(0)


def encoder_decoder_at_16():
    right = _reversed_right()
    digits, strings = round(float(right.float().mean()), 4), round(float(right.all(0).float().mean()), 4)
    assert all(bool(_reversed_right(n).all()) for n in range(1, 9))  # "on test strings of those lengths no mistake"
    assert f"{100 * digits:.3g}" == "59.7" and strings == 0  # the notebook's answer: "59.7%", "0% of the examples"
    by_position = right.float().mean(1)
    assert by_position[0] == 1 and round(float(by_position[-1]), 2) == 0.10  # "first written to last: 100% to 10%"
    return [100 * digits, 100 * strings]


def many_to_one_at_16():
    g = torch.Generator().manual_seed(SEED)
    for length in range(1, 17):
        x = torch.rand(length, EXAMPLES, 1, generator=g) * 2 - 1
    with torch.no_grad():
        said_positive = load_task_models()["sign"](x) > 0
    accuracy = round(float((said_positive == (x.sum((0, 2)) > 0)).float().mean()), 4)
    assert f"{100 * accuracy:.3g}" == "95.5"  # the notebook's answer: "95.5% at length 16"
    errors, theirs = 1 - accuracy, 1 - float(_reversed_right().float().mean())
    verdict = "much less" if errors < 0.5 * theirs else ("much more" if errors > 2 * theirs else "about as much")
    return [f"{verdict} {'as' if verdict == 'about as much' else 'than'} the encoder-decoder", 100 * accuracy]


def decoder_reads():
    model = load_task_models()["reverse"]
    inputs = []
    hook = model.decoder.register_forward_hook(lambda module, args, out: inputs.append(args[0][0, 0]))
    try:
        d = torch.tensor([[4], [9], [3], [0], [3]])
        with torch.no_grad():
            written = model(d, 5).argmax(-1)[:, 0]
    finally:
        hook.remove()
    one_hot = torch.eye(DIGITS + 1)
    assert len(inputs) == 5
    first = "a start symbol" if torch.equal(inputs[0], one_hot[DIGITS]) else "not a start symbol"
    fed_back = all(torch.equal(inputs[t], one_hot[written[t - 1]]) for t in range(1, 5))
    return [first, "its own previous output ŷ" if fed_back else "something else"]


def one_to_one_carries():
    model = load_task_models()["count"]
    calls = []
    hook = model.cell.register_forward_hook(lambda module, args, out: calls.append(args))
    try:
        with torch.no_grad():
            model(torch.tensor([4]), 1)  # one-to-one: one digit in, the next digit out
    finally:
        hook.remove()
    # one step, begun from no state: nothing comes from a step before or goes on to a step after
    return "nothing: there is only one step" if len(calls) == 1 and calls[0][1] is None else "something"


TRUTHS = {1: encoder_decoder_at_16, 2: many_to_one_at_16, 3: decoder_reads, 4: one_to_one_carries}
