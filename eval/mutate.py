"""Mutation testing (mutmut 3) of the modules where a silent bug costs a team its score.

    python3 eval/mutate.py metrics            # one group (see GROUPS), resumable
    python3 eval/mutate.py metrics --fresh    # again from scratch, after the tests changed
    python3 eval/mutate.py --all              # every group, one after the other
    python3 eval/mutate.py --summary          # the killed share of the groups run so far
    python3 eval/mutate.py --report           # ... and eval/mutation.md: every survivor, why

Each group mutates its own files and runs only the test files mapped to it (mutmut further runs,
for each mutant, only the tests that called the mutated function), in its own work folder
`.mutmut/<group>/` (links to abaw/, tracks/, tests/ and a generated mutmut config), so groups run
separately, resume where they stopped, and a run is hours, not days, on 2 cores. The summary is
written to `.mutmut/<group>/summary.json` and the surviving mutants to `survivors.txt` beside it
(`cd .mutmut/<group> && mutmut show NAME` shows one). Exit status: 1 when a group's killed share
is under TARGET.
"""

from __future__ import annotations

import argparse
import ast
import difflib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from mutation_review import KINDS, NOTES, PLANTED  # beside this file: what review has found

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / ".mutmut"
TARGET = 0.85

# group -> (files mutated, test files run). Fast unit tests only: the twin's end-to-end tests
# would run for every mutant of every function they touch.
GROUPS = {
    "metrics": (["abaw/metrics.py"],
                ["tests/test_metrics.py", "tests/test_metrics_contracts.py",
                 "tests/test_formats_eval.py", "tests/test_post_tune.py",
                 "tests/test_uncertainty.py"]),
    "core": (["abaw/core/layout.py", "abaw/core/decisions.py", "abaw/core/prediction_set.py",
              "abaw/core/track.py", "abaw/core/version.py"],
             ["tests/test_core.py", "tests/test_core_contracts.py", "tests/test_core_messages.py",
              "tests/test_formats_writers.py",
              "tests/test_post_tune.py", "tests/test_metrics.py", "tests/test_post_impute.py"]),
    "writers": (["abaw/formats/writers.py", "abaw/formats/render.py", "abaw/formats/align.py"],
                ["tests/test_formats_writers.py", "tests/test_formats_align.py",
                 "tests/test_formats_render.py", "tests/test_formats_package.py",
                 "tests/test_template_order.py", "tests/test_formats_eval.py"]),
    "validator": (["abaw/formats/validator.py", "abaw/formats/checks.py",
                   "abaw/formats/values.py"],
                  ["tests/test_validator_corpus.py", "tests/test_validator_levels.py",
                   "tests/test_validator_numbers.py", "tests/test_validator_bounds.py",
                   "tests/test_validator_messages.py", "tests/test_validator_values.py",
                   "tests/test_template_order.py", "tests/test_validator_first_line.py",
                   "tests/test_validator_videos.py", "tests/test_formats_package.py"]),
    "post": (["abaw/post/smooth.py", "abaw/post/tune.py", "abaw/post/objectives.py",
              "abaw/post/impute.py"],
             ["tests/test_post_smooth.py", "tests/test_post_tune.py", "tests/test_post_sweep.py",
              "tests/test_post_impute.py", "tests/test_post_adjust.py",
              "tests/test_post_impute_edges.py", "tests/test_post_objectives.py"]),
    "index": (["abaw/data/index.py"],
              ["tests/test_data_index.py", "tests/test_data_masking.py",
               "tests/test_data_annotations.py", "tests/test_data_index_queries.py"]),
}

KILLED = {1, 3, 36, 24, -24, 152, 255, -11, -9, 37}   # mutmut's exit codes of a caught mutant
NO_TESTS = {5, 33}


def config(files: list[str], tests: list[str]) -> str:
    lines = ["[mutmut]", "source_paths =", "    abaw", "    tracks", "only_mutate ="]
    lines += [f"    {f}" for f in files]
    lines += ["pytest_add_cli_args_test_selection ="] + [f"    {t}" for t in tests]
    lines += ["pytest_add_cli_args =", "    -p", "    no:cacheprovider", ""]
    return "\n".join(lines)


