"""Admission service: mutating + validating review of every write."""
