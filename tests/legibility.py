"""What a student sees in a bqplot figure, measured in the browser: overlapping labels and empty colour keys.

``audit(page)`` returns one record per visible figure on the page; ``problems(records)`` turns them into
sentences. Used by tests/test_legibility.py and scripts/legibility_audit.py (the before/after counts).
"""
from __future__ import annotations

#: Two labels overlap when their boxes share more than this fraction of the smaller box.
OVERLAP = 0.3

AUDIT_JS = """([overlap]) => {
  const shown = el => {
    for (let n = el; n && n.nodeType === 1; n = n.parentNode) {
      const s = getComputedStyle(n);
      if (s.display === 'none' || s.visibility === 'hidden' || parseFloat(s.opacity) < 0.1) return false;
      const a = n.getAttribute && n.getAttribute('opacity');
      if (a !== null && parseFloat(a) < 0.1) return false;
      if (n.getAttribute && n.getAttribute('display') === 'none') return false;
    }
    return true;
  };
  const out = [];
  for (const fig of document.querySelectorAll('.bqplot.figure')) {
    const fr = fig.getBoundingClientRect();
    if (fr.width < 2 || fr.height < 2 || !shown(fig)) continue;
    const title = (fig.querySelector('text.mainheading') || {}).textContent || '';
    const boxes = [];
    for (const t of fig.querySelectorAll('text')) {
      const text = t.textContent.trim();
      if (!text || !shown(t)) continue;
      const r = t.getBoundingClientRect();
      if (r.width < 1 || r.height < 1) continue;
      boxes.push({text, l: r.left, t: r.top, r: r.right, b: r.bottom});
    }
    const overlaps = [];
    for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
      const a = boxes[i], b = boxes[j];
      const w = Math.min(a.r, b.r) - Math.max(a.l, b.l), h = Math.min(a.b, b.b) - Math.max(a.t, b.t);
      if (w <= 0 || h <= 0) continue;
      const smaller = Math.min((a.r - a.l) * (a.b - a.t), (b.r - b.l) * (b.b - b.t));
      if (w * h > overlap * smaller) overlaps.push([a.text, b.text]);
    }
    const keys = [];
    for (const bar of fig.querySelectorAll('.ColorBar')) {
      if (!shown(bar)) continue;
      const rect = bar.querySelector('.g-rect rect');
      const r = rect ? rect.getBoundingClientRect() : {width: 0, height: 0};
      const label = (bar.querySelector('.axislabel') || {}).textContent || '';
      keys.push({width: r.width, height: r.height, label});
    }
    // a diagram that promises it (class rnn-no-crossing): no drawn line (a Lines mark's path, sampled every
    // 2 px) runs through a text
    const crossed = new Set();
    if (fig.classList.contains('rnn-no-crossing')) {
      for (const path of fig.querySelectorAll('path.line')) {
        if (!shown(path) || !path.getTotalLength) continue;
        const m = path.getScreenCTM(), n = path.getTotalLength();
        for (let s = 0; s <= n; s += 2) {
          const p = path.getPointAtLength(s).matrixTransform(m);
          for (const b of boxes) if (b.text !== title && p.x > b.l + 1 && p.x < b.r - 1 && p.y > b.t + 1 && p.y < b.b - 1)
            crossed.add(b.text);
        }
      }
    }
    out.push({title, labels: boxes.length, overlaps, keys, crossed: Array.from(crossed)});
  }
  return out;
}"""


def audit(page) -> list[dict]:
    """One record per visible bqplot figure: title, label count, overlapping label pairs, colour keys, and for a
    diagram with the class ``rnn-no-crossing`` (charts.CellDiagram, charts.UnrolledDiagram) the texts a drawn line
    runs through."""
    return page.evaluate(AUDIT_JS, [OVERLAP])


def problems(records: list[dict]) -> list[str]:
    """Sentences for what a student could not read: overlapping labels, a key with no gradient or no meaning,
    a diagram's text with a line through it."""
    found = []
    for rec in records:
        where = rec["title"] or "(untitled figure)"
        for a, b in rec["overlaps"]:
            found.append(f"{where}: labels {a!r} and {b!r} overlap")
        for text in rec.get("crossed", []):
            found.append(f"{where}: a line runs through {text!r}")
        for key in rec["keys"]:
            if key["width"] < 4 or key["height"] < 4:
                found.append(f"{where}: colour key drawn {key['width']:.0f} × {key['height']:.0f} px")
            if not key["label"].strip():
                found.append(f"{where}: colour key does not say what the colour means")
    return found


#: Each widget in an extreme state (the defaults are the tour's): long sequences, wide ranges, many units.
EXTREMES = [
    ("UnrollingWidget(text='recurrent networks read text', token_unit='characters', step=28, mode='untied', "
     "max_len=50)"),
    "WeightSharingWidget(seq_len=30, weight_scale=3.0, step=30, loss_at='every')",
    "TopologiesWidget(topology='many-to-many (encoder-decoder)', input_len=16)",
    "w = GenerationWidget(temperature=3.0, n_generate=300)\nw.generate(300)\nw",
    "GradientFlowWidget(seq_len=300, scale=2.0, nonlinearity='identity', clip=0.01)",
    ("LSTMGatesWidget(source='text', text='Now is the winter of our discontent, made glorious', step=40, "
     "forget_bias=6.0, input_bias=-6.0, output_bias=6.0)"),
    ("from rnn_widgets.core.text_memory import DEFAULT_PASSAGE, MAX_PASSAGE\n"
     "TextMemoryWidget(text=(DEFAULT_PASSAGE * 5)[:MAX_PASSAGE], position=MAX_PASSAGE - 2, model='gru', signal='z', "
     "feature='vowel')"),
]
