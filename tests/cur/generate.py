#!/usr/bin/env python3
"""Generate sample billing exports for Tagwarden's cost-report tests (stdlib only).

Writes to OUTDIR the same line items in each export format:
  cur-legacy.csv      legacy CUR with Athena column names, one column per tag
                      (line_item_unblended_cost, resource_tags_user_cost_center, ...)
  cur-legacy.csv.gz   the same with legacy CUR headers (lineItem/UnblendedCost, resourceTags/user:cost-center, ...)
  cur2.csv[.gz]       CUR 2.0 (Data Exports): the line-item columns and one `resource_tags` map, written as a JSON
                      object with AWS's keys (`user_cost_center`); a key without a value is left out of the map
  focus.csv[.gz]      FOCUS 1.2 with AWS columns: BilledCost (= the unblended cost), EffectiveCost (some usage
                      amortised at 72 %), ServiceName, x_ServiceCode, ResourceId, and `Tags` (JSON, keys as written)
  expected.json       SageMaker cost by tag value for KEYS and the untagged SageMaker cost, in the shape of
                      `tagwarden report --format json` (without its `export` and `cost_column` fields), computed
                      here with decimal.Decimal; each written CSV is read back with its own format's rules
                      and must give the same totals (BilledCost for FOCUS)
  expected-effective.json   the same for FOCUS EffectiveCost
Parquet copies come from tests/cur/to_parquet.py (DuckDB, in the venv).

Line items: daily SageMaker usage of a few hundred resources over a month (fully tagged, partly tagged,
untagged, tagged with misspelt keys such as `costcentre` or `env`, a few credits), plus EC2/S3/Lambda
items that carry the same tags and must not count. Deterministic for a given --seed.

Usage: generate.py OUTDIR [--seed N] [--resources N] [--days N]
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import random
from decimal import Decimal
from pathlib import Path

KEYS = ["cost-center", "team", "environment"]
ACCOUNT = "123456789012"
# (CUR 2.0 / Athena name, legacy CUR header)
COLUMNS = [
    ("identity_line_item_id", "identity/LineItemId"),
    ("bill_payer_account_id", "bill/PayerAccountId"),
    ("line_item_usage_account_id", "lineItem/UsageAccountId"),
    ("line_item_line_item_type", "lineItem/LineItemType"),
    ("line_item_usage_start_date", "lineItem/UsageStartDate"),
    ("line_item_usage_end_date", "lineItem/UsageEndDate"),
    ("line_item_product_code", "lineItem/ProductCode"),
    ("line_item_usage_type", "lineItem/UsageType"),
    ("line_item_operation", "lineItem/Operation"),
    ("line_item_resource_id", "lineItem/ResourceId"),
    ("line_item_usage_amount", "lineItem/UsageAmount"),
    ("line_item_unblended_cost", "lineItem/UnblendedCost"),
    ("line_item_line_item_description", "lineItem/LineItemDescription"),
    ("resource_tags_user_cost_center", "resourceTags/user:cost-center"),
    ("resource_tags_user_costcentre", "resourceTags/user:costcentre"),
    ("resource_tags_user_team", "resourceTags/user:team"),
    ("resource_tags_user_environment", "resourceTags/user:environment"),
    ("resource_tags_user_env", "resourceTags/user:env"),
    ("resource_tags_user_project", "resourceTags/user:project"),
]
TAG_COLUMN = {"cost-center": "resource_tags_user_cost_center", "team": "resource_tags_user_team",
              "environment": "resource_tags_user_environment"}
# Each flattened tag column's key as the user wrote it (FOCUS `Tags`) and in CUR 2.0's `resource_tags` map.
TAG_KEYS = {c: legacy.split("user:", 1)[1] for c, legacy in COLUMNS if c.startswith("resource_tags_user_")}
CUR2_KEYS = {c: c.removeprefix("resource_tags_") for c in TAG_KEYS}
CUR2_COLUMNS = [c for c, _ in COLUMNS if not c.startswith("resource_tags_")] + ["resource_tags"]
SERVICE_NAMES = {"AmazonSageMaker": "Amazon SageMaker", "AmazonEC2": "Amazon Elastic Compute Cloud",
                 "AmazonS3": "Amazon Simple Storage Service", "AWSLambda": "AWS Lambda"}
FOCUS_COLUMNS = ["BillingAccountId", "SubAccountId", "ChargeCategory", "ChargePeriodStart", "ChargePeriodEnd",
                 "ProviderName", "ServiceName", "ResourceId", "ConsumedQuantity", "ListCost", "BilledCost",
                 "EffectiveCost", "ChargeDescription", "Tags", "x_ServiceCode", "x_UsageType", "x_Operation"]
KINDS = [  # (ARN resource type, usage type, operation, description)
    ("training-job", "USE1-Train:ml.p3.2xlarge", "CreateTrainingJob",
     "$3.825 per On Demand ml.p3.2xlarge hour, training"),
    ("endpoint", "USE1-Host:ml.m5.xlarge", "RunInstance", "$0.23 per Hosting ml.m5.xlarge hour"),
    ("notebook-instance", "USE1-Notebk:ml.t3.medium", "RunInstance",
     'Notebook "ml.t3.medium" instance, per hour'),
    ("processing-job", "USE1-Processing:ml.m5.large", "CreateProcessingJob", "Processing, ml.m5.large"),
]
OTHER = [("AmazonEC2", "BoxUsage:m5.large", "RunInstances", "i-{:017x}"),
         ("AmazonS3", "TimedStorage-ByteHrs", "StandardStorage", "bucket-{}"),
         ("AWSLambda", "Request", "Invoke", "arn:aws:lambda:us-east-1:" + ACCOUNT + ":function:f{}")]


def tags_for(rng: random.Random) -> dict[str, str]:
    """One resource's tags: mostly compliant, some partial, some untagged, some misspelt."""
    roll = rng.random()
    full = {"resource_tags_user_cost_center": f"CC-{rng.choice([1001, 1002, 2040, 3300])}",
            "resource_tags_user_team": rng.choice(["nlp", "vision", "research", "platform"]),
            "resource_tags_user_environment": rng.choice(["dev", "staging", "production"]),
            "resource_tags_user_project": rng.choice(["", "churn", "search"])}
    if roll < 0.55:
        return full
    if roll < 0.70:  # one required key missing
        drop = rng.choice(list(TAG_COLUMN.values()))
        return {k: v for k, v in full.items() if k != drop}
    if roll < 0.80:  # misspelt keys: the value is there, under the wrong key
        out = dict(full)
        out["resource_tags_user_costcentre"] = out.pop("resource_tags_user_cost_center")
        if rng.random() < 0.5:
            out["resource_tags_user_env"] = out.pop("resource_tags_user_environment")
        return out
    if roll < 0.85:  # present but empty value
        out = dict(full)
        out["resource_tags_user_team"] = ""
        return out
    return {}  # untagged


