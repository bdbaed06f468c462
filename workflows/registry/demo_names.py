"""Word lists for the demo province: places, people's names by ethnicity and gender, study fields, discipline notes.

All of it is invented for the fictional "Tỉnh Sơn Hà (demo)". Place names are built from the words Vietnamese place
names are usually made of, so some will coincide with real places; none is meant to be one. Weights are rough
shares, not statistics: they only need to give lists and charts a plausible look.
"""

from __future__ import annotations

from dataclasses import dataclass

KINH = "Kinh"


@dataclass(frozen=True)
class Commune:
    code: str
    name: str  # as written at the start of a line: "Xã Tân Phong"
    unit_type: str  # commune, ward, special_zone
    profile: str  # a key of MINORITY_SHARE: where the commune is decides who lives there


# X001 and X002 are the small demo organisation's units; the rest are added with the province.
COMMUNES: tuple[Commune, ...] = (
    Commune("X001", "Xã An Phú", "commune", "lowland"),
    Commune("X002", "Phường Bình Minh", "ward", "urban"),
    Commune("X003", "Phường Sơn Hà", "ward", "urban"),
    Commune("X004", "Phường Đông Thành", "ward", "urban"),
    Commune("X005", "Phường Ngọc Tuyền", "ward", "urban"),
    Commune("X006", "Xã Tân Phong", "commune", "lowland"),
    Commune("X007", "Xã Đồng Tiến", "commune", "lowland"),
    Commune("X008", "Xã Hưng Đạo", "commune", "lowland"),
    Commune("X009", "Xã Thạch Lâm", "commune", "lowland"),
    Commune("X010", "Xã Vĩnh Hòa", "commune", "lowland"),
    Commune("X011", "Xã Quảng Tâm", "commune", "lowland"),
    Commune("X012", "Xã Minh Đức", "commune", "midland"),
    Commune("X013", "Xã Trung Sơn", "commune", "midland"),
    Commune("X014", "Xã Hợp Thịnh", "commune", "midland"),
    Commune("X015", "Xã Thanh Vân", "commune", "midland"),
    Commune("X016", "Xã Phúc Sơn", "commune", "midland"),
    Commune("X017", "Xã Đồng Lương", "commune", "midland"),
    Commune("X018", "Xã Nà Khuổi", "commune", "highland"),
    Commune("X019", "Xã Phìn Hồ", "commune", "highland"),
    Commune("X020", "Xã Mường Khoa", "commune", "highland"),
    Commune("X021", "Xã Sín Chải", "commune", "highland"),
    Commune("X022", "Xã Thượng Lâm", "commune", "highland"),
    Commune("X023", "Xã Hải Yến", "commune", "coastal"),
    Commune("X024", "Xã Hải Đông", "commune", "coastal"),
    Commune("X025", "Xã Bình Hải", "commune", "coastal"),
    Commune("X026", "Đặc khu Hòn Ngọc", "special_zone", "coastal"),
)

# Hometowns outside the province: invented provinces, so no real place is named.
OTHER_PROVINCES = ("tỉnh Lâm Giang", "tỉnh Hải Đông", "tỉnh Nam Xuyên", "tỉnh Thượng Ngàn", "tỉnh Đông Lâm")
OTHER_PLACES = ("xã Tiên Phong", "xã Đại Đồng", "xã Hồng Phong", "xã Nghĩa Hưng", "phường Trần Phú", "xã Cẩm Sơn")

# Share of ethnic minorities among people from a place of each profile; "province" is for hometowns elsewhere.
MINORITY_SHARE = {
    "urban": 0.04,
    "lowland": 0.04,
    "coastal": 0.06,
    "midland": 0.22,
    "highland": 0.50,
    "province": 0.10,
}

