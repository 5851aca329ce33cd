"""Patterns plans share, each with one home: Chinese numerals."""
