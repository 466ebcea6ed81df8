"""What a student sees in a bqplot figure, measured in the browser: overlapping labels and empty colour keys;
tick labels that do not equal their ticks' values, legends over the data, text under 11 px, figures cut at the
page's right edge; and in the prose around them, line-heights over 1.6 × the font size and lines over ~80
characters (issue 24).

``audit(page)`` returns one record per visible figure on the page and ``prose(page)`` one per block of text;
``problems(records)`` and ``checks(records, texts)`` turn them into sentences. Used by tests/test_legibility.py
and scripts/legibility_audit.py (the before/after counts).
"""
from __future__ import annotations

#: Two labels overlap when their boxes share more than this fraction of the smaller box.
OVERLAP = 0.3
#: The smallest text a student should have to read (px, as drawn on the screen)
MIN_TEXT_PX = 11.0
#: Prose: line-height at most this many times the font size (ipywidgets' 28 px on 13 px text is 2.15)
MAX_LEADING = 1.6
#: Prose: at most this many characters on a line of a block that wraps ("≤ ~80", issue 24 item 3)
MAX_MEASURE = 82

#: JavaScript: the number a tick label says, or null when it says no number ("T", "␣", "step 3");
#: reads 0.25, −1.5, 1e-3, 50%, 10⁻², 10³
PARSE_JS = r"""(text) => {
  const sup = {'⁰': '0', '¹': '1', '²': '2', '³': '3', '⁴': '4', '⁵': '5', '⁶': '6', '⁷': '7', '⁸': '8', '⁹': '9',
               '⁻': '-', '⁺': '+'};
  const t = text.trim().replace(/\u2212/g, '-');
  let m = t.match(/^([-+]?)10([⁻⁺]?[⁰¹²³⁴⁵⁶⁷⁸⁹]+)$/);
  if (m) {
    const e = Number(Array.from(m[2]).map(c => sup[c]).join(''));
    return {value: (m[1] === '-' ? -1 : 1) * Math.pow(10, e), tol: 1e-9 * Math.pow(10, e)};
  }
  m = t.match(/^([-+]?)(\d*)(?:\.(\d+))?(?:e([-+]?\d+))?(%?)$/i);
  if (!m || (!m[2] && !m[3])) return null;
  const decimals = (m[3] || '').length, exp = Number(m[4] || 0) - (m[5] ? 2 : 0);
  const value = Number(`${m[1]}${m[2] || '0'}.${m[3] || '0'}`) * Math.pow(10, exp);
  return {value, tol: 0.5 * Math.pow(10, exp - decimals)};
}"""

