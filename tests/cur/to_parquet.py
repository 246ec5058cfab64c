#!/usr/bin/env python3
"""Write Parquet copies of the sample exports of generate.py, typed as AWS delivers them (DuckDB, in the venv).

Costs and amounts are DOUBLE, the CUR 2.0 `resource_tags` and FOCUS `Tags` columns MAP<string,string>, other
columns optional strings (NULL when empty); Snappy-compressed.

Usage: to_parquet.py OUTDIR    (reads cur-legacy.csv, cur2.csv, focus.csv; writes <same stem>.parquet)
"""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).parent))
from athena_duckdb import typed_select  # noqa: E402

AMOUNTS = {"legacy": ["line_item_usage_amount"], "cur2": ["line_item_usage_amount"], "focus": ["ConsumedQuantity"]}


def main() -> None:
    outdir = Path(sys.argv[1])
    con = duckdb.connect()
    for stem, export in (("cur-legacy", "legacy"), ("cur2", "cur2"), ("focus", "focus")):
        source = typed_select(export, str(outdir / f"{stem}.csv"), "DOUBLE")
        con.execute(f"CREATE OR REPLACE TEMP VIEW typed AS {source}")
        names = [row[0] for row in con.execute("DESCRIBE typed").fetchall()]
        types = dict(con.execute("SELECT column_name, column_type FROM (DESCRIBE typed)").fetchall())
        columns = []
        for name in names:
            if name in AMOUNTS[export]:
                columns.append(f'CAST("{name}" AS DOUBLE) AS "{name}"')
            elif types[name] == "VARCHAR":
                columns.append(f'NULLIF("{name}", \'\') AS "{name}"')
            else:
                columns.append(f'"{name}"')
        target = str(outdir / f"{stem}.parquet").replace("'", "''")
        con.execute(f"COPY (SELECT {', '.join(columns)} FROM typed) TO '{target}' (FORMAT PARQUET, COMPRESSION SNAPPY)")
        print(f"wrote {outdir / f'{stem}.parquet'}")


if __name__ == "__main__":
    main()
