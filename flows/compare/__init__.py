"""Comparison: the indicator catalog, jurisdictions and the derived tables analysts compare with."""
