"""The base class of bronze-foundry 1.0's extractors (``from extractors.base
import BaseExtractor``), shipped with bronze-extract so that a 1.0 custom
extractor runs unchanged through python/bronze_runner.py.

An extractor is built with no arguments; ``fetch_records(cfg, run_date)`` gets
the whole config as a dict and the run date as a ``datetime.date`` and returns
``(records, new_cursor)``: records a list (or any iterable) of dicts, the
cursor a string or None.
"""

from abc import ABC, abstractmethod
from datetime import date
from typing import Any, Dict, List, Optional, Tuple


class BaseExtractor(ABC):
    """Abstract base class for all extractors."""

    @abstractmethod
    def fetch_records(
        self,
        cfg: Dict[str, Any],
        run_date: date,
    ) -> Tuple[List[Dict[str, Any]], Optional[str]]:
        """Returns (records, new_cursor)."""
        raise NotImplementedError