AUDIT_JS = r"""([overlap, minText]) => {
  const parse = @PARSE@;
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
    // every tick label equals its tick's value to the digits it shows, and the ticks sit where their values
    // put them (evenly by value on a linear axis, by its logarithm on a log axis)
    const ticks = [];
    for (const axis of fig.querySelectorAll('g.axis')) {
      if (!shown(axis)) continue;
      const name = ((axis.querySelector(':scope > text.axislabel') || axis.querySelector('text.axislabel') || {})
                    .textContent || '').trim() || 'an axis';
      const points = [];
      for (const tick of axis.querySelectorAll('g.tick')) {
        if (tick.closest('g.axis') !== axis) continue;
        const label = tick.querySelector('text');
        if (!label || !shown(label) || !label.textContent.trim()) continue;
        const said = parse(label.textContent);
        const value = typeof tick.__data__ === 'number' ? tick.__data__ : NaN;
        if (said === null || !Number.isFinite(value)) continue;  // a category ("T", "RNN") or a word
        if (Math.abs(said.value - value) > said.tol + 1e-12 * Math.abs(value))
          ticks.push(`${name}: the tick at ${value} is labelled ${JSON.stringify(label.textContent.trim())}`);
        const m = (tick.getAttribute('transform') || '').match(/translate\(\s*([-\d.e]+)[ ,]+([-\d.e]+)/);
        if (m) points.push({value, x: Number(m[1]), y: Number(m[2])});
      }
      if (points.length >= 3) {
        const along = Math.abs(points[0].x - points[points.length - 1].x) >= Math.abs(points[0].y - points[points.length - 1].y) ? 'x' : 'y';
        const fits = f => {
          const a = points[0], b = points[points.length - 1];
          if (!Number.isFinite(f(a.value)) || f(a.value) === f(b.value)) return false;
          const k = (b[along] - a[along]) / (f(b.value) - f(a.value));
          return points.every(p => Number.isFinite(f(p.value)) && Math.abs(a[along] + k * (f(p.value) - f(a.value)) - p[along]) <= 1.5);
        };
        if (!fits(v => v) && !fits(v => v > 0 ? Math.log10(v) : NaN))
          ticks.push(`${name}: ticks ${points.map(p => p.value).join(', ')} are not spaced by their values`);
      }
    }
    // no legend box on a data mark: no point of a line (sampled every 2 px) and no bar or cell inside the box
    const legend = [];
    const lg = fig.querySelector('g.g_legend');
    if (lg && shown(lg) && lg.querySelector('text.legendtext')) {
      const L = lg.getBoundingClientRect();
      const inside = (x, y) => x > L.left + 1 && x < L.right - 1 && y > L.top + 1 && y < L.bottom - 1;
      const names = Array.from(lg.querySelectorAll('text.legendtext')).map(t => t.textContent.trim()).filter(t => t);
      if (L.width > 2 && L.height > 2) {
        fig.querySelectorAll('path.line').forEach((path, k) => {
          if (lg.contains(path) || !shown(path) || !path.getTotalLength) return;
          const m = path.getScreenCTM(), n = path.getTotalLength();
          for (let s = 0; s <= n; s += 2) {
            const p = path.getPointAtLength(s).matrixTransform(m);
            if (inside(p.x, p.y)) { legend.push(`the legend (${names.join(', ')}) lies on line ${k + 1}`); return; }
          }
        });
        let bars = 0;
        for (const r of fig.querySelectorAll('rect.bar, rect.heatmapcell, path.dot')) {
          if (lg.contains(r) || !shown(r)) continue;
          const b = r.getBoundingClientRect();
          if (b.width < 0.5 || b.height < 0.5) continue;
          if (Math.min(b.right, L.right - 1) > Math.max(b.left, L.left + 1)
              && Math.min(b.bottom, L.bottom - 1) > Math.max(b.top, L.top + 1)) bars += 1;
        }
        if (bars) legend.push(`the legend (${names.join(', ')}) lies on ${bars} bar(s) or cell(s)`);
      }
    }
    // text under MIN_TEXT_PX as drawn (the font size times the figure's scale on the screen)
    const small = [];
    for (const t of fig.querySelectorAll('text')) {
      const text = t.textContent.trim();
      if (!text || !shown(t)) continue;
      const ctm = t.getScreenCTM();
      const px = parseFloat(getComputedStyle(t).fontSize) * (ctm ? Math.hypot(ctm.a, ctm.b) : 1);
      if (px < minText - 0.05) small.push(`${JSON.stringify(text.slice(0, 30))} at ${px.toFixed(1)} px`);
    }
    // cut: the figure's right edge beyond the window, or beyond the visible box of a box around it that clips or
    // scrolls, unless the figure keeps its width (charts.keep_width: a min-width) inside a box that scrolls
    // sideways, by design (a diagram whose texts were placed for its width)
    let cut = null, scrolls = false;
    const keeps = parseFloat(getComputedStyle(fig).minWidth) >= fr.width - 1;
    // what bqplot drew, which may be wider than the figure's box where it was not redrawn at the box's width
    const drawn = Math.max(fr.right, ...Array.from(fig.querySelectorAll(':scope > svg'))
      .map(s => s.getBoundingClientRect().right));
    for (let n = fig.parentElement; n && n !== document.documentElement; n = n.parentElement) {
      const s = getComputedStyle(n);
      if (s.overflowX === 'visible') continue;
      const right = n.getBoundingClientRect().left + n.clientLeft + n.clientWidth;
      if (drawn <= right + 3) continue;  // ipywidgets gives every widget a 2-px margin
      if (keeps && /(auto|scroll)/.test(s.overflowX)) { scrolls = true; break; }
      cut = `cut at ${Math.round(right)} px (figure from ${Math.round(fr.left)} to ${Math.round(drawn)} px)`;
      break;
    }
    if (!cut && !scrolls && drawn > window.innerWidth + 3)
      cut = `its right edge at ${Math.round(drawn)} px, past the ${window.innerWidth}-px window`;
    out.push({title, labels: boxes.length, overlaps, keys, crossed: Array.from(crossed), ticks, legend, small,
              cut, width: window.innerWidth});
  }
  return out;
}"""


