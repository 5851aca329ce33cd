"""Patterns plans share, each with one home: Chinese numerals (numerals), dates (dates), document
numbers (doc_number), five-year plans (plan_periods)."""
