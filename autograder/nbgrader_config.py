"""Stable import for courses' ``nbgrader_config.py`` files: ``from autograder.nbgrader_config import configure``."""

from .gradebook.config import configure

__all__ = ["configure"]
