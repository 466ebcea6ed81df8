"""The picture a page shows while its first widget starts (rnn_widgets/preview.py): shown only for the state it
pictures, up to date with the widget, described in words, and carried by the tour's first widget under Voila.
(The page itself, in Chromium: tests/test_gallery.py.)"""
import asyncio
import html
import json
import struct

import ipywidgets as W
import nbformat
import pytest
import traitlets

from rnn_widgets import UnrollingWidget
from rnn_widgets.gallery import CLASSROOM_CONFIG, TEMPLATES, Tour
from rnn_widgets.preview import DATA, WithPreview, fingerprint, preview_html, stored

REMAKE = "the widget's first state changed: take its picture again with `python scripts/make_preview.py`"


@pytest.fixture
def unrolling():
    w = UnrollingWidget()
    yield w
    w.close()


def png_size(png: bytes) -> tuple[int, int]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", png[16:24])


def test_the_stored_picture_is_of_the_widget_as_it_is_built_now(unrolling):
    meta = stored("UnrollingWidget")
    assert meta is not None
    assert meta["fingerprint"] == fingerprint(unrolling), REMAKE
    assert meta["figures"] == len(unrolling.figures)
    width, height = png_size(meta["png"])  # taken at `scale` device pixels per CSS pixel
    assert abs(width - meta["width"] * meta["scale"]) <= 1 and abs(height - meta["height"] * meta["scale"]) <= 1


def test_the_picture_is_shown_for_the_default_state_only(unrolling):
    picture = preview_html(unrolling)
    assert picture.startswith('<figure class="rnn-preview" aria-busy="true" data-figures="5">')
    assert 'src="data:image/png;base64,' in picture and 'width="' in picture
    unrolling.step = 3  # a student (or the notebook's author) moved a knob: the picture would be wrong
    assert preview_html(unrolling) is None
    other = UnrollingWidget(text="a dog ran")
    assert preview_html(other) is None
    other.close()
    assert preview_html(W.IntSlider()) is None  # no picture stored for this kind of widget


def test_the_picture_says_in_words_what_it_shows(unrolling):
    alt = html.unescape(preview_html(unrolling).split('alt="', 1)[1].split('"', 1)[0])
    assert alt.startswith("A picture of the widget “Unrolling: one token per step” in its first state.")
    assert "6 tokens → 6 steps" in alt and "<span" not in alt and "<sup" not in alt  # summaries, as plain text
    assert "This is only a picture of the widget" in preview_html(unrolling)  # what the page says over it


def test_the_fingerprint_ignores_model_ids_and_rounding_noise_not_what_is_drawn():
    def box(value, text="x"):
        return W.VBox([W.FloatSlider(value=value), W.HTML(text)])

    a, b = box(0.5), box(0.5 + 1e-9)
    assert fingerprint(a) == fingerprint(b)  # other model ids, the same picture
    assert fingerprint(box(0.6)) != fingerprint(a)
    assert fingerprint(box(0.5, "y")) != fingerprint(a)
    assert fingerprint(W.VBox([a.children[1], a.children[0]])) != fingerprint(a)  # the order of children
    assert fingerprint(box(-0.0)) == fingerprint(box(1e-17)) == fingerprint(box(0.0))  # zero, however computed
    assert fingerprint(W.Image(value=b"png")) == fingerprint(W.Image(value=b"png"))  # bytes by content
    assert fingerprint(W.Image(value=b"png")) != fingerprint(W.Image(value=b"gif"))
    for w in (a, b):
        w.close()


def test_a_trait_value_with_no_stable_form_means_no_fingerprint_and_no_picture(unrolling):
    unrolling.children[0].add_traits(odd=traitlets.Any(object()).tag(sync=True))
    with pytest.raises(TypeError, match="cannot fingerprint"):
        fingerprint(unrolling)
    tour = Tour(lazy=True)
    assert "text/html" not in tour.add(lambda: unrolling)._repr_mimebundle_()  # the page just has no picture


def test_with_preview_adds_the_picture_after_the_widget_view():
    slider = W.IntSlider()
    data, metadata = WithPreview(slider, "<figure>p</figure>")._repr_mimebundle_()
    assert list(data)[:2] == ["text/plain", "application/vnd.jupyter.widget-view+json"]
    assert data["text/html"] == "<figure>p</figure>" and metadata == {"rnn_widgets": {"preview": True}}
    assert WithPreview(slider, None)._repr_mimebundle_() == slider._repr_mimebundle_()
    slider.close()


