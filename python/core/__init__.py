"""Namespace for ``core.extractors.base``, where later 1.0 releases moved BaseExtractor."""
