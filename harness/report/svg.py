"""Inline SVG plots: divergence heatmaps, stance timelines and level distributions.

Markup is built only through :func:`el`, which escapes every attribute value and every text child
(:class:`markupsafe.Markup` children pass through), so a delegation id, move id or axis title from the
data can never become markup. Each plot carries a ``<title>``, axis labels and a legend; ids inside a plot
are prefixed with a per-plot ``uid`` so that several plots can share one page.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from markupsafe import Markup, escape

from harness.report.analysis import AxisBlock, DistBlock

# ColorBrewer OrRd (9 classes): pale cream for agreement to deep red for the widest gap.
HEAT = ["#fff7ec", "#fee8c8", "#fdd49e", "#fdbb84", "#fc8d59", "#ef6548", "#d7301f", "#b30000", "#7f0000"]
# Categorical colours for delegations (assigned by order of appearance, never by name).
DELEGATION_COLOURS = ["#2166ac", "#d6604d", "#1b9e77", "#7b3294", "#c7930a", "#66a61e", "#a6761d", "#e7298a"]
DASHES = ["", "6 3", "2 3", "8 3 2 3"]
FONT = "system-ui, -apple-system, 'Segoe UI', 'Liberation Sans', 'DejaVu Sans', sans-serif"
INK, MUTED, GRID = "#1f2933", "#52606d", "#d9e2ec"
UNVERIFIED = "#c53030"
"""Hatching of a unit left unscored because its evidence failed verification."""

Child = Markup | str | None


def el(tag: str, *children: Child, **attrs: object) -> Markup:
    """``<tag a="v">children</tag>``; ``stroke_width`` → ``stroke-width``, ``class_`` → ``class``."""
    parts = [Markup("<{}").format(tag)]
    for name, value in attrs.items():
        if value is None or value == "":
            continue
        shown = f"{value:.1f}" if isinstance(value, float) else str(value)
        parts.append(Markup(' {}="{}"').format(name.rstrip("_").replace("_", "-"), shown))
    inner = Markup("").join(escape(c) for c in children if c is not None)
    parts.append(Markup(">{}</{}>").format(inner, tag) if children else Markup("/>"))
    return Markup("").join(parts)


def delegation_colour(index: int) -> str:
    return DELEGATION_COLOURS[index % len(DELEGATION_COLOURS)] if index >= 0 else "#7b8794"


def _hex(c: str) -> tuple[int, int, int]:
    return int(c[1:3], 16), int(c[3:5], 16), int(c[5:7], 16)


def heat_colour(value: float) -> str:
    """Linear interpolation over the OrRd stops, ``value`` in [0, 1]."""
    v = min(1.0, max(0.0, value)) * (len(HEAT) - 1)
    i = min(int(v), len(HEAT) - 2)
    f = v - i
    a, b = _hex(HEAT[i]), _hex(HEAT[i + 1])
    r, g, bl = (round(x + (y - x) * f) for x, y in zip(a, b, strict=True))
    return f"#{r:02x}{g:02x}{bl:02x}"


def heat_text_colour(value: float) -> str:
    return "#ffffff" if value >= 0.55 else INK


def fmt_level(level: float | None) -> str:
    if level is None:
        return "–"
    return str(int(level)) if float(level).is_integer() else f"{level:.1f}"


def _width(text: str, px: float = 7.0) -> float:
    return len(text) * px


def text(
    x: float,
    y: float,
    content: str,
    *,
    size: int = 12,
    anchor: str = "middle",
    fill: str = INK,
    weight: str | None = None,
    transform: str | None = None,
) -> Markup:
    return el(
        "text",
        content,
        x=float(x),
        y=float(y),
        font_size=size,
        text_anchor=anchor,
        fill=fill,
        font_weight=weight,
        transform=transform,
    )


def line(x1: float, y1: float, x2: float, y2: float, stroke: str, **attrs: object) -> Markup:
    return el("line", x1=float(x1), y1=float(y1), x2=float(x2), y2=float(y2), stroke=stroke, **attrs)


def _width_of(levels: Sequence[int]) -> int:
    return levels[-1] - levels[0]


def _range_of(levels: Sequence[int]) -> str:
    return f"{levels[0]}–{levels[-1]}"


def _svg(uid: str, width: float, height: float, title: str, desc: str, body: list[Markup]) -> Markup:
    return el(
        "svg",
        el("title", title, id=f"{uid}-t"),
        el("desc", desc, id=f"{uid}-d"),
        Markup("").join(body),
        class_="plot",
        id=uid,
        width=round(width),
        height=round(height),
        viewBox=f"0 0 {round(width)} {round(height)}",
        role="img",
        aria_labelledby=f"{uid}-t {uid}-d",
        font_family=FONT,
    )


def _y_label(x: float, y: float, label: str) -> Markup:
    return text(x, y, label, fill=MUTED, size=11, transform=f"rotate(-90 {x:.1f} {y:.1f})")


def heatmap(block: AxisBlock, title: str, uid: str, pair_label: Callable[[tuple[str, str]], str]) -> Markup:
    """Delegation pairs × moves; colour and printed value = |x_i − x_j| / width; hatched where missing."""
    cw, ch, top = 64.0, 34.0, 10.0
    labels = [pair_label(p) for p in block.pairs]
    left = max([_width(lb) for lb in labels] + [60.0]) + 44
    grid_w, grid_h = cw * len(block.moves), ch * len(block.pairs)
    legend_y = top + grid_h + 58
    hatch = el(
        "pattern",
        el("rect", width=6, height=6, fill="#f5f7fa"),
        line(0, 0, 0, 6, "#bcccdc", stroke_width=2),
        id=f"{uid}-hatch",
        width=6,
        height=6,
        patternUnits="userSpaceOnUse",
        patternTransform="rotate(45)",
    )
    unverified = el(
        "pattern",
        el("rect", width=6, height=6, fill="#fdf2f2"),
        line(0, 0, 0, 6, UNVERIFIED, stroke_width=2.5),
        id=f"{uid}-unverified",
        width=6,
        height=6,
        patternUnits="userSpaceOnUse",
        patternTransform="rotate(-45)",
    )
    stops = [el("stop", offset=f"{i / (len(HEAT) - 1):.3f}", stop_color=c) for i, c in enumerate(HEAT)]
    gradient = el("linearGradient", *stops, id=f"{uid}-grad", x1=0, x2=1, y1=0, y2=0)
    body = [el("defs", hatch, unverified, gradient)]
    any_unverified = bool(block.unscored)
    for j, label in enumerate(labels):
        body.append(text(left - 8, top + ch * j + ch / 2 + 4, label, anchor="end"))
    for i, move in enumerate(block.moves):
        body.append(text(left + cw * i + cw / 2, top + grid_h + 16, move, fill=MUTED))
    for j, pair in enumerate(block.pairs):
        for i, move in enumerate(block.moves):
            c = block.cell(pair, move)
            x, y = left + cw * i, top + ch * j
            box = {"x": x, "y": y, "width": cw, "height": ch, "stroke": "#ffffff", "stroke_width": 2}
            reasons = block.reasons(pair, move)
            if c.value is None:
                why = "; ".join(reasons) if reasons else "not scored for both"
                body.append(
                    el(
                        "g",
                        el("title", f"{pair_label(pair)}, {move}: {why}"),
                        el("rect", fill=f"url(#{uid}-{'unverified' if reasons else 'hatch'})", **box),
                        class_="hm-cell hm-missing" + (" hm-unverified" if reasons else ""),
                        data_pair=pair_label(pair),
                        data_move=move,
                        data_reason=why if reasons else None,
                    )
                )
                continue
            levels = f"{pair[0]} {fmt_level(c.level_a)}, {pair[1]} {fmt_level(c.level_b)}"
            runs = f", {c.n} runs" if c.n > 1 else ""
            also = f"; left out: {'; '.join(reasons)}" if reasons else ""
            tip = f"{pair_label(pair)}, {move}: {c.value:.2f} ({levels}{runs}){also}"
            value = text(
                x + cw / 2, y + ch / 2 + 4, f"{c.value:.2f}", fill=heat_text_colour(c.value), weight="600"
            )
            body.append(
                el(
                    "g",
                    el("title", tip),
                    el("rect", fill=heat_colour(c.value), **box),
                    value,
                    class_="hm-cell",
                    data_pair=pair_label(pair),
                    data_move=move,
                    data_value=f"{c.value:.4f}",
                )
            )
    body.append(text(left + grid_w / 2, top + grid_h + 34, "Move", fill=MUTED, size=11))
    body.append(_y_label(14, top + grid_h / 2, "Delegation pair"))
    body.append(text(left, legend_y - 6, "Distance", anchor="start", fill=MUTED, size=11))
    body.append(
        el("rect", x=left, y=legend_y, width=160, height=12, fill=f"url(#{uid}-grad)", stroke="#bcccdc")
    )
    ticks = len(block.levels)
    for k in range(ticks):
        frac = k / (ticks - 1)
        body.append(text(left + 160 * frac, legend_y + 26, f"{frac:.2f}", size=10, fill=MUTED))
    body.append(
        el("rect", x=left + 190, y=legend_y, width=18, height=12, fill=f"url(#{uid}-hatch)", stroke="#bcccdc")
    )
    body.append(text(left + 214, legend_y + 10, "not scored", anchor="start", size=11, fill=MUTED))
    if any_unverified:
        body.append(
            el(
                "rect",
                x=left + 290,
                y=legend_y,
                width=18,
                height=12,
                fill=f"url(#{uid}-unverified)",
                stroke=UNVERIFIED,
            )
        )
        body.append(
            text(
                left + 314, legend_y + 10, "evidence failed verification", anchor="start", size=11, fill=MUTED
            )
        )
    return _svg(
        uid,
        max(left + grid_w + 16, left + 490.0 if any_unverified else 440.0),
        legend_y + 44,
        f"Divergence on {title} ({block.source})",
        f"Distance |x_i − x_j| / {_width_of(block.levels)} between delegation pairs (rows) at each move "
        "(columns); "
        "0 = same level, 1 = opposite ends of the scale; hatched = not scored "
        "(red hatching: a delegation's score rests on evidence that failed verification).",
        body,
    )


def timeline(
    block: AxisBlock, title: str, uid: str, colours: dict[str, int], anchor_text: Callable[[int], str]
) -> Markup:
    """Level per delegation over moves (the axis's scale), one line per delegation, gaps where not scored."""
    left, top, step, plot_h = 58.0, 14.0, 76.0, 150.0
    plot_w = step * max(len(block.moves) - 1, 1)
    legend_y = top + plot_h + 52
    x0 = left + 10

    def px(i: int) -> float:
        return x0 + step * i if len(block.moves) > 1 else x0 + plot_w / 2

    low, width = block.levels[0], _width_of(block.levels)

    def py(level: float) -> float:
        return top + plot_h - plot_h * (level - low) / width

    body: list[Markup] = []
    for lv in block.levels:
        body.append(line(left, py(lv), left + plot_w + 20, py(lv), GRID))
        tip = anchor_text(lv)
        label = text(left - 8, py(lv) + 4, str(lv), anchor="end", fill=MUTED, size=11)
        body.append(el("g", el("title", f"Level {lv}: {tip}") if tip else None, label, class_="tick"))
    for i, move in enumerate(block.moves):
        body.append(text(px(i), top + plot_h + 18, move, fill=MUTED, size=11))
    body.append(text(left + plot_w / 2 + 10, top + plot_h + 36, "Move", fill=MUTED, size=11))
    body.append(_y_label(14, top + plot_h / 2, f"Level ({_range_of(block.levels)})"))
    x_legend = left
    for k, d in enumerate(block.delegations):
        style = {
            "stroke": delegation_colour(colours.get(d, -1)),
            "stroke_width": 2.5,
            "stroke_dasharray": DASHES[k % len(DASHES)],
        }
        offset = (k - (len(block.delegations) - 1) / 2) * 3.0  # keep equal levels from hiding each other
        series = block.series.get(d, [])
        segment: list[str] = []
        for i, value in enumerate([*series, None]):
            if value is not None:
                segment.append(f"{px(i):.1f},{py(value) + offset:.1f}")
                continue
            if len(segment) > 1:
                body.append(el("polyline", points=" ".join(segment), fill="none", **style))
            segment = []
        for i, value in enumerate(series):
            if value is not None:
                tip = f"{d}, {block.moves[i]}: level {fmt_level(value)}"
                body.append(
                    el(
                        "circle",
                        el("title", tip),
                        class_="tl-point",
                        cx=px(i),
                        cy=py(value) + offset,
                        r=4.5,
                        fill=style["stroke"],
                        stroke="#fff",
                        stroke_width=1.5,
                    )
                )
        body.append(el("line", x1=x_legend, x2=x_legend + 22, y1=legend_y - 4, y2=legend_y - 4, **style))
        body.append(text(x_legend + 28, legend_y, d, anchor="start", size=11))
        x_legend += 40 + _width(d)
    return _svg(
        uid,
        max(left + plot_w + 40, 360.0),
        legend_y + 16,
        f"Stances on {title} ({block.source})",
        f"Level {_range_of(block.levels)} of each delegation at each move; "
        "a gap means the axis was not scored.",
        body,
    )


def distribution(block: DistBlock, title: str, uid: str, colours: dict[str, int]) -> Markup:
    """Per delegation: share of scores at each level (dot area) and mean with a 95% bootstrap CI."""
    rows = block.rows
    left = max([_width(r.delegation) for r in rows] + [40.0]) + 40
    top, row_h, step = 14.0, 40.0, 70.0
    bottom = top + row_h * len(rows)

    low = block.levels[0]

    def px(level: float) -> float:
        return left + 20 + step * (level - low)

    body: list[Markup] = []
    for lv in block.levels:
        body.append(line(px(lv), top, px(lv), bottom, GRID))
        body.append(text(px(lv), bottom + 16, str(lv), fill=MUTED, size=11))
    middle = (block.levels[0] + block.levels[-1]) / 2
    body.append(text(px(middle), bottom + 34, f"Level ({_range_of(block.levels)})", fill=MUTED, size=11))
    for j, row in enumerate(rows):
        cy = top + row_h * j + row_h / 2
        colour = delegation_colour(colours.get(row.delegation, -1))
        body.append(text(left - 10, cy + 4, row.delegation, anchor="end"))
        for lv, share in zip(block.levels, row.shares, strict=True):
            if share > 0:
                tip = f"{row.delegation}: {share:.0%} of {row.n_scores} scores at level {lv}"
                body.append(
                    el(
                        "circle",
                        el("title", tip),
                        cx=px(lv),
                        cy=cy,
                        r=3 + 13 * share**0.5,
                        fill=colour,
                        fill_opacity=0.35,
                        stroke=colour,
                    )
                )
        if row.mean is None:
            continue
        ci = ""
        if row.lo is not None and row.hi is not None:
            body.append(line(px(row.lo), cy, px(row.hi), cy, INK, stroke_width=2))
            ci = f" [{row.lo:.2f}, {row.hi:.2f}]"
        x, s = px(row.mean), 5.0
        tip = f"{row.delegation}: mean {row.mean:.2f}{ci} over {row.n_runs} runs"
        diamond = f"M{x:.1f} {cy - s:.1f} L{x + s:.1f} {cy:.1f} L{x:.1f} {cy + s:.1f} L{x - s:.1f} {cy:.1f} Z"
        body.append(el("path", el("title", tip), d=diamond, fill=INK))
    return _svg(
        uid,
        left + step * _width_of(block.levels) + 60,
        bottom + 50,
        f"Level distribution on {title} ({block.source})",
        "Dot area = share of a delegation's scores at each level, over runs and moves; "
        "black diamond and bar = mean level with a 95% cluster-bootstrap interval over runs.",
        body,
    )