def money(rng: random.Random) -> Decimal:
    """A cost with up to ten decimals, like CUR's."""
    return Decimal(rng.randint(0, 40 * 10**10)) / Decimal(10**10)


def generate(seed: int, resources: int, days: int) -> list[dict[str, str]]:
    rng = random.Random(seed)
    rows: list[dict[str, str]] = []
    fleet = []
    for i in range(resources):
        kind = rng.choice(KINDS)
        arn = f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:{kind[0]}/tw-sample-{i:04d}"
        fleet.append((kind, arn, tags_for(rng)))
    for day in range(1, days + 1):
        start = f"2026-10-{day:02d}T00:00:00Z"
        end = f"2026-10-{day:02d}T23:59:59Z" if day < 31 else "2026-11-01T00:00:00Z"
        for kind, arn, tags in fleet:
            if rng.random() < 0.25:
                continue
            credit = rng.random() < 0.01
            cost = -Decimal(rng.randint(1, 4 * 10**10)) / Decimal(10**10) if credit else money(rng)
            rows.append({"line_item_line_item_type": "Credit" if credit else "Usage",
                         "line_item_usage_start_date": start, "line_item_usage_end_date": end,
                         "line_item_product_code": "AmazonSageMaker", "line_item_usage_type": kind[1],
                         "line_item_operation": kind[2], "line_item_resource_id": arn,
                         "line_item_usage_amount": str(rng.randint(1, 24)),
                         "line_item_unblended_cost": format(cost, "f"),
                         "line_item_line_item_description": kind[3], **tags})
        for _ in range(rng.randint(20, 40)):
            product, usage, op, rid = rng.choice(OTHER)
            rows.append({"line_item_line_item_type": "Usage", "line_item_usage_start_date": start,
                         "line_item_usage_end_date": end, "line_item_product_code": product,
                         "line_item_usage_type": usage, "line_item_operation": op,
                         "line_item_resource_id": rid.format(rng.randint(0, 999)),
                         "line_item_usage_amount": "1", "line_item_unblended_cost": format(money(rng), "f"),
                         "line_item_line_item_description": f"{product}, {usage}", **tags_for(rng)})
    # NOTE: a separate generator, so the line items stay those of earlier versions of this sample.
    amortised = random.Random(seed + 1)
    for n, row in enumerate(rows):
        row["identity_line_item_id"] = f"li-{n:08d}"
        row["bill_payer_account_id"] = ACCOUNT
        row["line_item_usage_account_id"] = ACCOUNT
        cost = Decimal(row["line_item_unblended_cost"])
        if row["line_item_line_item_type"] == "Usage" and amortised.random() < 0.3:
            cost = (cost * Decimal("0.72")).quantize(Decimal("1E-10"))
        row["effective_cost"] = format(cost, "f")
    return rows


