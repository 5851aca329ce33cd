"""A suite's run on a frame as GX's ``ValidationDefinition.run`` makes it, without the store
bookkeeping that run does on every call. A speed-up only: tests/test_validate.py checks that
validating through GX's own validation definitions gives the same results and Data Docs.

``ValidationDefinition.run`` first checks that the definition, its suite and its batch
definition are "fresh" (each compared with its serialized copy in the context's stores), and
stores every result it makes (serialized) in the validation results store. The gate builds
its suites and definitions for the one validation and changes none of them, so the check
always passes; and the results store is read only by the Data Docs, which are not always
written, and which show only the result that stands for a frame (not the quick run a
detailed one replaces, ``flows/gate/quick_runs.py``) with its values HTML-escaped
(``flows/gate/data_docs.py``). So a ``LeanDefinition`` runs the suite with the validator
``ValidationDefinition.run`` uses, adds the same run metadata, and ``keep`` stores a result
once, escaped, and only where Data Docs are written. No validation definition is stored:
the metadata's ``validation_id`` (its store id, which no page shows) is None.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from flows.gate import data_docs


@dataclass
class LeanDefinition:
    """A suite and the batch definition of its frames; ``docs``: the context whose Data Docs
    show the kept results (None: no Data Docs are written, nothing is kept)."""

    batch_definition: Any
    suite: Any
    docs: Any = None

    def run(self, frame: Any, result_format: dict) -> Any:
        """The suite's ``ExpectationSuiteValidationResult`` on ``frame``, its metadata as
        ``ValidationDefinition.run`` sets it."""
        from great_expectations.constants import DATAFRAME_REPLACEMENT_STR
        from great_expectations.core.run_identifier import RunIdentifier
        from great_expectations.validator.v1_validator import Validator

        validator = Validator(batch_definition=self.batch_definition, batch_parameters={"dataframe": frame},
                              result_format=result_format)
        results = validator.validate_expectation_suite(self.suite, None)
        run_id = RunIdentifier(run_time=dt.datetime.now(dt.timezone.utc))
        results.meta.update(validation_id=None, checkpoint_id=None, run_id=run_id, validation_time=run_id.run_time,
                            batch_parameters={"dataframe": DATAFRAME_REPLACEMENT_STR})
        return results

    def keep(self, result: Any) -> None:
        """Store ``result`` for the Data Docs (a frame's result that stands), where they are written."""
        if self.docs is not None:
            data_docs.store_escaped(self.docs, result)