PROSE_JS = r"""([minText]) => {
  const shown = el => {
    for (let n = el; n && n.nodeType === 1; n = n.parentNode) {
      const s = getComputedStyle(n);
      if (s.display === 'none' || s.visibility === 'hidden' || parseFloat(s.opacity) < 0.1) return false;
    }
    return el.getClientRects().length > 0;
  };
  const out = [];
  for (const root of document.querySelectorAll('.rnn-widget')) {
    for (const el of root.querySelectorAll('*')) {
      if (el.closest('svg') || el.closest('.rnn-a11y-live') || !shown(el)) continue;
      const own = Array.from(el.childNodes).filter(n => n.nodeType === 3).map(n => n.textContent).join('').trim();
      if (!own) continue;
      const s = getComputedStyle(el);
      const size = parseFloat(s.fontSize);
      const leading = s.lineHeight === 'normal' ? 1.2 * size : parseFloat(s.lineHeight);
      // prose: the text of HTML widgets (titles, explanations, equations, summaries, Generation's output)
      const isProse = !!el.closest('.widget-html-content');
      // the longest line of a prose block, in characters: its text read one character at a time (a line ends
      // where the next character starts left of the last one)
      let perLine = null;
      if (isProse && !/^inline/.test(s.display)) {
        const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
        const range = document.createRange();
        let count = 0, trail = 0, last = -Infinity, lines = 0;
        for (let node = walker.nextNode(); node; node = walker.nextNode()) {
          let block = node.parentElement;
          while (block !== el && /^inline/.test(getComputedStyle(block).display)) block = block.parentElement;
          if (block !== el) continue;  // a block of its own: counted there
          for (let i = 0; i < node.length; i++) {
            range.setStart(node, i); range.setEnd(node, i + 1);
            const r = range.getBoundingClientRect();
            if (r.width === 0 && r.height === 0) continue;
            if (r.left < last - 1) { perLine = Math.max(perLine || 0, count - trail); count = 0; lines += 1; }
            count += 1; last = r.left;
            trail = /\s/.test(node.data[i]) ? trail + 1 : 0;  // the space a line ends with is not read
          }
        }
        perLine = lines ? Math.max(perLine, count - trail) : null;  // one line: no measure to judge
      }
      out.push({text: own.slice(0, 60), size, leading, prose: isProse, perLine,
                control: !!el.closest('.widget-label, .widget-readout, button, .widget-inline-hbox:not(.widget-html)')});
    }
  }
  return out;
}"""


def prose(page) -> list[dict]:
    """One record per visible element of a lesson widget (outside its figures) that holds text of its own: the
    text's start, font size and line-height (px), whether it is prose (an HTML widget's text) and, for a prose
    block that wraps, the characters on its longest line."""
    return page.evaluate(PROSE_JS, [MIN_TEXT_PX])