MINORITIES_BY_PROFILE: dict[str, tuple[tuple[str, float], ...]] = {
    "urban": (("Tày", 3), ("Mường", 3), ("Hoa", 2), ("Nùng", 2)),
    "lowland": (("Mường", 4), ("Tày", 3), ("Hoa", 1), ("Nùng", 2)),
    "coastal": (("Hoa", 4), ("Khmer", 6)),
    "midland": (("Tày", 35), ("Mường", 30), ("Nùng", 20), ("Dao", 10), ("Sán Dìu", 5)),
    "highland": (("H'Mông", 35), ("Thái", 25), ("Dao", 20), ("Tày", 10), ("Nùng", 10)),
    "province": (("Tày", 25), ("Thái", 20), ("Mường", 20), ("Nùng", 15), ("H'Mông", 10), ("Dao", 10)),
}

Weighted = tuple[tuple[str, float], ...]

KINH_FAMILY: Weighted = (
    ("Nguyễn", 31), ("Trần", 11), ("Lê", 9.5), ("Phạm", 7), ("Hoàng", 5), ("Phan", 4.5), ("Vũ", 4),
    ("Đặng", 2.1), ("Bùi", 2), ("Võ", 1.5), ("Đỗ", 1.4), ("Huỳnh", 1), ("Hồ", 1.3), ("Ngô", 1.3),
    ("Dương", 1), ("Đinh", 1), ("Đào", 0.8), ("Trịnh", 0.8), ("Lý", 0.5), ("Mai", 0.6), ("Lương", 0.6),
    ("Cao", 0.6), ("Hà", 0.6), ("Tạ", 0.4), ("Lưu", 0.4), ("Chu", 0.4), ("Tô", 0.4), ("Phùng", 0.4),
    ("Kiều", 0.3), ("Vương", 0.3), ("Thái", 0.3), ("Quách", 0.2), ("Nghiêm", 0.2), ("Lại", 0.2), ("Doãn", 0.2),
)  # fmt: skip

KINH_MALE_MIDDLE: Weighted = (
    ("Văn", 30), ("Đức", 8), ("Minh", 7), ("Quốc", 6), ("Hữu", 6), ("Thanh", 5), ("Công", 5), ("Xuân", 4),
    ("Quang", 4), ("Đình", 4), ("Ngọc", 3), ("Trọng", 3), ("Anh", 3), ("Mạnh", 3), ("Tiến", 3), ("Thế", 3),
    ("Việt", 2), ("Duy", 2), ("Hoàng", 2), ("Gia", 2), ("Bá", 2), ("Huy", 2), ("Trung", 2), ("Tuấn", 2),
)  # fmt: skip

# "Thị" for many women, as the issue asks; younger women carry it less often, which the weights average over.
KINH_FEMALE_MIDDLE: Weighted = (
    ("Thị", 45), ("Thu", 6), ("Ngọc", 6), ("Thanh", 5), ("Minh", 4), ("Phương", 4), ("Hồng", 4), ("Thùy", 4),
    ("Kim", 3), ("Bích", 3), ("Thúy", 3), ("Hải", 2), ("Khánh", 2), ("Mai", 2), ("Diệu", 2), ("Hoài", 2),
    ("Quỳnh", 2), ("Lan", 1),
)  # fmt: skip

KINH_MALE_GIVEN = (
    "Hùng", "Dũng", "Minh", "Tuấn", "Hải", "Nam", "Long", "Thắng", "Quân", "Cường", "Sơn", "Phong", "Trung",
    "Hiếu", "Huy", "Đức", "Tùng", "Khoa", "Bình", "Thành", "Tâm", "Việt", "Hoàng", "Lâm", "Kiên", "Đạt",
    "Tài", "Thịnh", "Vinh", "Khánh", "Quang", "Toàn", "Lợi", "Phúc", "An", "Hưng", "Chiến", "Hòa", "Thái",
    "Tú", "Duy", "Trường", "Bảo", "Hiệp", "Luân", "Nghĩa", "Tiến", "Hậu", "Sang", "Thuận",
)  # fmt: skip

