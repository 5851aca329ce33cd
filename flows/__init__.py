"""digigov: Chinese provincial digital-government plans as a validated Parquet dataset.

The stage subpackages (ingest, normalize, structure, extract) are plain functions on plain data,
``flows.pipeline`` runs one document through them, the validation gate (``flows.gate``) and
storage (``flows.storage``) judge and publish the tables, and ``flows.build`` wires it all into
the Prefect flow ``build_dataset``; README.md's Layout lists every subpackage.
"""

__version__ = "0.1.0"

import sys as _sys

_process = _sys.modules.get("multiprocessing.process")
if _process is not None and (getattr(_process.current_process(), "_inheriting", False)
                             or _process.parent_process() is not None):
    # A process multiprocessing started (validation, the pool's workers), importing this package
    # as it starts ("inheriting": spawn imports the parent's main module) or for its first task:
    # it dies with the process that started it, however that one dies, and leaves Ctrl-C to it
    # (flows/orchestration/lifetime.py)
    from flows.orchestration.lifetime import spawned_child_set_up as _set_up

    _set_up()
