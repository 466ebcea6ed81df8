"""Bad input gives a message in the widget and a clear exception in the API (issue 14): settings an export
refuses, weights files that ask for too much, unbounded generation, over-long words, lone surrogates."""
import math

import pytest
import torch
import traitlets

from rnn_widgets import GenerationWidget, UnrollingWidget, cli
from rnn_widgets.core import CharModel, CharVocab, seeded
from rnn_widgets.core.charmodel import LIMITS, check_saved, state_shapes
from rnn_widgets.export import build_page, export_site
from rnn_widgets.widgets import generation
from rnn_widgets.widgets.live_training import LiveTraining
from rnn_widgets.widgets.unrolling import MAX_WORD


# ---------------------------------------------------------------------- export
@pytest.mark.parametrize("options, message", [
    ({"GenerationWidget": {"prompt": "Ω"}}, "does not know these characters of the prompt: 'Ω'"),
    ({"GenerationWidget": {"temperature": math.nan}}, "temperature must be a finite number"),
    ({"GenerationWidget": {"promt": "ROMEO:"}}, "GenerationWidget has no setting 'promt'"),
    ({"GenerationWidget": {"top_k": 1000}}, "top_k"),
])
def test_export_refuses_a_rejected_setting_with_the_widgets_message(tmp_path, options, message):
    with pytest.raises(ValueError, match="^GenerationWidget") as err:
        export_site(tmp_path, ["GenerationWidget"], options=options)
    assert message in str(err.value)
    assert not (tmp_path / "GenerationWidget.html").exists()


def test_export_refuses_settings_for_a_widget_it_does_not_know(tmp_path):
    with pytest.raises(ValueError, match="unknown widget.*Nope"):
        export_site(tmp_path, ["TopologiesWidget"], options={"Nope": {"x": 1}})


def test_a_frame_whose_knob_value_is_refused_stops_the_export(monkeypatch):
    monkeypatch.setattr(UnrollingWidget, "prepare_static_frame", lambda self: self.show_error("no frame here"))
    with pytest.raises(ValueError, match="^UnrollingWidget at .*Step.*: no frame here$"):
        build_page("UnrollingWidget")


def test_export_command_fails_with_the_widgets_message_and_status_2(tmp_path, capsys):
    out = tmp_path / "site"
    status = cli.main(["export", "--out", str(out), "GenerationWidget", "--set", "GenerationWidget.prompt=Ω"])
    err = capsys.readouterr().err
    assert status == 2 and "GenerationWidget: The model does not know these characters" in err
    assert not (out / "GenerationWidget.html").exists()
    assert cli.main(["export", "--out", str(out), "UnrollingWidget", "--set", "UnrollingWidget.mean_length=NaN"]) == 2
    assert "mean_length must be a finite number" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["export", "--out", str(out), "--set", "no-dot-or-equals"])
    assert "expected WIDGET.TRAIT=VALUE" in capsys.readouterr().err


def test_export_command_applies_a_good_setting(tmp_path, capsys):
    assert cli.main(["export", "--out", str(tmp_path), "UnrollingWidget", "--set", "UnrollingWidget.text=zebra crossing",
                     "--set", "UnrollingWidget.max_len=20"]) == 0
    assert "zebra" in (tmp_path / "UnrollingWidget.html").read_text(encoding="utf-8")


# ---------------------------------------------------------------------- weights files
@pytest.fixture
def saved(tmp_path):
    model = seeded(0, lambda: CharModel(CharVocab("abcd "), hidden_size=8, num_layers=1, embed_size=4))
    path = tmp_path / "tiny.pt"
    model.save(path)
    return path


def rewrite(path, **changes):
    blob = torch.load(path, weights_only=True)
    blob.update(changes)
    torch.save(blob, path)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
@pytest.mark.parametrize("layers", [1, 3])
def test_expected_shapes_are_the_models_shapes(cell, layers):
    model = CharModel(CharVocab("xyz"), hidden_size=6, num_layers=layers, embed_size=5, cell=cell)
    actual = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    assert state_shapes(3, 6, layers, 5, cell) == actual


def test_a_saved_model_loads_back(saved):
    model = CharModel.load(saved)
    assert model.config() == {"hidden_size": 8, "num_layers": 1, "embed_size": 4, "cell": "lstm"}