def checks(records: list[dict], texts: list[dict] | None = None) -> dict[str, list[str]]:
    """Issue 24's checks, each a list of sentences (empty: passed): ``ticks`` (a label that is not its tick's value,
    or ticks not spaced by their values), ``legends`` (a legend box on a line, bar or cell), ``small`` (text drawn
    under 11 px, in a figure or around it), ``cut`` (a figure cut at the window's right edge), ``leading`` (prose
    line-height over 1.6 × its font size) and ``measure`` (a prose line over ~80 characters)."""
    found: dict[str, list[str]] = {k: [] for k in ("ticks", "legends", "small", "cut", "leading", "measure")}
    for rec in records:
        where = rec["title"] or "(untitled figure)"
        found["ticks"] += [f"{where}: {t}" for t in rec["ticks"]]
        found["legends"] += [f"{where}: {t}" for t in rec["legend"]]
        found["small"] += [f"{where}: {t}" for t in rec["small"]]
        if rec["cut"]:
            found["cut"].append(f"{where} at a {rec['width']}-px window: {rec['cut']}")
    for t in texts or []:
        if t["size"] < MIN_TEXT_PX - 0.05:
            found["small"].append(f"{t['text']!r} at {t['size']:.1f} px")
        if t["prose"] and t["leading"] > MAX_LEADING * t["size"] + 0.5:
            found["leading"].append(f"{t['text']!r}: line-height {t['leading']:.1f} px on {t['size']:.1f} px text")
        if t["perLine"] is not None and t["perLine"] > MAX_MEASURE:
            found["measure"].append(f"{t['text']!r}: {t['perLine']:.0f} characters a line")
    return found


