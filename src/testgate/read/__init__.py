"""Readers: JUnit/xUnit XML and coverage data in, `testgate.model` values out."""
