"""Post-processing parameters: what tuning on validation chose, applied unchanged to test sets.

Saved as a small JSON beside the prediction set (`<set>.post.json`) and recorded in the new set's
`provenance["post"]`. `apply` imputes, smooths each output group, and folds the class bias into
the class probabilities (p' = softmax(log p + b), so a plain argmax anywhere decides as tuned);
AU thresholds cannot be folded without bending the probabilities, so they travel in the set's
`decision` (which the submission writers read).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

from abaw.artifacts import read_json
from abaw.atomic import atomic_file
from abaw.core.decisions import Decision, fold_bias
from abaw.core.layout import layout
from abaw.core.prediction_set import PredictionSet
from abaw.errors import AbawError
from abaw.post import impute as imp
from abaw.post import smooth as sm
from abaw.post.adjust import gate

VERSION = 1


@dataclass
class PostParams:
    track: str
    edition: int
    impute: str | None = "linear"        # how rows without an output are filled first
    ignore_imputed: bool = True          # smoothing windows skip imputed rows
    smooth: dict = field(default_factory=dict)  # group -> {"kind": str, "window": int}
    thresholds: list | None = None       # per AU column (AU, MTL); None: 0.5
    bias: list | None = None             # per class, added to log-probabilities; None: none
    gate: dict = field(default_factory=dict)  # class group -> confidence gate: rows whose raw
    #                                      top probability reaches it keep their raw scores
    logit_adjust: float | None = None    # GLA strength the bias came from, for the record
    scores: dict = field(default_factory=dict)  # validation scores seen by tuning, for the record

    def to_dict(self) -> dict:
        return {"version": VERSION, **asdict(self)}

    def decision(self, folded: bool = False) -> Decision:
        """How outputs are decided with these parameters (`folded`: after `apply`)."""
        return Decision(self.thresholds, self.bias, folded)

    @classmethod
    def from_dict(cls, d: dict, source: str = "post-processing parameters") -> PostParams:
        if not isinstance(d, dict):
            raise AbawError(f"{source}: found {type(d).__name__}, expected a JSON object")
        d = {k: v for k, v in d.items() if k not in ("version", "applied")}
        names = set(cls.__dataclass_fields__)
        unknown = sorted(set(d) - names)
        if unknown or "track" not in d or "edition" not in d:
            raise AbawError(f"{source}: found keys {sorted(d)}, expected track, edition and any "
                            f"of {sorted(names - {'track', 'edition'})}")
        p = cls(**d)
        if not isinstance(p.track, str):
            raise AbawError(f"{source}: field track: found {p.track!r}, expected a track name")
        p.track = p.track.upper()
        if isinstance(p.edition, bool) or not isinstance(p.edition, int):
            raise AbawError(f"{source}: field edition: found {p.edition!r}, expected a number 1-10")
        if not isinstance(p.ignore_imputed, bool):
            raise AbawError(f"{source}: field ignore_imputed: found {p.ignore_imputed!r}, "
                            "expected true or false")
        if p.impute is not None and p.impute not in imp.METHODS:
            raise AbawError(f"{source}: field impute: found {p.impute!r}, expected one of "
                            f"{', '.join(imp.METHODS)} or null")
        if not isinstance(p.smooth, dict):
            raise AbawError(f"{source}: field smooth: found {p.smooth!r}, expected an object "
                            "group -> {kind, window}")
        for group, spec in p.smooth.items():
            if not isinstance(spec, dict) or set(spec) != {"kind", "window"}:
                raise AbawError(f"{source}: field smooth.{group}: found {spec!r}, expected "
                                "{\"kind\": ..., \"window\": ...}")
            try:
                sm.check(spec["kind"], spec["window"])
            except AbawError as e:
                raise AbawError(f"{source}: field smooth.{group}: {e}") from None
        if not isinstance(p.gate, dict) or not all(
                isinstance(g, (int, float)) and not isinstance(g, bool) and 0 <= g <= 1
                for g in p.gate.values()):
            raise AbawError(f"{source}: field gate: found {p.gate!r}, expected an object "
                            "group -> a probability in [0, 1]")
        for name in ("thresholds", "bias"):
            v = getattr(p, name)
            if v is not None and (not isinstance(v, list) or not all(
                    isinstance(t, (int, float)) and not isinstance(t, bool) and math.isfinite(t)
                    for t in v)):
                raise AbawError(f"{source}: field {name}: found {v!r:.60}, expected a list of "
                                "finite numbers or null")
        if not isinstance(p.scores, dict):
            raise AbawError(f"{source}: field scores: found {p.scores!r:.60}, expected an object")
        try:
            lay = layout(p.track, p.edition)
        except AbawError as e:
            raise AbawError(f"{source}: {e}") from None
        unknown = sorted(set(p.smooth) - set(lay.groups))
        if unknown:
            raise AbawError(f"{source}: field smooth: found group {unknown[0]!r}, expected any of "
                            f"{', '.join(lay.groups)} ({p.track})")
        for name, kind in (("thresholds", "binary"), ("bias", "classes")):
            values = getattr(p, name)
            width = [g.block.size for g in lay.groups.values() if g.kind == kind]
            if values is not None and [len(values)] != width:
                raise AbawError(f"{source}: field {name}: found {len(values)} values, expected "
                                f"{width[0] if width else 'none'} for {p.track}")
        return p

    def save(self, path) -> Path:
        path = Path(path)
        with atomic_file(path, "w") as fh:
            json.dump(self.to_dict(), fh, indent=1)
            fh.write("\n")
        return path

    @classmethod
    def load(cls, path) -> PostParams:
        path = Path(path)
        d = read_json(path, "post-processing parameters written by `abaw smooth` or `abaw run`")
        return cls.from_dict(d, str(path))

    def apply(self, ps: PredictionSet) -> PredictionSet:
        """Impute, smooth and fold the class bias into `ps`; the parameters go to provenance."""
        if ps.track != self.track or ps.edition != self.edition:
            raise AbawError(f"{ps.origin}: found {ps.track} edition {ps.edition}, expected "
                            f"{self.track} edition {self.edition} (the parameters' tuning set)")
        lay = ps.layout
        lay.check_width(len(ps.columns))
        groups = lay.groups
        unknown = sorted((set(self.smooth) | set(self.gate)) - set(groups))
        if unknown:
            raise AbawError(f"parameters: smooth groups {unknown} unknown, expected any of "
                            f"{', '.join(groups)}")
        for name, kind in (("thresholds", "binary"), ("bias", "classes")):
            values = getattr(self, name)
            width = [g.block.size for g in groups.values() if g.kind == kind]
            if values is not None and [len(values)] != width:
                raise AbawError(f"parameters: field {name}: found {len(values)} values, expected "
                                f"{width[0] if width else 'none'} for {ps.track}")
        if self.impute is not None and imp.missing_rows(ps).any():
            ps = imp.impute(ps, self.impute)
        imp.check_sorted(ps)
        ignore = ps.imputed if self.ignore_imputed else None
        out = ps.outputs.copy()
        for group, spec in self.smooth.items():
            if spec["window"] > 1 and not lay.image_level:
                cols = groups[group].columns
                out[:, cols] = sm.smooth(ps.outputs[:, cols], ps.offsets, spec["kind"],
                                         spec["window"], ignore)
                if group in self.gate:      # confident raw rows keep their raw scores
                    out[:, cols] = gate(ps.outputs[:, cols], out[:, cols], self.gate[group])
        if self.bias is not None and any(self.bias):
            cols = lay.block("classes").columns
            out[:, cols] = fold_bias(out[:, cols], self.bias)
        return ps.replace(outputs=out, decision=self.decision(folded=True), post=self.to_dict())