def prepare(group: str) -> Path:
    files, tests = GROUPS[group]
    work = WORK / group
    work.mkdir(parents=True, exist_ok=True)
    for name in ("abaw", "tracks", "tests", "pyproject.toml"):
        link = work / name
        if link.is_symlink() and link.readlink() != ROOT / name:   # a work folder moved here
            link.unlink()
        if not link.is_symlink():
            link.symlink_to(ROOT / name)
    cfg = config(files, tests)
    path = work / "setup.cfg"
    if not path.is_file() or path.read_text() != cfg:
        path.write_text(cfg)
        forget(work)                                            # another scope: start afresh
    return work


def forget(work: Path) -> None:
    """Remove a group's mutants and its copy of the tests, loudly: a copy left behind would run
    stale tests against new code."""
    if (work / "mutants").exists():
        shutil.rmtree(work / "mutants")


def run(group: str, jobs: int, fresh: bool = False) -> None:
    work = prepare(group)
    if fresh:                      # the tests changed: every mutant is checked again
        forget(work)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}   # mutmut's copy, not ours
    env.setdefault("OMP_NUM_THREADS", "1")
    env.setdefault("NUMBA_NUM_THREADS", "1")
    subprocess.run(["mutmut", "run", "--max-children", str(jobs)], cwd=work, env=env, check=False)


def summary(group: str) -> dict | None:
    work = WORK / group
    metas = sorted((work / "mutants").rglob("*.py.meta"))
    if not metas:
        return None
    codes: dict[str, int | None] = {}
    for meta in metas:
        codes.update(json.loads(meta.read_text())["exit_code_by_key"])
    checked = {k: c for k, c in codes.items() if c is not None}
    killed = sorted(k for k, c in checked.items() if c in KILLED)
    survived = sorted(k for k, c in checked.items() if c not in KILLED)
    no_tests = sorted(k for k, c in checked.items() if c in NO_TESTS)
    out = {"group": group, "files": GROUPS[group][0], "mutants": len(codes),
           "checked": len(checked), "killed": len(killed), "survived": len(survived),
           "no_tests": len(no_tests),
           "killed_share": round(len(killed) / len(checked), 4) if checked else None}
    (work / "summary.json").write_text(json.dumps(out, indent=2) + "\n")
    changed = diffs(group, survived)
    (work / "survivors.txt").write_text("".join(f"{k}  {changed[k]}\n" for k in survived))
    return out


def diffs(group: str, names: list[str]) -> dict[str, str]:
    """Mutant name -> its changed lines ("-old / +new"), read from mutmut's mutated sources."""
    sources: dict[Path, dict[str, str]] = {}
    out = {}
    for name in names:
        module, func = name.rsplit(".", 1)
        path = WORK / group / "mutants" / (module.replace(".", "/") + ".py")
        if path not in sources:
            lines = path.read_text().splitlines()
            sources[path] = {n.name: "\n".join(lines[n.lineno - 1:n.end_lineno])
                             for n in ast.walk(ast.parse("\n".join(lines)))
                             if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}
        funcs = sources[path]
        orig_name = func.rsplit("__mutmut_", 1)[0] + "__mutmut_orig"
        orig = funcs.get(orig_name, "").splitlines()
        mutant = funcs.get(func, "").replace(func, orig_name, 1).splitlines()
        lines = [d for d in difflib.unified_diff(orig, mutant, lineterm="", n=0)
                 if d[:1] in "+-" and d[:3] not in ("---", "+++")]
        out[name] = " / ".join(d[0] + " ".join(d[1:].split()) for d in lines)
    return out


def kind_of(name: str, change: str) -> tuple[str, str]:
    if name in NOTES:
        return "reviewed one by one", ""
    for kind, test, why in KINDS:
        if test(change):
            return kind, why
    return "not yet reviewed", "to be killed by a test or explained"


