"""Fixtures shared by the answer tests."""

from tests.ai.conftest import cloud  # noqa: F401 - re-exported fixture: the stand-in cloud provider
