"""digigov: Chinese provincial digital-government plans as a validated Parquet dataset.

The stage modules (ingest, normalize, structure, metadata, extract, validate, write) are plain
functions on plain data; ``flows.build`` wires them into the Prefect flow ``build_dataset``.
"""

__version__ = "0.1.0"