def report(groups: list[str]) -> Path:
    """eval/mutation.md: the killed share per group and every surviving mutant with its reason."""
    lines = ["# Mutation testing", "",
             "`make mutate` (all groups) or `python3 eval/mutate.py GROUP` (one); then "
             "`python3 eval/mutate.py --report` writes this page. mutmut 3 mutates each group's "
             "files and runs the group's test files (`GROUPS` in `eval/mutate.py`); a mutant is "
             "killed when a test fails (or times out). Target: >= 85 % killed per group.", "",
             "| group | files | mutants | killed | survived | killed share |", "|---|---|---|---|---|---|"]
    details = []
    path = ROOT / "eval" / "mutation.md"
    kept_rows, kept_sections = previous(path)
    for group in groups:
        s = summary(group)
        if s is not None and s["checked"] < s["mutants"]:   # a run still going or stopped early
            s = None
        if s is None and group in kept_rows:      # run elsewhere: its results stay as they were
            lines.append(kept_rows[group])
            details += kept_sections.get(group, [])
            continue
        if s is None:
            lines.append(f"| {group} | {', '.join(GROUPS[group][0])} | not finished | | | |")
            continue
        lines.append(f"| {group} | {', '.join(f.split('/')[-1] for f in s['files'])} | "
                     f"{s['checked']} | {s['killed']} | {s['survived']} | "
                     f"{100 * s['killed_share']:.1f} % |")
        by_kind: dict[tuple[str, str], list[str]] = {}
        for row in (WORK / group / "survivors.txt").read_text().splitlines():
            name, _, change = row.partition("  ")
            note = f": {NOTES[name]}" if name in NOTES else ""
            by_kind.setdefault(kind_of(name, change), []).append(
                f"- `{name.split('.', 1)[1]}`: `{change}`{note}")
        details += ["", f"## {group}: {s['survived']} surviving"]
        for (kind, why), rows in sorted(by_kind.items(), key=lambda kv: -len(kv[1])):
            details += ["", f"### {kind} ({len(rows)}){': ' + why if why else ''}", "", *rows]
    planted = ["", "## Planted bugs", "",
               "Each planted by hand in a scratch tree, the tests run, then restored:", "",
               "| bug | caught by (tests/) |", "|---|---|"]
    planted += [f"| {bug} | {tests} |" for bug, tests in PLANTED]
    path.write_text("\n".join(lines + planted + details) + "\n")
    return path


def previous(path: Path) -> tuple[dict[str, str], dict[str, list[str]]]:
    """The table rows and survivor sections of the groups an earlier report had results for."""
    text = path.read_text().splitlines() if path.is_file() else []
    rows = {line.split("|")[1].strip(): line for line in text
            if line.startswith("| ") and line.split("|")[1].strip() in GROUPS
            and "not run" not in line}
    sections: dict[str, list[str]] = {}
    group = None
    for line in text:
        if line.startswith("## "):
            head = re.match(r"## (\w+): \d+ surviving$", line)
            group = head.group(1) if head and head.group(1) in rows else None
            if group:
                sections[group] = [""]
        if group:
            sections[group].append(line)
    return rows, {g: lines[:-1] if lines[-1] == "" else lines for g, lines in sections.items()}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("groups", nargs="*", metavar="GROUP",
                    help=f"one or more of: {', '.join(GROUPS)}")
    ap.add_argument("--all", action="store_true", help="every group")
    ap.add_argument("--summary", action="store_true", help="only summarise what was run")
    ap.add_argument("--report", action="store_true",
                    help="only summarise, and write eval/mutation.md")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--fresh", action="store_true",
                    help="forget earlier results (after the tests changed)")
    args = ap.parse_args(argv)
    args.summary = args.summary or args.report
    groups = list(GROUPS) if args.all or (args.summary and not args.groups) else args.groups
    if not groups:
        ap.error("name a group or give --all")
    unknown = [g for g in groups if g not in GROUPS]
    if unknown:
        ap.error(f"unknown group {unknown[0]!r}, expected one of {', '.join(GROUPS)}")
    if not args.summary and shutil.which("mutmut") is None:
        sys.exit("mutmut not found: python3 -m pip install -e '.[dev]'")
    failed = []
    for group in groups:
        if not args.summary:
            run(group, args.jobs, args.fresh)
        s = summary(group)
        if s is None:
            print(f"{group}: not run")
            continue
        share = s["killed_share"]
        print(f"{group}: {s['killed']}/{s['checked']} killed ({100 * (share or 0):.1f} %), "
              f"{s['survived']} survived ({s['no_tests']} without tests), "
              f"{s['mutants'] - s['checked']} not checked")
        if share is None or share < TARGET:
            failed.append(group)
    if args.report:
        print(f"wrote {report(groups)}")
    if failed:
        print(f"under {TARGET:.0%} killed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
