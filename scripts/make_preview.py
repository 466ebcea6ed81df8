"""Take the picture a widget's page shows while the live widget starts (rnn_widgets/preview.py).

    python scripts/make_preview.py [UnrollingWidget ...] [--scale 2]

For each widget class (default: the tour's first, UnrollingWidget) Voila renders ``WidgetClass()`` in Debian
Chromium, and the widget, once every figure is drawn, is saved as rnn_widgets/widgets/data/preview_NAME.png, with
preview_NAME.json beside it: the fingerprint of the widget's state (the picture is shown only for a widget whose
state has this fingerprint), its size in CSS pixels, and how many figures the live widget draws (the page keeps
the picture until the live widget has drawn that many). Run it again whenever tests/test_preview.py says a
picture is out of date.
"""
from __future__ import annotations

import argparse
import io
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from browser_support import CHROMIUM, CHROMIUM_ARGS, voila_server, write_notebook

import rnn_widgets
from rnn_widgets.preview import DATA, fingerprint

FIGURES_DRAWN = "n => { const w = document.querySelector('.rnn-widget'); return w && " \
                "w.querySelectorAll('.bqplot.figure').length >= n; }"  # then 2.5 s for the marks


def smaller_png(png: bytes) -> bytes:
    """The same picture in fewer bytes when Pillow is there (an optimised 256-colour palette: the widgets use a
    few flat colours and grey antialiasing); otherwise Chromium's PNG as it is."""
    try:
        from PIL import Image
    except ImportError:
        return png
    image = Image.open(io.BytesIO(png)).convert("RGB")
    out = io.BytesIO()
    image.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(out, "PNG",
                                                                                                optimize=True)
    return out.getvalue() if out.tell() < len(png) else png


def take(name: str, scale: float, page_factory) -> dict:
    widget = getattr(rnn_widgets, name)()
    expected = len(widget.figures)
    meta = {"widget": name, "fingerprint": fingerprint(widget), "figures": expected}
    widget.close()
    with tempfile.TemporaryDirectory() as tmp:
        nb = write_notebook(Path(tmp) / "preview.ipynb", [f"from rnn_widgets import {name}\n{name}()"])
        with voila_server(nb, Path(tmp) / "voila.log") as url:
            page = page_factory()
            page.goto(url, timeout=180_000)
            page.wait_for_function(FIGURES_DRAWN, arg=expected, timeout=180_000)
            page.wait_for_timeout(2500)  # bqplot's transitions
            element = page.query_selector(".rnn-widget")
            box = element.bounding_box()
            png = element.screenshot(animations="disabled", caret="hide")
            page.close()
    png = smaller_png(png)
    (DATA / f"preview_{name}.png").write_bytes(png)
    meta.update(width=round(box["width"]), height=round(box["height"]), scale=scale)
    (DATA / f"preview_{name}.json").write_text(json.dumps(meta, indent=1) + "\n")
    print(f"{name}: {meta['width']}x{meta['height']} CSS px at {scale}x, {len(png) / 1e3:.0f} kB, "
          f"{expected} figures, fingerprint {meta['fingerprint'][:12]}")
    return meta


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("widgets", nargs="*", default=["UnrollingWidget"])
    ap.add_argument("--scale", type=float, default=1.5, help="device pixels per CSS pixel (sharper, larger)")
    ap.add_argument("--width", type=int, default=1000, help="the browser window's width in CSS pixels")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            def page_factory():
                return browser.new_page(viewport={"width": args.width, "height": 3000},  # all of it in view
                                        device_scale_factor=args.scale)
            for name in args.widgets:
                take(name, args.scale, page_factory)
        finally:
            browser.close()


if __name__ == "__main__":
    main()
