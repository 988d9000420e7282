"""The digest's chart: the share KPIs of the last weeks as lines, drawn by matplotlib
into a PNG in memory.

Drawn on an Agg canvas of its own (no pyplot, no global figure state): it needs no
display, and each figure is independent of any other drawn in the process. Texts are in
the staff's language, so the font must have Chinese and Cyrillic as well as Latin: the
families are tried in order for each glyph (matplotlib's font fallback), and only
installed ones are named, so a missing family is not a warning at every draw. Debian's
fonts-noto-cjk provides the first ones.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from babel import Locale
from babel.dates import format_skeleton

from careloop.handlers.views.kpi_labels import kpi_name
from careloop.kernel.i18n import Translator
from careloop.surveys.weekly import Week

# Noto Sans CJK has Latin, Cyrillic and Chinese in one face; DejaVu Sans (matplotlib's
# own) covers Latin and Cyrillic where it is missing.
FAMILIES = ("Noto Sans CJK SC", "Noto Sans CJK JP", "Noto Sans CJK TC", "Droid Sans Fallback",
            "WenQuanYi Zen Hei", "DejaVu Sans")
WIDTH_INCHES, HEIGHT_INCHES, DPI = 10.0, 5.0, 100  # 1000 × 500 pixels
SIZE = (round(WIDTH_INCHES * DPI), round(HEIGHT_INCHES * DPI))
# The share KPIs, on one 0–100 % axis; times and NPS have scales of their own.
LINES = ("coverage", "csat", "resolution_rate", "sla_compliance", "repurchase_rate")


def families() -> list[str]:
    from matplotlib import font_manager

    installed = {f.name for f in font_manager.fontManager.ttflist}
    return [f for f in FAMILIES if f in installed] or ["DejaVu Sans"]


def weekly_chart(tr: Translator, weeks: Sequence[Week], title: str) -> bytes:
    """A PNG of SIZE pixels: one line per share KPI, a point per week (a gap where a
    week had nothing to count)."""
    # Imported here: matplotlib takes a second to import, which every command and every
    # start of the bot would pay for a chart drawn once a week.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    locale = Locale.parse(tr.language)
    labels = [format_skeleton("MMMd", w.monday, locale=locale) for w in weeks]
    fig = Figure(figsize=(WIDTH_INCHES, HEIGHT_INCHES), dpi=DPI)
    FigureCanvasAgg(fig)
    font = {"family": families()}
    ax = fig.add_subplot()
    x = list(range(len(weeks)))
    for key in LINES:
        values = [w.kpis.values()[key] for w in weeks]
        ax.plot(x, [float("nan") if v is None else v for v in values], marker="o",
                linewidth=2, label=kpi_name(tr, key))
    ax.set_ylim(0, 105)
    ax.set_xticks(x, labels, fontdict=font)
    ax.set_ylabel("%", fontdict=font)
    ax.set_title(title, fontdict={**font, "fontsize": 14})
    ax.grid(True, alpha=0.3)
    # Below the plot, so that no line is hidden behind it.
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.08), ncols=len(LINES),
              prop={"family": families(), "size": 9}, frameon=False)
    for tick in ax.get_yticklabels():
        tick.set_fontfamily(families())
    fig.tight_layout()
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=DPI)
    return out.getvalue()
