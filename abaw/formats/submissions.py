"""The submissions folder: one zip + manifest per run, committed together, never lost.

- Names: `<track>_ed<N>_<run>.zip` beside `<track>_ed<N>_<run>.manifest.json`, the run taken from
  the prediction set's provenance (or its file). A name is a plain file name (`plain_name`):
  never a path, so nothing is written outside the folder given. A zip of another run (or one
  abaw did not write) is never overwritten: an automatic name gets a `-2`, `-3` ... suffix, a
  name the user chose is refused.
- Commit: the zip and its manifest change together or not at all. Both are first written whole
  under staging names (`.<name>.next.zip`, then `.<name>.next.manifest.json`: the commit point),
  then renamed over the final names. `recover` finishes a commit whose staged manifest exists and
  drops a staged zip without one; `submit` and `abaw submissions` run it first, so a `kill -9`
  at any step leaves the old pair or the new pair.
- Listing (`abaw submissions`): track, edition, validation scores, created time, whether the
  zip still matches its manifest, and the upload marks the user recorded (`mark_uploaded`).
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import re
import shutil
from pathlib import Path

from abaw.atomic import made_by_abaw, write_bytes
from abaw.errors import AbawError
from abaw.formats.templates import sha256_file

_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._+-]{0,127}\Z")
_STAGED = re.compile(r"\.(?P<name>[A-Za-z0-9_][A-Za-z0-9._+-]*)\.next\.(zip|manifest\.json)\Z")
# what `atomic_file` leaves when killed before its rename: `.<target>.<8 random chars>.tmp` (the
# target may itself be a staged `.<name>.next.zip`)
_LEFTOVER = re.compile(r"\.\.?[A-Za-z0-9_][A-Za-z0-9._+-]*\.(next\.)?(zip|manifest\.json)"
                       r"\.[a-z0-9_]{8}\.tmp\Z")
# ... and `atomic_folder` (the new folder, or the old one moved aside), each holding its marker
_LEFTOVER_FOLDER = re.compile(r"\.[A-Za-z0-9_][A-Za-z0-9._+-]*\.[a-z0-9_]{8}\.(tmp|old)\Z")
MANIFEST = ".manifest.json"


def plain_name(name: str, what: str = "--name") -> str:
    """`name` if it is a plain file name (letters, digits, `.`, `_`, `+`, `-`; not starting with
    `.` or `-`), else a one-line error: no folders, `..`, absolute paths, drive letters, NUL."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise AbawError(f"{what}: found {name!r}, expected a plain file name (letters, digits, "
                        "'.', '_', '+', '-'; no folders, at most 128 characters)")
    return name


def run_name(provenance: dict, source_path=None) -> str:
    """The run a prediction set comes from, as a file-name part: its provenance's run folder,
    else the run folder or file it was loaded from."""
    run = provenance.get("run") if isinstance(provenance, dict) else None
    if isinstance(run, str) and run.strip():
        text = Path(run).name or run
    elif source_path is not None:
        p = Path(source_path)
        text = p.parent.parent.name if p.parent.name == "predictions" else p.stem
    else:
        text = "predictions"
    text = re.sub(r"[^A-Za-z0-9._+-]+", "-", text).strip(".-")[:80]
    return text or "run"


def paths(out_dir: Path, name: str) -> tuple[Path, Path, Path, Path]:
    """(zip, manifest, staged zip, staged manifest) of submission `name` in `out_dir`."""
    out_dir = Path(out_dir)
    return (out_dir / f"{name}.zip", out_dir / f"{name}{MANIFEST}",
            out_dir / f".{name}.next.zip", out_dir / f".{name}.next{MANIFEST}")


def recover(out_dir) -> list[str]:
    """Finish committed pairs and drop uncommitted staging left by an interrupted `submit`;
    returns the names touched. Only files named by this module's own patterns are touched."""
    out_dir = Path(out_dir)
    if not out_dir.is_dir() or out_dir.is_symlink():
        return []
    touched = []
    entries = sorted(os.scandir(out_dir), key=lambda e: e.name)
    for e in entries:
        if _LEFTOVER.match(e.name) and e.is_file(follow_symlinks=False):
            os.unlink(e.path)
        elif _LEFTOVER_FOLDER.match(e.name) and e.is_dir(follow_symlinks=False):
            if made_by_abaw(e.path):
                shutil.rmtree(e.path)
            elif not os.listdir(e.path):               # made, not filled yet
                os.rmdir(e.path)
    for name in sorted({m["name"] for e in entries if (m := _STAGED.match(e.name))}):
        zip_path, manifest, next_zip, next_manifest = paths(out_dir, name)
        if next_manifest.is_file() and not next_manifest.is_symlink():      # committed
            if next_zip.is_file() and not next_zip.is_symlink():
                os.replace(next_zip, zip_path)
            os.replace(next_manifest, manifest)
        elif next_zip.is_file() and not next_zip.is_symlink():             # never committed
            next_zip.unlink()
        touched.append(name)
    return touched


