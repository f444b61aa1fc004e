"""The report's figures, drawn headless (matplotlib's Agg backend) into PNG bytes.

Each function returns the PNG of one figure; the caller writes it as a file and embeds it in the
page. matplotlib is imported here only, when a report is drawn.
"""

from __future__ import annotations

import io

import numpy as np

TIMELINE_VIDEOS = 3


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    _plt().close(fig)
    return buf.getvalue()


def training(folds) -> bytes:
    """Training terms and validation score per epoch, the kept epoch marked; one line per fold."""
    plt = _plt()
    fig, (ax_loss, ax_val) = plt.subplots(1, 2, figsize=(11, 3.8))
    for f in folds:
        epochs = [e["epoch"] + 1 for e in f.history]
        for term in sorted({t for e in f.history for t in e.get("train", {})}):
            ax_loss.plot(epochs, [e.get("train", {}).get(term, np.nan) for e in f.history],
                         marker=".", label=f"{f.name} {term}" if len(folds) > 1 else term)
        val = [np.nan if e.get("val") is None else e["val"] for e in f.history]
        line, = ax_val.plot(epochs, val, marker=".", label=f.name)
        if f.chosen is not None:
            ax_val.plot([f.chosen + 1], [f.best], marker="*", markersize=14,
                        color=line.get_color(), linestyle="none")
    ax_loss.set(title="training loss terms", xlabel="epoch")
    ax_val.set(title="validation score (★ kept epoch)", xlabel="epoch", ylabel="official metric")
    for ax in (ax_loss, ax_val):
        ax.xaxis.get_major_locator().set_params(integer=True)
        if ax.lines:
            ax.legend(fontsize=7)
    return _png(fig)


def sweep(curves: dict, chosen: dict) -> bytes:
    """Per output group, the group's share of the score against the window, per smoother; the
    chosen (kind, window) marked."""
    plt = _plt()
    groups = list(curves)
    fig, axes = plt.subplots(1, len(groups), figsize=(4.2 * len(groups), 3.6), squeeze=False)
    for ax, g in zip(axes[0], groups, strict=True):
        for kind, points in curves[g].items():
            w, v = zip(*points, strict=True)
            ax.plot(w, v, marker=".", label=kind)
        c = chosen.get(g)
        if c:
            at = dict(map(tuple, curves[g].get(c["kind"], [])))
            if c["window"] in at:
                ax.plot([c["window"]], [at[c["window"]]], marker="*", markersize=14,
                        color="black", linestyle="none", label=f"chosen: {c['kind']} {c['window']}")
        ax.set(title=g, xlabel="window (frames)", ylabel="group's share of the score")
        if max((len(p) for p in curves[g].values()), default=0) > 2:
            ax.set_xscale("log")
        ax.legend(fontsize=7)
    return _png(fig)


def confusion(table: dict) -> bytes:
    """Confusion matrix: counts, and each row divided by its total (recall on the diagonal)."""
    plt = _plt()
    cm = np.asarray(table["confusion"], np.float64)
    rows = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    names = table["names"]
    fig, axes = plt.subplots(1, 2, figsize=(12, 5))
    for ax, m, title, fmt in ((axes[0], cm, "counts", "{:.0f}"),
                              (axes[1], rows, "row-normalised", "{:.2f}")):
        ax.imshow(m, cmap="Blues")
        ax.set(title=title, xlabel="predicted", ylabel="true", xticks=range(len(names)),
               yticks=range(len(names)))
        ax.set_xticklabels(names, rotation=45, ha="right", fontsize=8)
        ax.set_yticklabels(names, fontsize=8)
        top = m.max() if m.size else 0
        for i in range(len(names)):
            for j in range(len(names)):
                ax.text(j, i, fmt.format(m[i, j]), ha="center", va="center", fontsize=7,
                        color="white" if top and m[i, j] > top / 2 else "black")
    return _png(fig)


