"""The work products assigned to each cadre for a month, read from a spreadsheet (the unit's task-assignment
software exports one) so that each self-assessment opens with its rows pre-filled (issue #5 step 1).

One row per product: cadre code, product name, converted units assigned. The whole file is checked first, as for
cadre imports: one bad cell and nothing is used, with every problem reported by row and column.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from workflows.errors import Invalid, Problem
from workflows.registry.tabular import CellProblem, Column, read_rows, validate

NUMBER = r"\d{1,5}([.,]\d{1,2})?"

PRODUCT_COLUMNS = [
    Column("cadre_code", "Mã cán bộ", "text", required=True, max_length=40),
    Column("name", "Tên sản phẩm, công việc", "text", required=True, max_length=255),
    Column(
        "assigned",
        "Số sản phẩm quy đổi được giao",
        "text",
        required=True,
        pattern=NUMBER,
        pattern_hint="phải là một số không âm, tối đa hai chữ số thập phân (ví dụ 12 hoặc 2,5)",
    ),
]


def _not_zero(row_number: int, values: dict[str, Any]) -> list[CellProblem]:
    assigned = values.get("assigned")
    if isinstance(assigned, str) and float(assigned.replace(",", ".")) == 0:
        return [CellProblem(row_number, "Số sản phẩm quy đổi được giao", assigned, "phải lớn hơn 0")]
    return []


def read_assigned_products(content: bytes, filename: str) -> dict[str, list[dict[str, Any]]]:
    """{cadre code: [product rows as the self-assessment form holds them]}; raises Invalid listing every problem."""
    report = validate(read_rows(content, filename), PRODUCT_COLUMNS, extra_checks=_not_zero)
    if not report.ok:
        raise Invalid("the file of assigned work products cannot be used", [Problem(str(p)) for p in report.problems])
    products: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in report.rows:
        code = str(row.values["cadre_code"]).strip().upper()
        products[code].append(
            assigned_product(str(row.values["name"]).strip(), float(str(row.values["assigned"]).replace(",", ".")))
        )
    return dict(products)


def assigned_product(name: str, assigned: float) -> dict[str, Any]:
    """One product row as the self-assessment form holds it before the cadre fills in what was done."""
    return {
        "name": name,
        "assigned": assigned,
        "completed": 0,
        "completed_quality": 0,
        "completed_on_time": 0,
        "major_errors": 0,
        "delays": 0,
    }
