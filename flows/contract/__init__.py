"""The table contract: schemas/ read into typed tables and pyarrow schemas, datapackage.json and the
data dictionary."""