KINH_FEMALE_GIVEN = (
    "Lan", "Hoa", "Mai", "Hương", "Hằng", "Thảo", "Trang", "Linh", "Ngọc", "Nga", "Huyền", "Yến", "Vân",
    "Thủy", "Hà", "Phương", "Anh", "Dung", "Loan", "Nhung", "Oanh", "Hạnh", "Thu", "Hiền", "Quyên", "Chi",
    "Giang", "Liên", "Tuyết", "Nhàn", "Xuân", "Hồng", "Lý", "Thơm", "Thắm", "Vy", "My", "Ánh", "Diệp", "Huệ",
)  # fmt: skip


@dataclass(frozen=True)
class NamingStyle:
    family: Weighted
    male_middle: Weighted
    female_middle: Weighted
    male_given: tuple[str, ...]
    female_given: tuple[str, ...]


_PLAIN_MALE_MIDDLE: Weighted = (("Văn", 75), ("Đức", 8), ("Quang", 7), ("Minh", 10))
_PLAIN_FEMALE_MIDDLE: Weighted = (("Thị", 85), ("Thu", 5), ("Ngọc", 5), ("Hồng", 5))


def _style(family: Weighted) -> NamingStyle:
    """Many minority families use Vietnamese middle and given names; the family name is what differs."""
    return NamingStyle(family, _PLAIN_MALE_MIDDLE, _PLAIN_FEMALE_MIDDLE, KINH_MALE_GIVEN, KINH_FEMALE_GIVEN)


NAMING: dict[str, NamingStyle] = {
    KINH: NamingStyle(KINH_FAMILY, KINH_MALE_MIDDLE, KINH_FEMALE_MIDDLE, KINH_MALE_GIVEN, KINH_FEMALE_GIVEN),
    "Tày": _style((("Hoàng", 25), ("Nông", 20), ("Lương", 10), ("Ma", 8), ("Hà", 8), ("Bế", 6), ("Lục", 6),
                   ("Đàm", 5), ("Triệu", 4), ("Lý", 4), ("Hứa", 4))),
    "Nùng": _style((("Nông", 20), ("Hoàng", 20), ("Vi", 15), ("Lương", 10), ("Lăng", 10), ("Chu", 10),
                    ("Lý", 8), ("Sầm", 7))),
    "Thái": _style((("Lò", 25), ("Cầm", 15), ("Lường", 15), ("Quàng", 10), ("Vi", 10), ("Hà", 10), ("Tòng", 10),
                    ("Điêu", 5))),
    "Mường": _style((("Bùi", 40), ("Đinh", 25), ("Quách", 10), ("Hà", 10), ("Xa", 5), ("Cao", 5), ("Trương", 5))),
    "Hoa": _style((("Lâm", 20), ("Trương", 15), ("Lý", 15), ("Quách", 10), ("Tăng", 10), ("La", 10), ("Hứa", 10),
                   ("Diệp", 10))),
    "Sán Dìu": _style((("Diệp", 20), ("Lý", 20), ("Tạ", 15), ("Lục", 15), ("Trương", 15), ("Phạm", 15))),
    "H'Mông": NamingStyle(
        (("Giàng", 20), ("Sùng", 15), ("Vàng", 15), ("Thào", 15), ("Mùa", 10), ("Lý", 10), ("Hờ", 5), ("Lầu", 5),
         ("Ly", 5)),
        (("A", 60), ("Seo", 15), ("Mí", 10), ("Văn", 10), ("Chẩn", 5)),
        (("Thị", 90), ("Mí", 10)),
        ("Páo", "Chứ", "Sử", "Dính", "Lử", "Chư", "Sính", "Pó", "Tủa", "Vừ", "Lềnh", "Chúng", "Sáng", "Tếnh"),
        ("Mỷ", "Dợ", "Máy", "Sua", "Chở", "Pà", "Dế", "Mai", "Xúa", "Dí", "Mỉ", "Ca"),
    ),
    "Dao": NamingStyle(
        (("Triệu", 25), ("Bàn", 25), ("Đặng", 20), ("Lý", 10), ("Chảo", 10), ("Phùn", 5), ("Tẩn", 5)),
        (("Văn", 45), ("Tài", 20), ("Kim", 15), ("Phúc", 10), ("Quang", 10)),
        (("Thị", 80), ("Mùi", 20)),
        ("Chòi", "Quẩy", "Sinh", "Phấu", "Lở", "Tiến", "Minh", "Thanh", "Hin", "Vần"),
        ("Mây", "Hiến", "Nhất", "Liên", "Xuân", "Ngần", "Mùi", "Tả", "Kiều", "Lai"),
    ),
    # Khmer names often have no middle name; an empty middle is left out of the full name.
    "Khmer": NamingStyle(
        (("Thạch", 30), ("Danh", 25), ("Sơn", 20), ("Kim", 10), ("Lâm", 5), ("Châu", 5), ("Lý", 5)),
        (("", 70), ("Văn", 30)),
        (("Thị", 90), ("", 10)),
        ("Sóc", "Phol", "Rinh", "Thol", "Sa Rươn", "Chanh Đa", "Sô Phal", "Ra", "Kim Sang", "Sa Vy"),
        ("Sa Rây", "Sóc Kha", "Pha La", "Chanh Thi", "Ni", "Kim Ngọc", "Sa Ly", "Mỹ Linh", "Sô Phia"),
    ),
}  # fmt: skip