def test_under_voila_the_tour_shows_the_picture_of_its_first_widget_only_when_it_is_the_default():
    tour = Tour(lazy=True)
    data, metadata = tour.add(UnrollingWidget)._repr_mimebundle_()
    assert 'class="rnn-preview"' in data["text/html"] and metadata["rnn_widgets"]["preview"]
    later = tour.add(UnrollingWidget)  # a placeholder, built when the page asks: no picture
    assert not isinstance(later, WithPreview)
    other = Tour(lazy=True)
    assert "text/html" not in other.add(lambda: UnrollingWidget(step=2))._repr_mimebundle_()
    for w in [*tour.widgets, *other.widgets, later]:
        w.close()


def test_the_gallery_template_is_where_voila_looks_for_it():
    name = CLASSROOM_CONFIG["VoilaConfiguration"]["template"]
    folder = TEMPLATES / "voila" / "templates" / name
    assert json.loads((folder / "conf.json").read_text()) == {"base_template": "lab"}
    page = (folder / "index.html.j2").read_text()
    assert "rnn_widgets" in page and "rnnShowPreview" in page
    assert sorted(p.name for p in DATA.glob("preview_*")) == ["preview_UnrollingWidget.json",
                                                               "preview_UnrollingWidget.png"]


def render_page(outputs, monkeypatch) -> str:
    """The page Voila's exporter writes with the gallery's template for one code cell with ``outputs``."""
    monkeypatch.setenv("JUPYTER_PATH", str(TEMPLATES))
    from voila.exporter import VoilaExporter
    from voila.paths import collect_template_paths

    name = CLASSROOM_CONFIG["VoilaConfiguration"]["template"]
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# The tour"),
                nbformat.v4.new_code_cell("tour.add(...)", outputs=outputs)]
    exporter = VoilaExporter(template_paths=collect_template_paths(["voila", "nbconvert"], name), template_name=name)

    async def kernel_start(nb):
        return "kernel-id"

    async def cells(nb, kernel_id):
        for cell in nb.cells:
            yield cell

    async def page():
        context = {"frontend": "voila", "main_js": "voila.js", "kernel_start": kernel_start, "cell_generator": cells,
                   "notebook_execute": None, "progressive_rendering": False}
        return "".join([chunk async for chunk, _ in exporter.generate_from_notebook_node(
            nb, resources={"base_url": "/"}, extra_context=context, page_config={})])

    return asyncio.run(page())


def cell_outputs(page: str) -> list[dict]:
    marker = '<script type="application/vnd.voila.cell-output+json">'
    return [json.loads(part.split("</script>", 1)[0]) for part in page.split(marker)[1:]]


VIEW = {"application/vnd.jupyter.widget-view+json": {"model_id": "m", "version_major": 2, "version_minor": 0}}


def test_the_template_writes_the_picture_once_before_the_output_the_front_end_draws(monkeypatch):
    marked = nbformat.v4.new_output("display_data", data={"text/plain": "VBox()", **VIEW, "text/html":
                                    '<figure class="rnn-preview">PICTURE</figure>'},
                                    metadata={"rnn_widgets": {"preview": True}})
    page = render_page([marked], monkeypatch)
    assert page.count("PICTURE") == 1  # not again inside the output's JSON
    assert page.index("PICTURE") < page.index("rnnShowPreview(document.currentScript") < page.index("cell-output+json")
    [output] = cell_outputs(page)
    assert set(output["data"]) == {"text/plain", *VIEW} and output["trusted"]


@pytest.mark.parametrize("metadata", [{}, {"rnn_widgets": True}, {"rnn_widgets": {"preview": False}}],
                         ids=["unmarked", "malformed", "not a picture"])
def test_any_other_output_is_written_as_voila_writes_it(metadata, monkeypatch):
    other = nbformat.v4.new_output("display_data", data={"text/plain": "x", "text/html": "<b>HTML</b>"},
                                   metadata=metadata)
    page = render_page([other], monkeypatch)
    assert "rnnShowPreview(document.currentScript" not in page
    [output] = cell_outputs(page)
    assert output["data"]["text/html"] == "<b>HTML</b>"
