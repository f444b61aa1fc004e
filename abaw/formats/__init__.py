"""Submission formats: the prediction set, templates, writers, the validator, packaging.

Decoding raw outputs to the values a submission holds (clip, argmax, thresholds) happens only in
`decode` / `writers`; everything upstream passes raw outputs in a `PredictionSet`.
"""

from abaw.formats.prediction_set import PredictionSet
from abaw.formats.report import Problem, Report
from abaw.formats.templates import Template, read_template, read_test_list
from abaw.formats.validator import validate
from abaw.formats.writers import Written, write_submission

__all__ = ["PredictionSet", "Problem", "Report", "Template", "Written", "read_template",
           "read_test_list", "validate", "write_submission"]