def tags_of(row: dict[str, str], keys: dict[str, str]) -> str:
    """The row's tags as the JSON object of a CSV map cell; keys without a value are left out."""
    return json.dumps({keys[c]: row[c] for c in keys if row.get(c)}, separators=(",", ":"))


def cur2_row(row: dict[str, str]) -> list[str]:
    return [row.get(c, "") for c in CUR2_COLUMNS[:-1]] + [tags_of(row, CUR2_KEYS)]


def focus_row(row: dict[str, str]) -> list[str]:
    product = row["line_item_product_code"]
    return [ACCOUNT, ACCOUNT, row["line_item_line_item_type"], row["line_item_usage_start_date"],
            row["line_item_usage_end_date"], "AWS", SERVICE_NAMES[product], row["line_item_resource_id"],
            row["line_item_usage_amount"], row["line_item_unblended_cost"], row["line_item_unblended_cost"],
            row["effective_cost"], row["line_item_line_item_description"], tags_of(row, TAG_KEYS), product,
            row["line_item_usage_type"], row["line_item_operation"]]


def read_back(path: Path, export: str, cost: str) -> list[dict[str, str]]:
    """Rows of a written CSV reduced, by that format's own rules, to service, cost and the KEYS' values."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", newline="") as f:
        out = []
        for record in csv.DictReader(f):
            if export == "legacy":
                product = record.get("line_item_product_code", record.get("lineItem/ProductCode"))
                amount = record.get("line_item_unblended_cost", record.get("lineItem/UnblendedCost"))
                tags = {k: record.get(TAG_COLUMN[k], record.get(f"resourceTags/user:{k}", "")) for k in KEYS}
            elif export == "cur2":
                product, amount = record["line_item_product_code"], record["line_item_unblended_cost"]
                cell = json.loads(record["resource_tags"])
                tags = {k: cell.get(CUR2_KEYS[TAG_COLUMN[k]], "") for k in KEYS}
            else:
                product, amount = record["x_ServiceCode"], record[cost]
                cell = json.loads(record["Tags"])
                tags = {k: cell.get(k, "") for k in KEYS}
            out.append({"line_item_product_code": product, "cost": amount,
                        **{TAG_COLUMN[k]: v for k, v in tags.items()}})
        return out


def fmt(amount: Decimal) -> str:
    """Tagwarden's money format: ten decimals, trailing zeros dropped down to two."""
    text = format(amount.quantize(Decimal("1E-10")), "f")
    whole, frac = text.split(".")
    frac = frac.rstrip("0").ljust(2, "0")
    return f"{whole}.{frac}"


