"""Helpers shared by the test fixtures and the benchmark scripts."""
