"""examples/03_topologies.ipynb's questions (§1.3): every truth computed from the widget's traits with the
functions the widget itself uses (the shipped accuracies of core.tasks, the example the shipped model answers, and
the unrolled diagram drawn from it)."""
from __future__ import annotations

import numpy as np

from ..core.tasks import (
    MAX_LEN,
    run_topology,
    shipped_accuracy_by_length,
    shipped_accuracy_by_position,
)
from ..widgets.numbers import fmt
from ..widgets.question import Choice, Number, Question
from ..widgets.topologies import TopologiesWidget, topology_nodes

ENCODER_DECODER = "many-to-many (encoder-decoder)"


def _length(w: TopologiesWidget) -> int:
    return w.output_len if w.topology == "one-to-many" else w.input_len


def _accuracy(w: TopologiesWidget) -> float:
    """Percent of outputs (or answers) right at the length shown, as the accuracy plot shows it."""
    return float(100 * shipped_accuracy_by_length(w.topology)[_length(w) - 1])


def _whole(w: TopologiesWidget) -> float:
    """Percent of examples with every output right at the length shown."""
    return float(100 * shipped_accuracy_by_position(w.topology)["whole"][_length(w) - 1])


def _share_past_trained(w: TopologiesWidget) -> float:
    """The share of the wrong digits written at output positions past the trained lengths (MAX_LEN + 1 …)."""
    errors = 1 - np.asarray(shipped_accuracy_by_position(w.topology)["positions"][_length(w) - 1], dtype=float)
    return float(errors[MAX_LEN:].sum() / errors.sum())


def longer_than_trained() -> Question:
    w = TopologiesWidget(topology=ENCODER_DECODER, input_len=16)
    share = _share_past_trained(w)
    return Question(
        f"The encoder-decoder (an LSTM encoder, then an LSTM decoder) was trained to reverse strings of 1 to "
        f"{MAX_LEN} digits, and on test strings of those lengths it made no mistake. Now it reads strings of {w.input_len} digits. "
        "What percentage of the digits it writes are right? And what percentage of the strings does it reverse "
        "entirely right?",
        w,
        Number(_accuracy, unit="%", abs=10, lo=0, hi=100, label="Digits right"),
        Number(_whole, unit="%", abs=5, lo=0, hi=100, label="Strings entirely right"),
        explanation=f"About 60% of the digits, and none of the strings. The wrong digits are the last it writes "
                    "(the accuracy by output position falls from 100% to chance, 10%), and they are two things at "
                    "once. They are the digits read first, which the encoder's one state must hold through all "
                    f"{w.input_len} steps (trained on at most {MAX_LEN}); and they are output positions "
                    f"{MAX_LEN + 1}–{w.input_len}, which the decoder never wrote in training ({fmt(100 * share, 2)}% "
                    "of the wrong digits are there). These numbers cannot tell the two apart. Neither is §1.2's "
                    "warning about layers that are rarely trained: W is shared, so every step's weights learned from "
                    "every example. Now move <b>Input length</b> from 8 to 16: the end of the green line falls.")


SUFFER = ["much less than the encoder-decoder", "about as much as the encoder-decoder",
          "much more than the encoder-decoder"]


def _suffers(w: TopologiesWidget) -> str:
    """The errors at this length, against the encoder-decoder's at the same length."""
    errors = 100 - _accuracy(w)
    theirs = 100 * (1 - shipped_accuracy_by_length(ENCODER_DECODER)[_length(w) - 1])
    if errors < 0.5 * theirs:
        return SUFFER[0]
    return SUFFER[2] if errors > 2 * theirs else SUFFER[1]


