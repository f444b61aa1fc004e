"""What a run prints and keeps: its scores, what each one is, where its submission went
(`summary.json`)."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path

from abaw.artifacts import check_fields, read_json
from abaw.atomic import write_bytes
from abaw.core.track import Track
from abaw.errors import AbawError


@dataclass
class Outcome:
    track: str
    edition: int
    run_dir: str
    val_raw: float | None = None        # validation score as predicted (k-fold: out-of-fold)
    val_post: float | None = None       # post-processing tuned AND scored on validation
    val_crossfit: float | None = None   # each video post-processed by parameters tuned on others
    baseline: float | None = None       # best constant prediction on validation
    intervals: dict = field(default_factory=dict)   # "raw"/"post"/"crossfit"/"test": [lo, hi]
    folds: list | None = None           # k-fold: [mean, sd, n] of the folds' chosen-epoch scores
    hidden_test: float | None = None    # the written submission on the twin's hidden test labels
    scored_on: str = "val"              # "val", or "test (hidden truth)" for CE on the twin
    zip_path: str | None = None
    seconds: float = 0.0

    def save(self) -> Path:
        # written last and atomically: its presence marks a finished run (`last_outcome`)
        return write_bytes(Path(self.run_dir) / "summary.json",
                           (json.dumps(dataclasses.asdict(self), indent=2) + "\n").encode())

    @classmethod
    def from_dict(cls, d: dict, origin="summary.json") -> Outcome:
        """From summary.json; files of older versions lack the later fields (defaults), keys
        this version does not know are left aside. A field of the wrong type is an AbawError
        naming `origin` and the field."""
        names = {f.name for f in dataclasses.fields(cls)}
        d = {k: v for k, v in d.items() if k in names}
        check_fields(d, origin, {"track": str, "edition": int, "run_dir": str})
        for name, typ in _OPTIONAL.items():
            value = d.get(name)
            if value is not None and (not isinstance(value, typ) or isinstance(value, bool)):
                raise AbawError(f"{origin}: field {name}: found {value!r:.40}, expected "
                                f"{_WORDS[typ]}")
        folds, intervals = d.get("folds"), d.get("intervals") or {}
        if folds is not None and not _numbers(folds, 3):
            raise AbawError(f"{origin}: field folds: found {folds!r:.40}, expected [mean, sd, n]")
        bad = [k for k, iv in intervals.items() if iv is not None and not _numbers(iv, 2)]
        if bad:
            raise AbawError(f"{origin}: field intervals.{bad[0]}: found {intervals[bad[0]]!r:.40}, "
                            "expected [low, high] or null")
        return cls(**d)

    def figures(self) -> list[tuple[str, float | None, str, str]]:
        """(name, value, interval or spread, what it is) of every score, in the order shown."""
        rows = []
        if self.scored_on != "val":     # CE on the twin: no validation set of its own
            rows += [("hidden test raw", self.val_raw, self._iv("raw"),
                      "compounds as derived from the expression model"),
                     ("hidden test post-processed", self.val_post, self._iv("post"),
                      "smoothing tuned on the EXPR validation set, not on these videos")]
        else:
            kfold = self.folds is not None
            rows.append(("validation raw, out-of-fold", self.val_raw, self._iv("raw"),
                         "each video from the fold that did not train on it: the model's "
                         "estimate") if kfold else
                        ("validation raw, epoch chosen on it", self.val_raw, self._iv("raw"),
                         "as predicted; the kept epoch is the best on these videos"))
            rows += [("validation post-processed, in-sample", self.val_post, self._iv("post"),
                      "tuned and scored on the same videos: optimistic"),
                     ("validation post-processed, cross-fitted", self.val_crossfit,
                      self._iv("crossfit"), "tuned on the other validation videos: the "
                      "estimate to trust")]
            if kfold:
                mean, sd, n = self.folds
                rows.append(("folds at their chosen epoch, mean", mean, f"± {sd:.4f}",
                             f"mean ± sd over {n} folds, each on its own held-out videos"))
        rows.append(("constant baseline", self.baseline, "", "the best constant prediction"))
        if self.hidden_test is not None and self.scored_on == "val":
            rows.append(("hidden test of the submission (twin)", self.hidden_test,
                         self._iv("test"), "as written, on the twin's hidden test labels"))
        return rows

    def lines(self) -> list[str]:
        """The scores as printed by `abaw run` and `--last`: each says what it is."""
        intervals = any(self.intervals.values())
        out = [f"{self.track} (edition {self.edition})"
               + (", 90% intervals: bootstrap over videos" if intervals else "")]
        for name, value, interval, note in self.figures():
            out.append(f"  {name:<41} {fmt(value):>7} {interval:<18} {note}")
        out.append(f"  submission: {self.zip_path or '-'}")
        return out

    def _iv(self, key: str) -> str:
        iv = self.intervals.get(key)
        return f"[{iv[0]:.4f}, {iv[1]:.4f}]" if iv else ""


# the fields a run may leave out (null or absent), and their types
_OPTIONAL = {"val_raw": (int, float), "val_post": (int, float), "val_crossfit": (int, float),
             "baseline": (int, float), "hidden_test": (int, float), "seconds": (int, float),
             "intervals": dict, "folds": list, "scored_on": str, "zip_path": str}
_WORDS = {(int, float): "a number", dict: "an object", list: "a list", str: "a string"}


def _numbers(value, n: int) -> bool:
    return (isinstance(value, list) and len(value) == n
            and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in value))


def say(quiet: bool, text: str) -> None:
    if not quiet:
        print(text, flush=True)


def fmt(v) -> str:
    return "n/a" if v is None else f"{v:.4f}"


def last_outcome(track: Track, work="runs") -> Outcome:
    """The summary of the most recent complete run of `track` under `work`."""
    found = sorted((Path(work) / track.key).glob("*/summary.json"),
                   key=lambda p: p.stat().st_mtime)
    if not found:
        raise AbawError(f"{Path(work) / track.key}: found no finished run, expected one from "
                        f"`make track={track.key} submit`")
    path = found[-1]
    return Outcome.from_dict(read_json(path, "the summary.json of a finished `abaw run`"), path)
