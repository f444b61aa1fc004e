"""Submission formats: templates, writers, the validator, packaging, evaluation.

Everything upstream passes raw outputs in a `PredictionSet` (`abaw.core`); the writers decide
them (clip, argmax, thresholds: `abaw.core.decisions`) into the values a submission holds.
"""

from abaw.formats.report import Problem, Report
from abaw.formats.templates import Template, read_template, read_test_list
from abaw.formats.validator import validate
from abaw.formats.writers import Written, write_submission

__all__ = ["Problem", "Report", "Template", "Written", "read_template", "read_test_list",
           "validate", "write_submission"]
