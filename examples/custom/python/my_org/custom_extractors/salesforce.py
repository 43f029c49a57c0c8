# my_org/custom_extractors/salesforce.py
#
# A bronze-foundry 1.0 custom extractor, written as 1.0's
# docs/EXTENDING_EXTRACTORS.md shows one; it runs unchanged under
# bronze-extract (python/bronze_runner.py). It does not talk to Salesforce:
# it serves a fixed list of accounts, the ones modified after the previous
# run's cursor (BRONZE_LAST_CURSOR), `page_size` at a time.

import os
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Dict, List, Optional, Tuple

from extractors.base import BaseExtractor

ACCOUNTS = [
    {"Id": "001", "Name": "Acme Corp", "LastModifiedDate": "2025-01-01T08:00:00",
     "AnnualRevenue": Decimal("1200000.50"), "CreatedDate": date(2020, 5, 1)},
    {"Id": "002", "Name": "Globex", "LastModifiedDate": "2025-01-02T09:30:00",
     "AnnualRevenue": Decimal("830000.00"), "CreatedDate": date(2021, 2, 14)},
    {"Id": "003", "Name": "Initech", "LastModifiedDate": "2025-01-03T10:15:00",
     "AnnualRevenue": None, "CreatedDate": date(2019, 11, 30)},
    {"Id": "004", "Name": "Umbrella", "LastModifiedDate": "2025-01-04T11:45:00",
     "AnnualRevenue": Decimal("99.99"), "CreatedDate": date(2022, 7, 7)},
    {"Id": "005", "Name": "Hooli", "LastModifiedDate": "2025-01-05T12:00:00",
     "AnnualRevenue": Decimal("5000000.00"), "CreatedDate": date(2018, 1, 9)},
    {"Id": "006", "Name": "Stark Industries", "LastModifiedDate": "2025-01-06T13:20:00",
     "AnnualRevenue": Decimal("7.00"), "CreatedDate": date(2017, 3, 3)},
]


class SalesforceExtractor(BaseExtractor):
    def fetch_records(
        self,
        cfg: Dict[str, Any],
        run_date: date,
    ) -> Tuple[List[Dict[str, Any]], Optional[str]]:

        src = cfg["source"]
        sf_cfg = src.get("salesforce", {})

        # Example: use your vendor SDK or API here
        # client = SalesforceClient(...)
        # rows = client.query_all(sf_cfg["soql_query"])
        last_cursor = os.environ.get("BRONZE_LAST_CURSOR")
        page_size = int(sf_cfg.get("page_size", 3))
        rows: List[Dict[str, Any]] = [
            dict(r, ExtractedFor=run_date, ExtractedAt=datetime(2025, 1, 12, 14, 30, 15))
            for r in ACCOUNTS
            if last_cursor is None or r["LastModifiedDate"] > last_cursor
        ][:page_size]
        cursor_field = sf_cfg.get("incremental", {}).get("cursor_field")

        max_cursor: Optional[str] = last_cursor
        for r in rows:
            if cursor_field and cursor_field in r and r[cursor_field] is not None:
                sval = str(r[cursor_field])
                if max_cursor is None or sval > max_cursor:
                    max_cursor = sval

        print(f"[INFO] SalesforceExtractor: {len(rows)} accounts after {last_cursor}")
        return rows, max_cursor
