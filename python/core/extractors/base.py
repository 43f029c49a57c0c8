"""``from core.extractors.base import BaseExtractor``: the same class as
``extractors.base.BaseExtractor`` (later 1.0 releases moved it here)."""

from extractors.base import BaseExtractor

__all__ = ["BaseExtractor"]
