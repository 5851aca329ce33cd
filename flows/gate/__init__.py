"""The validation gate: the rules every table must satisfy (expectation suites), the machinery that
runs them with Great Expectations, the verdict and the report."""