def aus(table: dict) -> bytes:
    """Per AU: F1 with the tuned threshold, and the positive rate in truth and prediction."""
    plt = _plt()
    names = table["names"]
    x = np.arange(len(names))
    fig, (ax_f1, ax_rate) = plt.subplots(1, 2, figsize=(12, 3.8))
    ax_f1.bar(x, table["f1"], color="tab:blue", label="F1")
    ax_f1.plot(x, table["threshold"], marker="_", markersize=16, color="tab:red",
               linestyle="none", label="threshold")
    ax_f1.set(title="F1 per AU, with its threshold", ylim=(0, 1), xticks=x)
    ax_f1.set_xticklabels(names, rotation=45, fontsize=8)
    ax_f1.legend(fontsize=7)
    ax_rate.bar(x - 0.2, table["rate_true"], 0.4, label="truth")
    ax_rate.bar(x + 0.2, table["rate_pred"], 0.4, label="prediction")
    ax_rate.set(title="positive rate", ylim=(0, 1), xticks=x)
    ax_rate.set_xticklabels(names, rotation=45, fontsize=8)
    ax_rate.legend(fontsize=7)
    return _png(fig)


def va_density(pairs: dict) -> bytes:
    """Predicted against true valence and arousal, as 2-D histograms (log counts)."""
    plt = _plt()
    from matplotlib.colors import LogNorm

    p = np.concatenate([np.asarray(x[0]) for x in pairs.values()])
    t = np.concatenate([np.asarray(x[1]) for x in pairs.values()])
    fig, axes = plt.subplots(1, 2, figsize=(9, 4))
    for d, (ax, name) in enumerate(zip(axes, ("valence", "arousal"), strict=True)):
        ax.hist2d(t[:, d], p[:, d], bins=40, range=[[-1, 1], [-1, 1]], norm=LogNorm(),
                  cmap="viridis")
        ax.plot([-1, 1], [-1, 1], color="white", linewidth=0.8)
        ax.set(title=name, xlabel="true", ylabel="predicted", aspect="equal")
    return _png(fig)


def va_per_video(table: dict) -> bytes:
    """CCC of each validation video, valence and arousal."""
    plt = _plt()
    n = len(table["videos"])
    x = np.arange(n)
    fig, ax = plt.subplots(figsize=(max(6, 0.35 * n + 2), 3.8))
    ax.bar(x - 0.2, table["CCC_V"], 0.4, label="valence")
    ax.bar(x + 0.2, table["CCC_A"], 0.4, label="arousal")
    ax.axhline(0, color="black", linewidth=0.6)
    ax.set(title="CCC per video", xticks=x, ylim=(-1, 1))
    ax.set_xticklabels(table["videos"], rotation=60, ha="right", fontsize=7)
    ax.legend(fontsize=7)
    return _png(fig)


def va_timelines(decided, truth, videos) -> bytes:
    """A few videos over time: prediction, label, frames without a face (imputed) shaded."""
    plt = _plt()
    fig, axes = plt.subplots(len(videos), 2, figsize=(12, 2.6 * len(videos)), squeeze=False,
                             constrained_layout=True)
    for r, v in enumerate(videos):
        frames, out, imputed = decided.video(v)
        f_true, y = truth.per_video[v]
        for d, name in enumerate(("valence", "arousal")):
            ax = axes[r][d]
            lab = np.where(y[:, d] == -5, np.nan, y[:, d])
            ax.plot(f_true, lab, color="black", linewidth=1, label="label")
            # valence and arousal are the first two columns (VA and MTL alike)
            ax.plot(frames, np.clip(out[:, d], -1, 1), color="tab:orange", linewidth=1,
                    label="prediction")
            for start, stop in _runs(imputed):
                ax.axvspan(frames[start], frames[stop - 1], color="grey", alpha=0.25,
                           linewidth=0)
            ax.set(title=f"{v} {name}", ylim=(-1.05, 1.05))
            if r == 0 and d == 0:
                ax.legend(fontsize=7, loc="upper right")
    axes[-1][0].set_xlabel("frame (grey: no face, imputed)")
    return _png(fig)


def _runs(mask) -> list:
    """[(start, stop)] of the True runs of a boolean array."""
    m = np.concatenate([[False], np.asarray(mask, bool), [False]])
    edges = np.flatnonzero(m[1:] != m[:-1])
    return list(zip(edges[::2], edges[1::2], strict=True))


def timeline_videos(table: dict, n: int = TIMELINE_VIDEOS) -> list:
    """The longest few videos (most frames scored)."""
    order = np.argsort(table["frames"])[::-1][:n]
    return [table["videos"][i] for i in order]
