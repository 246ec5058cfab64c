#!/usr/bin/env python3
"""Run Tagwarden's generated Athena queries with DuckDB over a sample export CSV and print their rows as JSON.

The CSV is exposed as a view named like the export's Athena table (`"<database>"."<table>"`), typed as Athena
types it: the cost columns as DECIMAL(38,10) so sums are exact (Athena has them as DOUBLE), and the map columns
(CUR 2.0 `resource_tags`, FOCUS `Tags`; JSON objects in the CSV) as MAP(VARCHAR, VARCHAR).

Usage: athena_duckdb.py EXPORT CSV SQL_DIR DATABASE TABLE     (EXPORT: legacy, cur2 or focus)
Prints {"<query name>": [[column, ...], ...], ...}: every value as a string, NULL as null.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import duckdb

# The columns each format carries as numbers and as maps.
COSTS = {"legacy": ["line_item_unblended_cost"], "cur2": ["line_item_unblended_cost"],
         "focus": ["BilledCost", "EffectiveCost", "ListCost"]}
MAPS = {"legacy": [], "cur2": ["resource_tags"], "focus": ["Tags"]}


def typed_select(export: str, csv_path: str, cost_type: str) -> str:
    """SELECT over the CSV with costs as `cost_type`, maps as MAP(VARCHAR, VARCHAR), empty strings as NULL."""
    # NOTE: views cannot take prepared parameters: the path is quoted as an SQL string literal.
    literal = "'" + csv_path.replace("'", "''") + "'"
    replace = [f'CAST(NULLIF("{c}", \'\') AS {cost_type}) AS "{c}"' for c in COSTS[export]]
    replace += [f'CAST(CAST(NULLIF("{c}", \'\') AS JSON) AS MAP(VARCHAR, VARCHAR)) AS "{c}"' for c in MAPS[export]]
    return f"SELECT * REPLACE ({', '.join(replace)}) FROM read_csv({literal}, header = true, all_varchar = true)"


def main() -> None:
    export, csv_path, sql_dir, database, table = sys.argv[1:6]
    con = duckdb.connect()
    con.execute(f'CREATE SCHEMA "{database}"')
    con.execute(f'CREATE VIEW "{database}"."{table}" AS {typed_select(export, csv_path, "DECIMAL(38, 10)")}')
    results = {}
    for path in sorted(Path(sql_dir).glob("*.sql")):
        # Athena's (Trino's) element_at(map, key) is NULL for a missing key; DuckDB's returns a list, and
        # map_extract_value is its value-returning twin. The only rewrite: the rest is Athena's SQL as written.
        rows = con.execute(path.read_text().replace("element_at(", "map_extract_value(")).fetchall()
        results[path.stem] = [[None if v is None else str(v) for v in row] for row in rows]
    json.dump(results, sys.stdout, indent=1)


if __name__ == "__main__":
    main()