def test_a_huge_config_is_refused_before_the_model_is_built(saved, monkeypatch):
    blob = torch.load(saved, weights_only=True)
    rewrite(saved, config={**blob["config"], "hidden_size": 4096, "num_layers": 4})
    built = []
    monkeypatch.setattr(CharModel, "__init__", lambda self, *a, **k: built.append(a))
    with pytest.raises(ValueError, match=f"hidden_size must be a whole number from 1 to {LIMITS['hidden_size'][1]}"):
        CharModel.load(saved)
    assert built == []


@pytest.mark.parametrize("config, message", [
    ({"hidden_size": 16, "num_layers": 1, "embed_size": 4}, "tensor layers.0.W: expected"),
    ({"hidden_size": 8, "num_layers": 2, "embed_size": 4}, "do not match the config"),
    ({"hidden_size": 8, "num_layers": 1, "embed_size": 4, "cell": "gru"}, "do not match the config"),
    ({"hidden_size": 8, "num_layers": 1, "embed_size": 4, "cell": "transformer"}, "one of 'rnn', 'lstm', 'gru'"),
    ({"hidden_size": True, "num_layers": 1, "embed_size": 4}, "whole number"),
    ({"hidden_size": -8, "num_layers": 1, "embed_size": 4}, "whole number"),
    ({"hidden_size": 8, "num_layers": 1, "embed_size": 4, "__class__": "os.system"}, "config must be"),
    ({"hidden_size": 1024, "num_layers": 4, "embed_size": 512}, "parameters; at most"),
])
def test_a_config_that_does_not_fit_its_tensors_is_refused(saved, config, message):
    rewrite(saved, config=config)
    with pytest.raises(ValueError, match=message):
        CharModel.load(saved)


def test_non_finite_weights_and_odd_files_are_refused(saved):
    blob = torch.load(saved, weights_only=True)
    blob["state"]["readout.bias"][0] = float("nan")
    with pytest.raises(ValueError, match="readout.bias holds NaN"):
        check_saved(blob)
    with pytest.raises(ValueError, match="not a character model"):
        check_saved({"state": {}})
    with pytest.raises(ValueError, match="distinct characters"):
        check_saved({**blob, "chars": "aab"})


# ---------------------------------------------------------------------- caps and messages
def test_generation_stops_at_its_cap_and_says_so(monkeypatch):
    monkeypatch.setattr(generation, "MAX_GENERATED", 250)
    w = GenerationWidget(n_generate=100)
    for _ in range(3):
        w.run_button.click()
    assert len(w.session.generated) == 250 and len(w.session.entropies) == 250
    assert w.error_message == "" and "at most 250" in w.summaries["entropy"].value
    w.run_button.click()
    assert "cap of 250 generated characters" in w.error_message and "Reset" in w.error_message
    assert len(w.session.generated) == 250
    with pytest.raises(ValueError, match="cap of 250"):
        w.generate(1)
    w.reset_button.click()
    assert w.error_message == "" and w.session.generated == []
    w.close()


def test_an_over_long_word_is_a_message_not_a_20000_character_equation():
    w = UnrollingWidget()
    equation = w.equation.value
    w.text = "a" * 20_000
    assert "has 20,000 characters" in w.error_message and f"at most {MAX_WORD}" in w.error_message
    assert w.equation.value == equation
    w.text = "a" * MAX_WORD + " b"
    assert w.error_message == ""
    w.close()


def test_lone_surrogates_are_refused_in_python_in_a_control_and_in_training_text():
    with pytest.raises(traitlets.TraitError, match="lone surrogate"):
        UnrollingWidget(text="ab\ud800cd")
    w = UnrollingWidget(token_unit="characters")
    w.controls["text"].value = "ab\udfffcd"
    assert "lone surrogate (U+DFFF) at position 2" in w.error_message and w.text == "the cat sat on the mat"
    w.close()
    panel = LiveTraining()
    before = panel.text_area.value
    panel.text_area.value = before + "\ud800"
    assert panel.text_area.value == before  # not kept (issue 28): the panel says why
    assert "lone surrogate" in panel.message.value and panel.model is None
    panel.close()
