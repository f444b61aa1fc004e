"""`submit`: prediction set -> submission file(s) -> validation -> zip + manifest.

Nothing is packed unless the validator accepts what was written. The manifest beside the zip
(`<name>.manifest.json`, not inside it: the organisers' zip holds only the submission) records
the track and edition, the template's checksum, the prediction set's provenance and decision, the
code version, how raw outputs were decided, and the checksum of every file and of the zip.

A run directory holds its predictions as `predictions/<split>.npz` (`RUN_PREDICTIONS`): `abaw
submit` reads `predictions/test.npz`, `abaw eval` reads `predictions/val.npz`.
"""

from __future__ import annotations

import datetime as _dt
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

from abaw import protocol
from abaw.atomic import atomic_file, write_bytes
from abaw.core.prediction_set import PredictionSet
from abaw.core.version import code_version
from abaw.errors import AbawError
from abaw.formats import align as al
from abaw.formats.report import Report
from abaw.formats.templates import Template, read_template, sha256_file
from abaw.formats.validator import expected_rows, validate
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
    per-video lengths from it). The written files stay in `<out_dir>/<name>/`.
    """
    source_path = None
    if not isinstance(predictions, PredictionSet):
        predictions, source_path = load_predictions(predictions, "test")
    preds = predictions
    edition = preds.edition if edition is None else edition
    r = protocol.rules(preds.track, edition)
    out_dir = Path(out_dir)
    name = name or f"{r.track.lower()}_ed{edition}"
    index = _index(root, edition)
    tpl = None
    source = template if template is not None else test_list
    if r.submission != "per_video":
        if source is None and index is None:
            raise AbawError(f"{r.track} edition {edition}: found no template, expected --template "
                            "FILE (the organisers' test-set file) or --root DATASET")
        if source is not None:
            tpl = source if isinstance(source, Template) else read_template(source)
    folder = out_dir / name
    if r.submission == "per_video":
        written = write_submission(preds, folder, test_list=test_list, lengths=index,
                                   edition=edition, fill=fill, thresholds=thresholds,
                                   decimals=decimals, layout=layout)
        report = validate(folder, r.track, edition, test_list=test_list, root=index)
    else:
        tpl = tpl or expected_rows(r, None, None, index)
        file_name = tpl.path.name if tpl.path is not None else f"{r.track}_predictions.txt"
        written = write_submission(preds, folder / file_name, tpl, edition=edition, fill=fill,
                                   thresholds=thresholds, decimals=decimals)
        report = validate(written.path, r.track, edition, template=tpl)
    if not report.valid:
        first = report.problems()[0]
        raise InvalidSubmission(f"{first} ({sum(report.counts.values())} problems; the files "
                                f"written are in {folder}, nothing was packed)", report)
    zip_path = _zip_folder(written.files, folder, out_dir / f"{name}.zip")
    zip_report = validate(zip_path, r.track, edition, template=tpl, test_list=test_list,
                          root=index)
    if not zip_report.valid:                       # the zip itself is checked too
        zip_path.unlink(missing_ok=True)
        raise InvalidSubmission(f"{zip_report.problems()[0]} (the zip was removed)", zip_report)
    manifest = _manifest(preds, r, tpl, test_list, source_path, written, report, zip_path,
                         folder)
    manifest_path = write_bytes(out_dir / f"{name}.manifest.json",
                                (json.dumps(manifest, indent=2) + "\n").encode())
    return Submission(zip_path, manifest_path, manifest, report, written)


def _index(root, edition):
    if root is None or not isinstance(root, str | Path):
        return root
    from abaw.data import load_index
    return load_index(root, edition)


def _manifest(preds, r, tpl, test_list, source_path, written, report, zip_path, folder) -> dict:
    files = [{"name": f.relative_to(folder).as_posix(), "sha256": sha256_file(f),
              "bytes": f.stat().st_size} for f in sorted(written.files)]
    pred_info = {"track": preds.track, "edition": preds.edition, "videos": len(preds.videos),
                 "rows": len(preds), "imputed_rows": int(preds.imputed.sum()),
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
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "code_version": code_version(),
        "rows_from": reference,
        "predictions": pred_info,
        "post_processing": {**written.params, "filled_frames": sum(written.filled.values()),
                            "filled_per_video": written.filled},
        "files": files,
        "zip": {"name": zip_path.name, "sha256": sha256_file(zip_path),
                "bytes": zip_path.stat().st_size},
        "validation": {"valid": report.valid, "checked": dict(report.checked),
                       "notes": report.notes},
    }

