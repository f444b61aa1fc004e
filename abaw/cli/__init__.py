"""`abaw`: one click group, one module per command, loaded only when that command runs.

The table below is the whole command list; `abaw --help` reads only it, so start-up never imports
torch, transformers or pandas.
"""

from __future__ import annotations

import importlib
import sys

import click

from abaw.errors import AbawError, os_error_line

# name -> (module under abaw.cli, attribute, one-line purpose)
COMMANDS = {
    "protocol": ("protocol", "protocol", "Show the protocol table: tracks, headers, classes, metrics per edition."),
    "data": ("data", "data", "Synthesise, check and index an Aff-Wild2-style dataset tree."),
    "models": ("models", "models", "List the registered backbones and where their weights go."),
    "faces": ("faces", "faces", "Detect, align, track and crop faces in raw videos."),
    "features": ("features", "features", "Extract frozen-backbone features into a feature store."),
    "train": ("train", "train", "Train a track's head on cached features from a recipe."),
    "predict": ("predict", "predict", "Predict a split with a trained run; writes a prediction set."),
    "smooth": ("smooth", "smooth", "Impute and smooth a prediction set, tuned on validation."),
    "ensemble": ("ensemble", "ensemble", "Ensemble prediction sets, weights tuned on validation."),
    "eval": ("evaluate", "evaluate", "Score predictions against a split with the official metric."),
    "report": ("report", "report", "Write the HTML report of a run: curves, breakdowns, honest scores."),
    "validate": ("validate", "validate", "Check a submission file, folder or zip before upload."),
    "submit": ("submit", "submit", "Write, validate and zip a submission from a prediction set."),
    "submissions": ("submissions", "submissions", "List submissions: scores, dates, uploads."),
    "run": ("run", "run", "The whole path for one track: index, features, train, post, submit."),
    "demo": ("demo", "demo", "Run every track end to end on the synthetic twin and print a table."),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx):
        return list(COMMANDS)

    def get_command(self, ctx, name):
        if name not in COMMANDS:
            return None
        module, attr, _ = COMMANDS[name]
        return getattr(importlib.import_module(f"abaw.cli.{module}"), attr)

    def format_commands(self, ctx, formatter):
        rows = [(name, purpose) for name, (_, _, purpose) in COMMANDS.items()]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="abaw")
def cli():
    """abaw: from Aff-Wild2 to a validated ABAW submission, for every track and edition."""


def main(argv=None):
    """Entry point: a user mistake prints one line and exits non-zero, never a traceback.

    Beside `AbawError`, an OS error about a path (it names a file: permission denied, a link
    loop, a file where a folder is expected, a full disk) is the user's environment, not a bug:
    one line naming the path. Every command only touches the paths it was given (the dataset,
    the runs, the outputs), so no such error can point into abaw itself. An OS error naming no
    path, and anything else, stays a traceback: that is a bug to report.
    """
    try:
        # Without standalone mode click returns a command's `ctx.exit(n)` code instead of exiting.
        code = cli.main(args=argv, standalone_mode=False)
        return code if isinstance(code, int) else 0
    except AbawError as e:
        click.echo(f"error: {e}", err=True)
        sys.exit(e.exit_code)
    except click.exceptions.Exit as e:
        sys.exit(e.exit_code)
    except click.UsageError as e:        # a wrong option or argument: one line too
        cmd = e.ctx.command_path if e.ctx is not None else "abaw"
        message = "; ".join(line for line in e.format_message().splitlines() if line.strip())
        click.echo(f"error: {cmd}: {message} (see {cmd} -h)", err=True)
        sys.exit(e.exit_code)
    except click.ClickException as e:
        e.show()
        sys.exit(e.exit_code)
    except click.Abort as e:
        # click turns an EOFError anywhere into Abort; only Ctrl-D / Ctrl-C at a prompt is the
        # user's "abort": an EOFError from reading a file is a reader that missed it (a bug)
        if isinstance(e.__context__, EOFError):
            raise e.__context__ from None
        click.echo("aborted", err=True)
        sys.exit(130)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except OSError as e:
        line = os_error_line(e)
        if line is None:
            raise
        click.echo(f"error: {line}", err=True)
        sys.exit(AbawError.exit_code)
