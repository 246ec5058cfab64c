#!/usr/bin/env python3
"""Run Tagwarden's generated Athena queries with DuckDB over a CUR CSV and print their rows as JSON.

The CSV is exposed as a view named like the CUR table (`"<database>"."<table>"`), with
line_item_unblended_cost as DECIMAL(38,10) so sums are exact (Athena's CUR table has it as DOUBLE).

Usage: athena_duckdb.py CUR_CSV SQL_DIR DATABASE TABLE
Prints {"<query name>": [[column, ...], ...], ...}: every value as a string, NULL as null.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import duckdb


def main() -> None:
    csv_path, sql_dir, database, table = sys.argv[1:5]
    con = duckdb.connect()
    con.execute(f'CREATE SCHEMA "{database}"')
    # NOTE: views cannot take prepared parameters: the path is quoted as an SQL string literal.
    literal = "'" + csv_path.replace("'", "''") + "'"
    con.execute(
        f'CREATE VIEW "{database}"."{table}" AS '
        "SELECT * REPLACE (CAST(line_item_unblended_cost AS DECIMAL(38, 10)) AS line_item_unblended_cost) "
        f"FROM read_csv({literal}, header = true, all_varchar = true)"
    )
    results = {}
    for path in sorted(Path(sql_dir).glob("*.sql")):
        rows = con.execute(path.read_text()).fetchall()
        results[path.stem] = [[None if v is None else str(v) for v in row] for row in rows]
    json.dump(results, sys.stdout, indent=1)


if __name__ == "__main__":
    main()
