"""§1.4 sampling, the character vocabulary, the trainer, the device switch, the core's isolation from the UI."""
import subprocess
import sys

import pytest
import torch

from rnn_widgets.core import (
    GREEDY_BELOW,
    CharModel,
    CharVocab,
    TrainConfig,
    Trainer,
    UnknownCharacterError,
    entropy,
    get_device,
    make_generator,
    next_distribution,
    resolve_device,
    sample_next,
    set_device,
)

LOGITS = torch.tensor([2.0, 1.0, 0.5, -1.0, 0.0])


def test_temperature_reshapes_the_distribution():
    cold, warm, hot = (next_distribution(LOGITS, t) for t in (0.5, 1.0, 3.0))
    torch.testing.assert_close(warm, torch.softmax(LOGITS.double(), -1))
    assert cold[0] > warm[0] > hot[0]
    assert entropy(cold) < entropy(warm) < entropy(hot)
    for p in (cold, warm, hot):
        assert p.sum().item() == pytest.approx(1.0)


@pytest.mark.parametrize("t", [0.0, GREEDY_BELOW / 10, 1e-300])
def test_temperature_near_zero_is_greedy_not_a_division_by_zero(t):
    p = next_distribution(LOGITS, t)
    assert torch.equal(p, torch.tensor([1.0, 0, 0, 0, 0], dtype=torch.float64))
    assert sample_next(LOGITS, t, generator=make_generator(0)) == 0


def test_top_k_keeps_only_the_k_best():
    p = next_distribution(LOGITS, 1.0, top_k=2)
    assert (p[:2] > 0).all() and (p[2:] == 0).all()
    assert torch.equal(next_distribution(LOGITS, 1.0, top_k=0), next_distribution(LOGITS, 1.0))
    with pytest.raises(ValueError, match="top_k"):
        next_distribution(LOGITS, 1.0, top_k=-1)
    with pytest.raises(ValueError, match="temperature"):
        next_distribution(LOGITS, -1.0)


def test_same_seed_same_samples_and_greedy_is_argmax():
    draw = lambda seed: [sample_next(LOGITS, 2.0, generator=g) for g in [make_generator(seed)] for _ in range(50)]
    assert draw(7) == draw(7)
    assert draw(7) != draw(8)
    assert sample_next(LOGITS, 5.0, greedy=True) == 0


def test_vocab_round_trip_and_unknown_policy():
    v = CharVocab.from_text("hello world")
    assert v.decode(v.encode("low hell")) == "low hell"
    with pytest.raises(UnknownCharacterError) as err:
        v.encode("hello Zoë")
    assert err.value.characters == ["Z", "ë"]
    assert "'Z'" in str(err.value) and isinstance(err.value, ValueError)
    assert v.decode(v.encode("hello Zoë", errors="drop")) == "hello o"
    assert v.decode(v.encode("hi", errors="replace")) == "h "
    with pytest.raises(ValueError, match="outside"):
        v.decode([99])
    with pytest.raises(ValueError):
        CharVocab.from_text("")
    assert CharVocab.display("\n") == "⏎" and CharVocab.display(" ") == "␣"


def test_trainer_reports_through_callbacks_and_learns():
    text = "abcabcabcabd" * 40
    vocab = CharVocab.from_text(text)
    torch.manual_seed(0)
    model = CharModel(vocab, hidden_size=16, num_layers=1, embed_size=4)
    trainer = Trainer(model, vocab.encode(text), TrainConfig(steps=60, batch_size=8, seq_len=12, lr=1e-2))
    seen = []
    trainer.add_callback("on_step", lambda tr, info: seen.append(info.loss))
    ended = []
    trainer.add_callback("on_end", lambda tr, info: ended.append(info.step))
    trainer.fit()
    assert len(seen) == 60 and ended == [60]
    assert sum(seen[-10:]) / 10 < 0.5 * sum(seen[:10]) / 10
    assert model.generate("abc", 6, greedy=True) == "abcabc"


def test_trainer_stops_on_request_and_rejects_short_data():
    vocab = CharVocab.from_text("abc")
    model = CharModel(vocab, hidden_size=4, num_layers=1, embed_size=2)
    trainer = Trainer(model, vocab.encode("abc" * 20), TrainConfig(steps=100, seq_len=5))
    trainer.add_callback("on_step", lambda tr, info: tr.request_stop() if info.step == 3 else None)
    assert trainer.fit().step == 3
    with pytest.raises(ValueError, match="longer than seq_len"):
        Trainer(model, vocab.encode("abc"), TrainConfig(seq_len=5))


def test_generation_is_reproducible_by_seed():
    vocab = CharVocab.from_text("abcdefgh ")
    torch.manual_seed(0)
    model = CharModel(vocab, hidden_size=8, num_layers=1, embed_size=4)
    a = model.generate("abc", 30, temperature=1.5, seed=3)
    assert a == model.generate("abc", 30, temperature=1.5, seed=3) and len(a) == 30
    assert a != model.generate("abc", 30, temperature=1.5, seed=4)
    with pytest.raises(ValueError, match="empty"):
        model.generate("", 5)


def test_device_resolution():
    assert set_device("cpu") == torch.device("cpu") and get_device() == torch.device("cpu")
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(ValueError, match="device must be one of"):
        set_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="no CUDA GPU"):
            set_device("cuda")
        assert get_device() == torch.device("cpu")  # a failed switch changes nothing


def test_importing_the_core_leaves_the_ui_unimported():
    code = "import sys, rnn_widgets.core; print(sorted(m for m in ('ipywidgets', 'bqplot') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.cuda
def test_cuda_trace_matches_cpu():
    from rnn_widgets.core import LSTM
    lstm = LSTM(5, 16)
    x = torch.randn(50, 4, 5)
    cpu = lstm.trace(x)
    gpu = lstm.to("cuda").trace(x.cuda())
    for name in ("c", "h", "f", "o"):
        torch.testing.assert_close(gpu[name].cpu(), cpu[name], atol=1e-5, rtol=1e-4)
