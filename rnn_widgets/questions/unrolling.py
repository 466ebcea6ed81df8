"""examples/01_unrolling.ipynb's questions (§1.2–1.3): every truth computed from the widget's traits with the
functions the widget itself uses (its tokenizer, the core's parameter count and token vectors, its reach curve)."""
from __future__ import annotations

import torch

from ..core import parameter_count, token_vector
from ..widgets.question import Choice, Number, Question
from ..widgets.unrolling import (
    HIDDEN_SIZE,
    INPUT_SIZE,
    UnrollingWidget,
    reach_probability,
    tokenize,
)

SENTENCE = "the cat sat on the mat and then it slept in the sun"


def _tokens(w: UnrollingWidget) -> list[str]:
    return tokenize(w.text, w.token_unit, w.length)


def _layers_needed(w: UnrollingWidget) -> float:
    """One layer per token: as many layers as the sentence has tokens."""
    return float(len(_tokens(w)))


def _reads(max_len: int) -> list[str]:
    return ["it reads the whole sentence", f"it reads the first {max_len} tokens and has no layer for the rest",
            f"it reads the last {max_len} tokens and drops the first ones"]


def _what_it_reads(w: UnrollingWidget) -> str:
    options = _reads(w.max_len)
    return options[0] if len(_tokens(w)) <= w.max_len else options[1]


def fixed_size_input() -> Question:
    w = UnrollingWidget(text=SENTENCE, mode="untied", max_len=12)
    return Question(
        f"The network below has <b>one layer per token</b> (§1.2): token x[l] is read by layer l + 1, with its own "
        f"W<sup>(l+1)</sup>, b<sup>(l+1)</sup>. How many layers does it need to read the sentence "
        f"<i>{SENTENCE}</i>? And with <b>Max length</b> at {w.max_len}, that is {w.max_len} layers, what does it "
        "do with this sentence?",
        w,
        Number(_layers_needed, abs=0.5, lo=1, hi=200, label="Layers needed"),
        Choice(_what_it_reads, _reads(w.max_len), label=f"With Max length {w.max_len}"),
        hold=["mode", "max_len"],  # either would set Step l's range to the number of tokens
        explanation="One layer per token: a sentence of 13 words needs 13 layers. With 12 the network reads the "
                    "first 12 tokens and has no layer for token 13 (the sentence under the diagram says so). "
                    "Sentences have no fixed length (§1.1), so a network with a fixed number of layers either cuts "
                    "long inputs or needs as many layers as the longest one. Now try <b>shared weights</b>: the RNN "
                    "applies the same W, b at every step and reads any length.")


def _untied_count(w: UnrollingWidget) -> float:
    return float(parameter_count(INPUT_SIZE, HIDDEN_SIZE, w.max_len, tied=False))


def _shared_count(w: UnrollingWidget) -> float:
    return float(parameter_count(INPUT_SIZE, HIDDEN_SIZE, w.max_len, tied=True))


def parameter_cost() -> Question:
    w = UnrollingWidget(max_len=50)
    return Question(
        f"The state has {HIDDEN_SIZE} units and each token is a vector of {INPUT_SIZE} numbers. How many parameters "
        f"(the entries of the W's and b's) does each network need to read sentences of up to {w.max_len} tokens: "
        "the one with one layer per token (§1.2), and the one with shared weights (§1.3)?",
        w,
        Number(_untied_count, rel=0.02, lo=0, hi=1e6, label="One layer per token"),
        Number(_shared_count, abs=0.5, lo=0, hi=1e6, label="Shared weights"),
        explanation="A layer has W of 6 × 10 (it reads [a; x], 6 + 4 numbers) and b of 6: 66 numbers. One layer "
                    "per token needs 50 of them, except that the first has no previous layer to read and so no state "
                    "columns (36 fewer): 50 × 66 − 36 = 3,264. The shared RNN needs 66 whatever the length. Now try "
                    "other values of <b>Max length</b> and watch the line of the §1.2 network climb.")


def _reach_percent(w: UnrollingWidget) -> float:
    return float(100 * reach_probability(w.max_len, w.mean_length)[-1])


def late_layers() -> Question:
    w = UnrollingWidget()
    return Question(
        f"The training sequences are {w.mean_length:g} tokens long on average: each is 1 + a Poisson-distributed "
        f"number of tokens with mean {w.mean_length - 1:g}. Layer l of the one-layer-per-token network (§1.2) is "
        f"trained only by the sequences at least l tokens long. What percentage of the training sequences ever "
        f"reaches layer {w.max_len}?",
        w,
        Number(_reach_percent, unit="%", factor=2, lo=0, hi=100, label=f"Sequences reaching layer {w.max_len}"),
        explanation=f"Only about 1.4%, about one sequence in seventy: layer {w.max_len} learns from almost nothing, so a "
                    f"{w.max_len}-word test sentence meets a layer that is barely trained (§1.2's \"later layers get "
                    "trained very rarely\"). With shared weights every step trains the same W, b. Now try a larger "
                    "<b>Mean training length</b>.")


SAME = ["the same vector", "different vectors"]


def _same_vector(w: UnrollingWidget) -> str:
    tokens = _tokens(w)
    return SAME[0] if torch.equal(token_vector(tokens[0], INPUT_SIZE), token_vector(tokens[4], INPUT_SIZE)) \
        else SAME[1]


def token_vectors() -> Question:
    w = UnrollingWidget()
    return Question(
        f"The network reads <i>{w.text}</i>, one token per step, each token turned into a vector x[l] of "
        f"{INPUT_SIZE} numbers. The word <i>the</i> comes twice. Are x[0] and x[4] the same vector or different "
        "ones?",
        w, Choice(_same_vector, SAME, label="x[0] and x[4] are"),
        explanation="The same: each token becomes a fixed vector of the same length for every word (here a random "
                    "one derived from the word, standing in for word2vec, Remark 1.2), so the network sees numbers, "
                    "never letters, and the same word always looks the same to it. Now move <b>Step l</b> to 1 and "
                    "then to 5: the sentence under the map <i>Inputs x[l]</i> prints x[0] and then x[4].")


QUESTIONS = [fixed_size_input, parameter_cost, late_layers, token_vectors]
