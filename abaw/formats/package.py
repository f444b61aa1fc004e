"""`submit`: prediction set -> submission file(s) -> validation -> zip + manifest.

Nothing is packed unless the validator accepts what was written (warnings are shown, not fatal).
The zip is named by its run (`<track>_ed<N>_<run>.zip`, see `submissions`) and never replaces
another run's; it and its manifest are committed together. The manifest beside the zip (not
inside it: the organisers' zip holds only the submission) records the track and edition, the
validation scores of the run, the template's checksum, the prediction set's provenance and
decision, the code version, how raw outputs were decided, and the checksum of every file and of
the zip. With a template (or `--root`, whose template is found under it), rows come from the
template only.

A run directory holds its predictions as `predictions/<split>.npz` (`RUN_PREDICTIONS`): `abaw
submit` reads `predictions/test.npz`, `abaw eval` reads `predictions/val.npz`.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import hashlib
import zipfile
from dataclasses import dataclass
from pathlib import Path

from abaw import protocol
from abaw.atomic import atomic_file, atomic_folder
from abaw.core.prediction_set import PredictionSet
from abaw.core.version import code_version
from abaw.errors import AbawError
from abaw.formats import align as al
from abaw.formats import submissions as shelf
from abaw.formats.report import Report
from abaw.formats.templates import sha256_file
from abaw.formats.validator import expected_rows, user_file, validate
from abaw.formats.writers import DEFAULT_DECIMALS, Written, write_submission

RUN_PREDICTIONS = "predictions/{split}.npz"
ZIP_TIME = (1980, 1, 1, 0, 0, 0)      # fixed entry times: the same files give the same zip


class InvalidSubmission(AbawError):
    """What was written does not validate: nothing is packed (exit status 1, like `validate`)."""

    exit_code = 1

    def __init__(self, message: str, report: Report | None = None):
        super().__init__(message)
        self.report = report


@dataclass
class Submission:
    zip_path: Path
    manifest_path: Path
    manifest: dict
    report: Report
    written: Written


def load_predictions(source, split: str = "test") -> tuple[PredictionSet, Path]:
    """A PredictionSet from a `.npz` file or a run directory (its `predictions/<split>.npz`)."""
    path = Path(source)
    if path.is_dir():
        candidate = path / RUN_PREDICTIONS.format(split=split)
        if not candidate.is_file():
            raise AbawError(f"{path}: found no {RUN_PREDICTIONS.format(split=split)}, expected a "
                            "run directory with predictions of that split (abaw predict)")
        path = candidate
    return PredictionSet.load(path), path


def _zip_folder(files: list[Path], base: Path, out: Path) -> Path:
    with atomic_file(out) as fh, zipfile.ZipFile(fh, "w", zipfile.ZIP_DEFLATED) as z:
        for f in sorted(files):
            info = zipfile.ZipInfo(f.relative_to(base).as_posix(), ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, f.read_bytes())
    return out


def submit(predictions, out_dir, *, template=None, test_list=None, root=None,
           edition: int | None = None, fill: str = al.DEFAULT_FILL, thresholds=None,
           decimals: int = DEFAULT_DECIMALS, layout: str | None = None,
           name: str | None = None) -> Submission:
    """Write, validate and pack a submission; raises InvalidSubmission if it does not validate.

    predictions: PredictionSet, `.npz`, or run directory. template / test_list / root: as for
    `write_submission` / `validate` (root: dataset folder or DatasetIndex; editions 1-3 take their
    per-video lengths from it, editions 5+ the template found under it). name: a plain file name
    replacing `<track>_ed<N>_<run>`. The written files stay in `<out_dir>/<name>/`.
    """
    source_path = None
    if name is not None:
        shelf.plain_name(name)
    if not isinstance(predictions, PredictionSet):
        predictions, source_path = load_predictions(predictions, "test")
    preds = predictions
    edition = preds.edition if edition is None else edition
    r = protocol.rules(preds.track, edition)
    out_dir = Path(out_dir)
    index = _index(root, edition)
    template, test_list = user_file(template, index), user_file(test_list, index)
    tpl = None if r.submission == "per_video" else expected_rows(r, template, test_list, index)
    shelf.recover(out_dir)                      # finish or undo an interrupted submit first
    source = _source(preds, source_path)
    base = name or f"{r.track.lower()}_ed{edition}_{shelf.run_name(preds.provenance, source_path)}"
    name = shelf.choose_name(out_dir, base, source, given=name is not None)
    folder = out_dir / name
    kw = dict(edition=edition, fill=fill, thresholds=thresholds, decimals=decimals)
    if r.submission == "per_video":
        written = write_submission(preds, folder, test_list=test_list, lengths=index,
                                   layout=layout, **kw)
        report = validate(folder, r.track, edition, test_list=test_list, root=index)
    else:
        file_name = tpl.path.name if tpl.path is not None else f"{r.track}_predictions.txt"
        with atomic_folder(folder) as tmp:      # a folder of abaw's own: never a user's
            written = write_submission(preds, tmp / file_name, tpl, **kw)
        written = dataclasses.replace(written, path=folder / file_name,
                                      files=[folder / file_name])
        report = validate(written.path, r.track, edition, template=tpl)
    if not report.valid:
        first = report.problems()[0]
        raise InvalidSubmission(f"{first} ({report.errors} problems; the files "
                                f"written are in {folder}, nothing was packed)", report)
    _, _, staged, _ = shelf.paths(out_dir, name)
    _zip_folder(written.files, folder, staged)
    zip_report = validate(staged, r.track, edition, template=tpl, test_list=test_list,
                          root=index)
    if not zip_report.valid:                       # the zip itself is checked too
        staged.unlink(missing_ok=True)
        raise InvalidSubmission(f"{zip_report.problems()[0]} (nothing was packed)", zip_report)
    manifest = _manifest(preds, r, tpl, test_list, source_path, source, written, report,
                         staged, name, folder)
    zip_path, manifest_path = shelf.commit(out_dir, name, manifest)
    return Submission(zip_path, manifest_path, manifest, report, written)


def _source(preds, source_path) -> str:
    """What identifies the predictions' origin: their run folder, else their file, else their
    content; a zip is only ever replaced by a submission of the same source."""
    run = preds.provenance.get("run")
    if isinstance(run, str) and run:
        return f"run {run}"
    if source_path is not None:
        return f"file {Path(source_path).resolve()}"
    return "predictions sha1 " + hashlib.sha1(preds.outputs.tobytes()).hexdigest()[:16]


def _index(root, edition):
    if root is None or not isinstance(root, str | Path):
        return root
    from abaw.data import load_index
    return load_index(root, edition)


def _manifest(preds, r, tpl, test_list, source_path, source, written, report, zip_path, name,
              folder) -> dict:
    files = [{"name": f.relative_to(folder).as_posix(), "sha256": sha256_file(f),
              "bytes": f.stat().st_size} for f in sorted(written.files)]
    pred_info = {"track": preds.track, "edition": preds.edition, "videos": len(preds.videos),
                 "rows": len(preds), "imputed_rows": int(preds.imputed.sum()), "source": source,
                 "provenance": preds.provenance, "decision": preds.decision.to_dict()}
    if source_path is not None:
        pred_info.update(path=str(source_path), sha256=sha256_file(source_path))
    reference = None
    if tpl is not None:
        reference = {"kind": "template", "name": tpl.name, "sha256": tpl.sha256,
                     "rows": len(tpl)}
    elif test_list is not None and not isinstance(test_list, list | tuple):
        reference = {"kind": "test_list", "name": str(test_list),
                     "sha256": sha256_file(test_list)}
    return {
        "track": r.track, "edition": r.edition, "metric": r.metric,
        "scores": shelf.scores_of(preds.provenance),
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "code_version": code_version(),
        "rows_from": reference,
        "predictions": pred_info,
        "post_processing": {**written.params, "filled_frames": sum(written.filled.values()),
                            "filled_per_video": written.filled},
        "files": files,
        "zip": {"name": f"{name}.zip", "sha256": sha256_file(zip_path),
                "bytes": zip_path.stat().st_size},
        "validation": {"valid": report.valid, "checked": dict(report.checked),
                       "warnings": {k: n for k, n in report.counts.items()
                                    if not report.is_error(k)}, "notes": report.notes},
    }

