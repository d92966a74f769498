"""A self-contained HTML page: plotly.js inlined once, figures as divs, tables, captions; written atomically."""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path

import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

#: Plotly configuration for every figure: no logo, PNG export at double resolution, resize with the window.
PLOT_CONFIG = {
    "displaylogo": False,
    "responsive": True,
    "toImageButtonOptions": {"format": "png", "scale": 2},
    "modeBarButtonsToRemove": ["lasso2d", "select2d"],
}

_CSS = """
body { font-family: -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; color: #1f2933;
       max-width: 1180px; margin: 0 auto; padding: 1.2rem 1.5rem 4rem; line-height: 1.45; }
h1 { font-size: 1.7rem; margin-bottom: .2rem; } h2 { margin-top: 2.4rem; border-bottom: 2px solid #e4e7eb;
     padding-bottom: .2rem; } h3 { margin-top: 1.6rem; }
.lead { font-size: 1.05rem; color: #323f4b; }
p.headline { font-size: 1.15rem; background: #e3f8ef; border-left: 4px solid #1a9850; padding: .5rem .8rem; }
.muted { color: #616e7c; font-size: .9rem; }
table { border-collapse: collapse; margin: .6rem 0 .3rem; font-size: .9rem; }
th, td { border-bottom: 1px solid #e4e7eb; padding: .3rem .6rem; text-align: left; vertical-align: top; }
th { background: #f5f7fa; } td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
figure.plot { margin: 1rem 0 1.6rem; } figure.plot > div { width: 100%; }
figcaption, .caption { color: #52606d; font-size: .9rem; margin-top: .3rem; max-width: 60rem; }
.keyfacts li { margin: .2rem 0; } .note { background: #fffbea; border-left: 4px solid #f0b429;
  padding: .5rem .8rem; margin: .8rem 0; }
nav.toc { background: #f5f7fa; padding: .5rem 1rem; border-radius: 6px; font-size: .9rem; }
nav.toc a { margin-right: 1rem; white-space: nowrap; }
ol.events { font-size: .88rem; color: #323f4b; max-height: 22rem; overflow-y: auto; }
.swatch { display: inline-block; width: .9rem; height: .9rem; border-radius: 2px; vertical-align: middle;
          margin-right: .35rem; }
code { font-size: .85em; background: #f5f7fa; padding: 0 .2em; }
"""


def esc(text: object) -> str:
    """HTML-escape any value."""
    return html.escape(str(text), quote=True)


class Page:
    """Collects HTML blocks and figures; :meth:`render` returns the whole page as one string."""

    def __init__(self, title: str) -> None:
        self.title = title
        self.blocks: list[str] = []
        self.toc: list[tuple[str, str]] = []
        self.n_figures = 0

    def html(self, raw: str) -> None:
        """Append raw (already safe) HTML."""
        self.blocks.append(raw)

    def section(self, title: str, anchor: str, intro: str | None = None) -> None:
        """A level-2 heading listed in the table of contents, with an optional intro paragraph."""
        self.toc.append((anchor, title))
        self.blocks.append(f'<h2 id="{esc(anchor)}">{esc(title)}</h2>')
        if intro:
            self.paragraph(intro)

    def heading(self, text: str, level: int = 3) -> None:
        self.blocks.append(f"<h{level}>{esc(text)}</h{level}>")

    def paragraph(self, text: str, cls: str | None = None) -> None:
        klass = f' class="{cls}"' if cls else ""
        self.blocks.append(f"<p{klass}>{esc(text)}</p>")

    def note(self, text: str) -> None:
        self.blocks.append(f'<div class="note">{esc(text)}</div>')

    def bullets(self, items: Sequence[str], cls: str = "") -> None:
        lis = "".join(f"<li>{esc(i)}</li>" for i in items)
        self.blocks.append(f'<ul class="{cls}">{lis}</ul>')

    def figure(self, fig: go.Figure, caption: str) -> None:
        """Append a plotly figure (no plotly.js of its own) with a caption saying how to read it."""
        self.n_figures += 1
        div = fig.to_html(
            full_html=False,
            include_plotlyjs=False,
            include_mathjax=False,
            config=PLOT_CONFIG,
            div_id=f"figure-{self.n_figures}",
            default_width="100%",
        )
        self.blocks.append(f'<figure class="plot">{div}<figcaption>{esc(caption)}</figcaption></figure>')

    def table(
        self,
        header: Sequence[str],
        rows: Sequence[Sequence[object]],
        caption: str | None = None,
        numeric: Sequence[int] = (),
        raw_cols: Sequence[int] = (),
    ) -> None:
        """A table; cells are escaped except columns in ``raw_cols``; ``numeric`` columns align right."""
        def cell(tag: str, i: int, value: object) -> str:
            klass = ' class="num"' if i in numeric else ""
            text = str(value) if i in raw_cols else esc(value)
            return f"<{tag}{klass}>{text}</{tag}>"

        head = "".join(cell("th", i, h) for i, h in enumerate(header))
        thead = f"<thead><tr>{head}</tr></thead>" if any(str(h) for h in header) else ""
        body = "".join("<tr>" + "".join(cell("td", i, v) for i, v in enumerate(r)) + "</tr>" for r in rows)
        cap = f'<p class="caption">{esc(caption)}</p>' if caption else ""
        self.blocks.append(f"<table>{thead}<tbody>{body}</tbody></table>{cap}")

    def render(self) -> str:
        """The complete page; plotly.js is embedded once, inline, so the file works offline."""
        toc = ""
        if self.toc:
            links = "".join(f'<a href="#{esc(a)}">{esc(t)}</a>' for a, t in self.toc)
            toc = f'<nav class="toc">{links}</nav>'
        body = "\n".join(self.blocks)
        first_h1 = body.find("</h1>")
        if toc and first_h1 >= 0:
            body = body[: first_h1 + 5] + toc + body[first_h1 + 5 :]
        elif toc:
            body = toc + body
        return (
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<meta name="geosim-figures" content="{self.n_figures}">'
            f"<title>{esc(self.title)}</title><style>{_CSS}</style>"
            "<script type=\"text/javascript\">window.PlotlyConfig = {MathJaxConfig: 'local'};</script>"
            f'<script type="text/javascript">{get_plotlyjs()}</script>'
            f"</head><body>\n{body}\n</body></html>\n"
        )


def write_html_atomic(path: str | Path, text: str) -> Path:
    """Write ``text`` to ``path`` atomically (through :func:`sim.results.atomic_write`)."""
    from sim.io import atomic_write

    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)

    def write(p: Path) -> None:
        p.write_text(text, encoding="utf-8")

    atomic_write(target, write)
    return target
