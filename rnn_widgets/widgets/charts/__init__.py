"""bqplot figures shared by the widgets, one concern a module: built once, then only their marks' data change.

- :mod:`.figure`: a figure's margins, widths and plot area; the lecture's superscripts (``sup``)
- :mod:`.axes`: ticks and their labels (``set_ticks``, ``fit_y``, ``fit_ordinal_x``): labels equal their values,
  log axes tick at powers of ten, legends (:mod:`.legend`) sit in a row under the x axis
- :mod:`.builders`: line, bar and grouped-bar charts, heat maps with their colour keys (``set_key``)
- :mod:`.maps`: filling a heat map (``fill_grid``), the characters under its columns (a window of them that
  follows the step where not all fit: ``show_step``), its cursor
- :mod:`.geometry`, :mod:`.unrolled`, :mod:`.cell`: the diagrams (``UnrolledDiagram``, ``CellDiagram``) and how
  they place their texts clear of every line

The widgets import from the module that holds what they use; the names below are kept for older imports
(``from rnn_widgets.widgets.charts import sup``).
"""
from .axes import (
    decade_label,
    fit_ordinal_x,
    fit_y,
    integer_ticks,
    js_decade,
    linear_format,
    linear_ticks,
    log_range,
    nice_step,
    ordinal_ticks,
    set_ticks,
)
from .builders import (
    bar_chart,
    grouped_bar_chart,
    heat_map,
    line_chart,
    set_key,
    timeline_map,
)
from .cell import CELL_PLACES, CellDiagram, Part
from .figure import (
    FIG_MARGIN,
    FULL_WIDTH,
    HALF_WIDTH,
    KEY_BAND,
    keep_width,
    plot_size,
    sup,
)
from .geometry import LABEL_HALF_HEIGHT, _crossings, text_px
from .legend import legend_boxes, legend_rows, show_in_legend
from .maps import display_char, fill_grid, place_cursor, token_label
from .unrolled import LAYER_COLORS, Node, UnrolledDiagram, layer_color

__all__ = [
    "CELL_PLACES", "FIG_MARGIN", "FULL_WIDTH", "HALF_WIDTH", "KEY_BAND", "LABEL_HALF_HEIGHT", "LAYER_COLORS",
    "CellDiagram", "Node", "Part", "UnrolledDiagram", "_crossings", "bar_chart", "decade_label",
    "display_char", "fill_grid", "fit_ordinal_x", "fit_y", "grouped_bar_chart", "heat_map", "integer_ticks",
    "js_decade", "keep_width", "layer_color", "legend_boxes", "legend_rows", "line_chart", "linear_format", "linear_ticks",
    "log_range", "nice_step", "ordinal_ticks", "place_cursor", "plot_size", "set_key", "set_ticks", "show_in_legend", "sup",
    "text_px", "timeline_map", "token_label",
]