# (field, counts as science and technology): the dashboard's S&T target counts degrees in such fields.
GENERAL_FIELDS: tuple[tuple[str, bool], ...] = (
    ("Luật", False), ("Kinh tế", False), ("Quản lý nhà nước", False), ("Hành chính học", False),
    ("Xây dựng Đảng và chính quyền nhà nước", False), ("Chính trị học", False), ("Quản trị kinh doanh", False),
    ("Công tác xã hội", False), ("Văn hóa học", False), ("Ngôn ngữ Anh", False), ("Quản lý công", False),
    ("Kế toán", False), ("Triết học", False), ("Lịch sử", False), ("Báo chí", False), ("Công nghệ thông tin", True),
)  # fmt: skip

# Fields by the unit code's suffix, for people whose work is that unit's speciality.
FIELDS_BY_UNIT: dict[str, tuple[tuple[str, bool], ...]] = {
    "KT": (("Kế toán", False), ("Tài chính - Ngân hàng", False), ("Quản lý đất đai", True),
           ("Kỹ thuật xây dựng", True), ("Kinh tế nông nghiệp", False), ("Khoa học môi trường", True)),
    "VHXH": (("Văn hóa học", False), ("Công tác xã hội", False), ("Quản lý văn hóa", False), ("Sư phạm", False),
             ("Y tế công cộng", True)),
    "STC": (("Tài chính - Ngân hàng", False), ("Kế toán", False), ("Kinh tế", False), ("Kiểm toán", False)),
    "SNNMT": (("Nông học", True), ("Lâm nghiệp", True), ("Khoa học môi trường", True), ("Quản lý đất đai", True),
              ("Thủy lợi", True)),
    "SXD": (("Kỹ thuật xây dựng", True), ("Kiến trúc", True), ("Quy hoạch vùng và đô thị", True),
            ("Kinh tế xây dựng", False)),
    "SGDDT": (("Sư phạm Toán", False), ("Sư phạm Ngữ văn", False), ("Quản lý giáo dục", False),
              ("Sư phạm Vật lý", False)),
    "SYT": (("Y khoa", True), ("Dược học", True), ("Y tế công cộng", True), ("Điều dưỡng", True)),
    "SNV": (("Quản lý nhân lực", False), ("Luật", False), ("Hành chính học", False), ("Lưu trữ học", False)),
}  # fmt: skip

DISCIPLINE_NOTES = (
    "Thiếu trách nhiệm trong thực hiện nhiệm vụ được giao",
    "Vi phạm quy định về quản lý, sử dụng đất đai",
    "Chậm giải quyết hồ sơ thủ tục hành chính, gây phiền hà cho người dân",
    "Vi phạm quy chế làm việc của cơ quan",
    "Buông lỏng quản lý, để xảy ra sai phạm trong quản lý tài chính",
    "Vi phạm quy định về những điều đảng viên không được làm",
)