def expected(rows: list[dict[str, str]], cost_field: str = "line_item_unblended_cost") -> dict:
    def total() -> dict:
        return {"cost": Decimal(0), "line_items": 0}

    sagemaker, untagged = total(), total()
    by_tag: list[dict[str, dict]] = [{} for _ in KEYS]
    for row in rows:
        if row["line_item_product_code"] != "AmazonSageMaker":
            continue
        cost = Decimal(row[cost_field])
        sagemaker["cost"] += cost
        sagemaker["line_items"] += 1
        missing = False
        for i, key in enumerate(KEYS):
            value = row.get(TAG_COLUMN[key]) or "(untagged)"
            missing |= value == "(untagged)"
            group = by_tag[i].setdefault(value, total())
            group["cost"] += cost
            group["line_items"] += 1
        if missing:
            untagged["cost"] += cost
            untagged["line_items"] += 1

    def out(t: dict) -> dict:
        return {"cost": fmt(t["cost"]), "line_items": t["line_items"]}

    return {"keys": KEYS, "line_items_read": len(rows), "sagemaker": out(sagemaker),
            "by_tag": [{v: out(t) for v, t in sorted(groups.items())} for groups in by_tag],
            "untagged": out(untagged)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("outdir", type=Path)
    parser.add_argument("--seed", type=int, default=20261027)
    parser.add_argument("--resources", type=int, default=200)
    parser.add_argument("--days", type=int, default=31)
    args = parser.parse_args()
    args.outdir.mkdir(parents=True, exist_ok=True)
    rows = generate(args.seed, args.resources, args.days)
    athena_legacy = ([c for c, _ in COLUMNS], [[row.get(c, "") for c, _ in COLUMNS] for row in rows])
    files = {
        "cur-legacy.csv": athena_legacy,
        "cur-legacy.csv.gz": ([legacy for _, legacy in COLUMNS], athena_legacy[1]),
        "cur2.csv": (CUR2_COLUMNS, [cur2_row(row) for row in rows]),
        "focus.csv": (FOCUS_COLUMNS, [focus_row(row) for row in rows]),
    }
    files["cur2.csv.gz"] = files["cur2.csv"]
    files["focus.csv.gz"] = files["focus.csv"]
    for name, (header, body) in files.items():
        opener = gzip.open if name.endswith(".gz") else open
        with opener(args.outdir / name, "wt", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(header)
            writer.writerows(body)
    billed, effective = expected(rows), expected(rows, "effective_cost")
    assert billed != effective, "the sample amortises some usage"
    for name in files:
        export = name.split(".")[0].removeprefix("cur-")
        back = read_back(args.outdir / name, export, "BilledCost")
        assert expected(back, "cost") == billed, f"{name} read back gives other totals"
    for name in ("focus.csv", "focus.csv.gz"):
        back = read_back(args.outdir / name, "focus", "EffectiveCost")
        assert expected(back, "cost") == effective, f"{name} EffectiveCost read back gives other totals"
    (args.outdir / "expected.json").write_text(json.dumps(billed, indent=2) + "\n")
    (args.outdir / "expected-effective.json").write_text(json.dumps(effective, indent=2) + "\n")
    print(f"{len(rows)} line items in {args.outdir}, {len(files)} files")


if __name__ == "__main__":
    main()