def other_topologies() -> Question:
    w = TopologiesWidget(topology="many-to-one", input_len=16)
    theirs = 100 * shipped_accuracy_by_length(ENCODER_DECODER)[w.input_len - 1]
    return Question(
        f"Past its training lengths the encoder-decoder breaks down: at length {w.input_len} it writes only "
        f"{theirs:.1f}% of its digits right. The many-to-one network was trained on sequences of 1 to {MAX_LEN} "
        f"numbers to say whether their sum is positive (chance: 50%). Now it reads sequences of {w.input_len}. Will "
        "it suffer as much? What percentage of its answers are right?",
        w,
        Choice(_suffers, SUFFER, label="It suffers"),
        Number(_accuracy, unit="%", abs=10, lo=0, hi=100, label="Answers right"),
        explanation="Much less: about 95% of its answers are right at length 16. Its state only has to track one "
                    "running number, the sum so far, not a whole string of digits. Now try the synced many-to-many "
                    "network (the running sum) at length 16.")


FIRST = ["a start symbol", "the first digit of the input", "the last digit of the input",
         "nothing: only the encoder's state"]
NEXT = ["its own previous output ŷ", "the input digits, in reverse order", "the right answer's previous digit",
        "nothing: only the state"]


def _decoder_inputs(w: TopologiesWidget) -> tuple[str, str]:
    """What the diagram of the example shown feeds the decoder's first step, and its later steps."""
    ex = run_topology(w.topology, w.input_len, w.output_len, w.seed)
    nodes, edges = topology_nodes(w.topology, ex)
    n_in = len(ex.inputs)
    states = {n.x: i for i, n in enumerate(nodes) if n.y == 1}
    into = {t: [nodes[a] for a, b in edges if b == states[t]] for t in states}
    first = [n for n in into[n_in] if n.y == 0]
    if first and first[0].text == "x=start":
        start = FIRST[0]
    elif first:
        start = FIRST[1] if first[0].text.startswith("x[0]") else FIRST[2]
    else:
        start = FIRST[3]
    later = [t for t in states if t > n_in]
    if later and all(any(n.y == 2 and n.x == t - 1 for n in into[t]) for t in later):
        feed = NEXT[0]
    elif later and all(not any(n.y in (0, 2) for n in into[t]) for t in later):
        feed = NEXT[3]
    else:
        raise ValueError("the diagram feeds the decoder's later steps something this question has no option for")
    return start, feed


def decoder_reads() -> Question:
    w = TopologiesWidget(topology=ENCODER_DECODER, input_len=5)
    return Question(
        f"The encoder reads the {w.input_len} input digits, one per step; its last state is handed to the decoder, "
        f"whose task is to write the {w.input_len} digits reversed, one per step. What does the decoder read as its "
        "input at its first step, and at the steps after that?",
        w,
        Choice(lambda w: _decoder_inputs(w)[0], FIRST, label="At its first step"),
        Choice(lambda w: _decoder_inputs(w)[1], NEXT, label="At the next steps"),
        explanation="At its first step a start symbol (<i>x=start</i> under the first orange box); after that its "
                    "own previous output ŷ, fed back as the next input (the diagonal arrows), exactly as in "
                    "generation (§1.4). The right answer's digit is fed in only while it is trained (teacher "
                    "forcing); here it writes on its own.")


CARRIED = ["nothing: there is only one step", "the state a, as in an RNN", "the output ŷ, fed back as the next input"]


def _carried(w: TopologiesWidget) -> str:
    nodes, edges = topology_nodes(w.topology, run_topology(w.topology, w.input_len, w.output_len, w.seed))
    states = [i for i, n in enumerate(nodes) if n.y == 1]
    if any(a in states and b in states for a, b in edges):
        return CARRIED[1]
    if any(nodes[a].y == 2 and b in states for a, b in edges):
        return CARRIED[2]
    return CARRIED[0]


def one_to_one() -> Question:
    w = TopologiesWidget(topology="one-to-one")
    return Question(
        "In <i>one-to-one</i> the network reads one input, a digit, and gives one output, the next digit. What is "
        "carried from one step to the next?",
        w, Choice(_carried, CARRIED, label="Carried over"),
        explanation="Nothing: one input, one output, one step, no state carried over. The notes call it \"not an "
                    "RNN\": it is the fully-connected network of the earlier lectures. Now try <i>one-to-many</i>: "
                    "the same step, repeated, with the state and the output carried to the next.")


QUESTIONS = [longer_than_trained, other_topologies, decoder_reads, one_to_one]