#: WCAG 2.1 AA: text 4.5:1 (3:1 at 24 px, or 18.66 px bold), lines that carry data 3:1 (1.4.3, 1.4.11)
CONTRAST_JS = r"""() => {
  const rgba = c => {
    const m = (c || '').match(/rgba?\(([^)]+)\)/);
    if (!m) return null;
    const p = m[1].split(/[\s,\/]+/).filter(x => x).map(Number);
    return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
  };
  const over = (top, under) => {  // top (with alpha) painted over an opaque colour
    const a = top[3];
    return [0, 1, 2].map(i => top[i] * a + under[i] * (1 - a));
  };
  const lum = c => {
    const l = c.map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
    return 0.2126 * l[0] + 0.7152 * l[1] + 0.0722 * l[2];
  };
  const ratio = (a, b) => { const x = lum(a), y = lum(b); return (Math.max(x, y) + 0.05) / (Math.min(x, y) + 0.05); };
  const opacity = el => {
    let o = 1;
    for (let n = el; n && n.nodeType === 1; n = n.parentNode) {
      const s = getComputedStyle(n);
      if (s.display === 'none' || s.visibility === 'hidden') return 0;
      o *= parseFloat(s.opacity);
      const a = n.getAttribute('opacity');
      if (a !== null && !/^svg$/i.test(n.tagName) && s.opacity === '1') o *= parseFloat(a);
    }
    return o;
  };
  // the opaque colour behind a point of an element: the page's and the boxes' backgrounds, then every SVG shape
  // of the figure painted before the element whose fill holds the point
  const behind = (el, x, y) => {
    const chain = [];
    for (let n = el.closest('.bqplot.figure'); n; n = n.parentElement) chain.unshift(n);
    let colour = [255, 255, 255];
    for (const n of chain) {
      const c = rgba(getComputedStyle(n).backgroundColor);
      if (c && c[3] > 0) colour = over(c, colour);
    }
    const fig = el.closest('.bqplot.figure');
    for (const shape of fig.querySelectorAll('rect, path, circle, polygon')) {
      if (shape === el || (shape.compareDocumentPosition(el) & Node.DOCUMENT_POSITION_PRECEDING)) break;
      const s = getComputedStyle(shape);
      const c = rgba(s.fill);
      if (!c || s.fill === 'none') continue;
      const a = c[3] * parseFloat(s.fillOpacity) * opacity(shape);
      if (a < 0.02 || !shape.isPointInFill || !shape.getScreenCTM()) continue;
      const local = new DOMPoint(x, y).matrixTransform(shape.getScreenCTM().inverse());
      if (shape.isPointInFill(local)) colour = over([c[0], c[1], c[2], a], colour);
    }
    return colour;
  };
  const out = [];
  for (const fig of document.querySelectorAll('.rnn-widget .bqplot.figure')) {
    const title = (fig.querySelector('text.mainheading') || {}).textContent || '';
    for (const t of fig.querySelectorAll('text')) {
      const text = t.textContent.trim();
      const o = opacity(t);
      if (!text || o < 0.1) continue;
      const r = t.getBoundingClientRect();
      if (r.width < 1 || r.height < 1) continue;
      const s = getComputedStyle(t);
      const c = rgba(s.fill);
      if (!c) continue;
      const bg = behind(t, r.left + r.width / 2, r.top + r.height / 2);
      const fg = over([c[0], c[1], c[2], c[3] * parseFloat(s.fillOpacity) * o], bg);
      const size = parseFloat(s.fontSize), bold = parseInt(s.fontWeight) >= 700;
      // a legend's swatch drawn with a glyph (━━, ■) is a graphic, not text: 3:1 (1.4.11)
      const swatch = /^[\u2500-\u25FF\s]+$/.test(text);
      const need = swatch || size >= 24 || (bold && size >= 18.66) ? 3 : 4.5;
      out.push({title, kind: swatch ? 'swatch' : 'text', text: text.slice(0, 40), ratio: ratio(fg, bg), need});
    }
    for (const path of fig.querySelectorAll('path.line')) {
      const s = getComputedStyle(path);
      const c = rgba(s.stroke);
      const o = opacity(path);
      if (!c || s.stroke === 'none' || o < 0.1 || !path.getTotalLength || path.getTotalLength() < 4) continue;
      // the median over nine points along the line: where it crosses a marker or a bar is not its background
      const ratios = [1, 2, 3, 4, 5, 6, 7, 8, 9].map(k => {
        const m = path.getPointAtLength(path.getTotalLength() * k / 10).matrixTransform(path.getScreenCTM());
        const bg = behind(path, m.x, m.y);
        return ratio(over([c[0], c[1], c[2], c[3] * parseFloat(s.strokeOpacity) * o], bg), bg);
      }).sort((a, b) => a - b);
      out.push({title, kind: 'line', text: s.stroke + (s.strokeDasharray !== 'none' ? ' dashed' : ''),
                ratio: ratios[4], need: 3});
    }
  }
  return out;
}"""


def contrast(page) -> list[dict]:
    """Every text and line of the lesson widgets' figures with its WCAG contrast ratio against what is painted
    behind it (the page, the figure's surface, a heat-map cell) and the ratio it needs. axe-core's color-contrast
    rule leaves SVG text "incomplete" (it reads an element's CSS ``color``, not the ``fill`` SVG text is painted
    with), so the figures' text is measured here with the same formula."""
    return page.evaluate(CONTRAST_JS)


def low_contrast(items: list[dict]) -> list[str]:
    return [f"{i['title'] or '(untitled figure)'}: {i['kind']} {i['text']!r} at {i['ratio']:.2f}:1 (needs {i['need']}:1)"
            for i in items if i["ratio"] < i["need"] - 0.005]


def audit(page) -> list[dict]:
    """One record per visible bqplot figure: title, label count, overlapping label pairs, colour keys, and for a
    diagram with the class ``rnn-no-crossing`` (charts.CellDiagram, charts.UnrolledDiagram) the texts a drawn line
    runs through."""
    return page.evaluate(AUDIT_JS.replace("@PARSE@", PARSE_JS), [OVERLAP, MIN_TEXT_PX])


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
