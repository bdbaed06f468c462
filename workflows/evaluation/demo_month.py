"""Work waiting in the demo: the current month's evaluation opened for the demo commune's cadres who can sign in,
with each one's assigned work products, so that a first sign-in (officer1, supervisor1, …) finds a self-assessment
in the inbox instead of an empty page. Only `canbo demo load` uses it; the test suite's organisation stays without
open work. Loaded after the month's self-assessment day, the tasks are overdue at once and the worker escalates
them, as it would for any late opening.
"""

from __future__ import annotations

from typing import Any

from workflows.evaluation.products import assigned_product

# Xã An Phú: officer1, officer2, supervisor1 and head1 are cadres there (workflows/registry/demo.py).
DEMO_UNIT_CODE = "X001"
# The demo's personnel officer opens it, as she would by hand: the audit trail names a person, not the system.
DEMO_OPENED_BY = "personnel1"

_PRODUCTS: dict[str, tuple[tuple[str, float], ...]] = {
    "CB0001": (  # officer1, công chức văn phòng - thống kê
        ("Báo cáo tình hình kinh tế - xã hội tháng", 1),
        ("Hồ sơ hành chính tiếp nhận và giải quyết", 40),
        ("Văn bản tham mưu trình UBND xã", 6),
    ),
    "CB0002": (  # officer2, công chức tư pháp - hộ tịch
        ("Hồ sơ đăng ký hộ tịch", 30),
        ("Bản sao chứng thực", 60),
        ("Buổi tuyên truyền, phổ biến pháp luật", 1),
    ),
    "CB0003": (  # supervisor1, phó chủ tịch UBND xã
        ("Văn bản chỉ đạo, điều hành được ký", 20),
        ("Cuộc họp chỉ đạo lĩnh vực phụ trách", 4),
        ("Báo cáo lĩnh vực phụ trách", 2),
    ),
    "CB0004": (  # head1, chủ tịch UBND xã
        ("Quyết định, văn bản điều hành được ký", 25),
        ("Phiên họp UBND xã", 1),
        ("Buổi tiếp công dân định kỳ", 2),
    ),
}


def demo_products() -> dict[str, list[dict[str, Any]]]:
    """{cadre code: product rows}, in the shape an assigned-products file gives `open_for_cadres`."""
    return {code: [assigned_product(name, amount) for name, amount in rows] for code, rows in _PRODUCTS.items()}
