"""Tests of outages_processor, mirroring the package."""