def _source_of(manifest_path: Path) -> str | None:
    try:
        return json.loads(manifest_path.read_text())["predictions"]["source"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def choose_name(out_dir, base: str, source: str, given: bool) -> str:
    """`base` unless a zip of another source (or not abaw's) holds it: then `base-2`, `base-3` ...
    for an automatic name, an error for a name the user gave."""
    plain_name(base)
    for k in range(1, 1000):
        name = base if k == 1 else f"{base}-{k}"
        zip_path, manifest, _, _ = paths(out_dir, name)
        if not zip_path.exists() and not zip_path.is_symlink() and not manifest.exists():
            return name
        owner = _source_of(manifest) if manifest.is_file() else None
        if owner == source and not zip_path.is_symlink():
            return name                                # the same run, submitted again
        if given:
            what = f"a submission of {owner}" if owner else "a file abaw did not write"
            raise AbawError(f"{zip_path}: found {what}, expected a free name for {source} "
                            "(choose another --name; nothing was overwritten)")
    raise AbawError(f"{out_dir}: found {base}.zip ... {base}-999.zip taken, expected a free name")


def commit(out_dir, name: str, manifest: dict) -> tuple[Path, Path]:
    """Make the staged zip and `manifest` the submission `name`, together (see the module doc)."""
    zip_path, manifest_path, next_zip, next_manifest = paths(out_dir, name)
    if not next_zip.is_file():
        raise AbawError(f"{next_zip}: found no staged zip, expected one written by submit")
    write_bytes(next_manifest, (json.dumps(manifest, indent=2) + "\n").encode(), fsync=True)
    os.replace(next_zip, zip_path)              # from here on, `recover` finishes the commit
    os.replace(next_manifest, manifest_path)
    return zip_path, manifest_path


def scores_of(provenance: dict) -> dict:
    """The scores a prediction set's provenance records: those `abaw run` names (each saying
    what it is: raw, in-sample, cross-fitted, hidden test), else the model selection and tuning
    scores of the sets that made it (`val`: the kept epoch's; `post.tuned`: in-sample)."""
    out = {}
    if not isinstance(provenance, dict):
        return out
    named = provenance.get("scores")
    if isinstance(named, dict) and named:
        return {str(k): v for k, v in named.items()
                if isinstance(v, int | float) and not isinstance(v, bool)}
    if isinstance(provenance.get("val_score"), int | float):
        out["val"] = provenance["val_score"]
    post = provenance.get("post")
    if isinstance(post, dict) and isinstance(post.get("scores"), dict):
        out.update({f"post.{k}": v for k, v in post["scores"].items()
                    if isinstance(v, int | float) and not isinstance(v, bool)})
    return out


def _read_manifest(path: Path) -> dict:
    try:
        m = json.loads(path.read_text())
        if not isinstance(m, dict):
            raise ValueError("not an object")
        return m
    except (OSError, ValueError) as e:
        raise AbawError(f"{path}: found an unreadable manifest ({e}), expected the JSON written "
                        "by abaw submit") from None


def listing(folder) -> list[dict]:
    """One row per manifest in `folder`, oldest first: name, track, edition, scores, created,
    uploaded (times), state ("ok", "zip missing", "zip changed", "unreadable manifest")."""
    folder = Path(folder)
    if not folder.is_dir():
        raise AbawError(f"{folder}: found no such folder, expected a submissions folder")
    recover(folder)
    rows = []
    for path in sorted(folder.glob(f"*{MANIFEST}")):
        if path.is_symlink() or not path.is_file() or path.name.startswith("."):
            continue
        row = {"manifest": path.name, "zip": path.name[:-len(MANIFEST)] + ".zip"}
        try:
            m = _read_manifest(path)
            zip_info = m.get("zip") or {}
            row.update(track=m.get("track"), edition=m.get("edition"),
                       scores=m.get("scores") or {}, created=m.get("created", ""),
                       uploaded=m.get("uploaded") or [], valid=m.get("validation", {}).get("valid"))
            zip_path = folder / row["zip"]
            if not zip_path.is_file():
                row["state"] = "zip missing"
            elif sha256_file(zip_path) != zip_info.get("sha256"):
                row["state"] = "zip changed"
            else:
                row["state"] = "ok"
        except AbawError:
            row.update(state="unreadable manifest", created="", uploaded=[], scores={})
        rows.append(row)
    return sorted(rows, key=lambda r: (r["created"] or "", r["zip"]))


def mark_uploaded(zip_path) -> dict:
    """Record in the manifest beside `zip_path` that it was uploaded now (atomically); the zip
    must still be the one the manifest describes."""
    zip_path = Path(zip_path)
    recover(zip_path.parent)
    plain_name(zip_path.name, "ZIP")
    manifest_path = zip_path.with_name(zip_path.name[:-4] + MANIFEST) \
        if zip_path.suffix == ".zip" else None
    if manifest_path is None or not manifest_path.is_file() or not zip_path.is_file():
        raise AbawError(f"{zip_path}: found no zip with a manifest beside it, expected a zip "
                        "written by abaw submit")
    m = _read_manifest(manifest_path)
    if sha256_file(zip_path) != (m.get("zip") or {}).get("sha256"):
        raise AbawError(f"{zip_path}: found a zip that differs from its manifest's checksum, "
                        "expected the zip abaw submit wrote (was it changed?)")
    now = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    m["uploaded"] = list(m.get("uploaded") or []) + [now]
    write_bytes(manifest_path, (json.dumps(m, indent=2) + "\n").encode(), fsync=True)
    return m
