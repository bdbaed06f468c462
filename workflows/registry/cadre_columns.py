"""The cadre import/export file: its columns, in template order, and the checks that span several columns.

Keys follow the `Cadre` model's attribute names, except the two unit codes (`unit_code`, `hometown_unit_code`)
that the importer resolves to units, and `email`, which belongs to the cadre's user account.
Unit codes are only checked for length here: whether a unit exists, and whether the importing officer may write to
it, is for the importer, which has the database and the acting user.
"""

from __future__ import annotations

from datetime import date

from workflows.registry.tabular import CellProblem, Column, ExtraChecks, Value, display_value

CODE_PATTERN = r"^[A-Z0-9][A-Z0-9-]{1,39}$"
# Deliberately loose: the mail server is the real judge; this catches a name or a phone number typed in by mistake.
EMAIL_PATTERN = r"[^@\s]+@[^@\s]+\.[^@\s]+"

MIN_AGE = 18
MAX_AGE = 70
# The Party Charter admits members from 18 years of age.
PARTY_MIN_AGE = 18

# Blank is not "Có": a new cadre is recorded "Không", an existing one keeps what is recorded.
_BLANK_FLAG = 'Để trống: cán bộ mới được ghi là "Không", cán bộ đã có giữ nguyên giá trị đang lưu.'

CADRE_COLUMNS: list[Column] = [
    Column(
        "code",
        "Mã cán bộ",
        "text",
        required=True,
        pattern=CODE_PATTERN,
        pattern_hint="2–40 ký tự: chữ in hoa không dấu, chữ số và dấu gạch ngang",
        unique=True,
        help="Mã duy nhất của cán bộ. Nhập lại cùng một tệp sẽ cập nhật cán bộ có mã này, không tạo bản ghi mới.",
    ),
    Column("full_name", "Họ và tên", "text", required=True, max_length=255),
    Column("birth_date", "Ngày sinh", "date", required=True, help=f"Tuổi phải từ {MIN_AGE} đến {MAX_AGE}."),
    Column("gender", "Giới tính", "choice", required=True, choices={"Nam": "male", "Nữ": "female"}),
    Column(
        "ethnicity",
        "Dân tộc",
        "text",
        max_length=60,
        help="Ví dụ: Kinh, Tày, Thái. Để trống nếu chưa rõ; hệ thống không tự ghi dân tộc nào.",
    ),
    Column(
        "hometown", "Quê quán", "text", max_length=255, help="Ghi như trong lý lịch, ví dụ: Xã An Phú, tỉnh Sơn Hà."
    ),
    Column(
        "hometown_unit_code",
        "Mã đơn vị quê quán",
        "text",
        max_length=40,
        help="Mã của xã, phường quê quán nếu có trong hệ thống; dùng để xét chức danh phải bố trí người nơi khác.",
    ),
    Column("unit_code", "Mã đơn vị", "text", required=True, max_length=40, help="Mã đơn vị công tác hiện nay."),
    Column("is_party_member", "Đảng viên", "bool", help=_BLANK_FLAG),
    Column("party_joined_date", "Ngày vào Đảng", "date", help='Chỉ ghi khi cột "Đảng viên" là "Có".'),
    Column(
        "education_level",
        "Trình độ chuyên môn",
        "choice",
        choices={
            "Trung cấp": "trung_cap",
            "Cao đẳng": "cao_dang",
            "Đại học": "dai_hoc",
            "Thạc sĩ": "thac_si",
            "Tiến sĩ": "tien_si",
        },
        help="Trình độ cao nhất.",
    ),
    Column("education_field", "Chuyên ngành", "text", max_length=255),
    Column("is_science_technology", "Khoa học - công nghệ", "bool", help=_BLANK_FLAG),
    Column(
        "political_theory",
        "Lý luận chính trị",
        "choice",
        choices={"Sơ cấp": "so_cap", "Trung cấp": "trung_cap", "Cao cấp": "cao_cap", "Cử nhân": "cu_nhan"},
    ),
    Column(
        "state_management_training",
        "Quản lý nhà nước",
        "text",
        max_length=255,
        help="Chương trình đã học, ví dụ: Chuyên viên, Chuyên viên chính.",
    ),
    Column(
        "email",
        "Email",
        "text",
        max_length=255,
        pattern=EMAIL_PATTERN,
        pattern_hint="ví dụ ten@donvi.gov.vn",
        help="Chỉ để xem: email thuộc tài khoản đăng nhập của cán bộ, do chính người đó cập nhật; cột này không được "
        "nhập, dòng có email khác với tài khoản sẽ được báo lại.",
    ),
]

# What leaders read beside the record's own fields: derived, so never imported (`Column.export_only`).
_READ_ONLY = "Chỉ để xem: hệ thống tự ghi khi xuất danh sách; khi nhập lại tệp, cột này được bỏ qua."
_EXPORT_ONLY_AFTER: dict[str, list[Column]] = {
    "birth_date": [
        Column("age", "Tuổi", "int", export_only=True, help=_READ_ONLY + " Tuổi tròn tính đến ngày xuất."),
        Column("retirement_date", "Ngày nghỉ hưu", "date", export_only=True, help=_READ_ONLY),
    ],
    "unit_code": [
        Column("unit_name", "Tên đơn vị", "text", export_only=True, help=_READ_ONLY),
        Column(
            "current_posts",
            "Chức vụ hiện tại",
            "text",
            export_only=True,
            help=_READ_ONLY + " Các chức vụ đang giữ, cách nhau bởi dấu chấm phẩy.",
        ),
    ],
}
# The export: the template's columns with the read-only ones beside the field they explain. Importing an export
# reads the template's columns and ignores the others, so export → import changes nothing.
CADRE_EXPORT_COLUMNS: list[Column] = [
    shown for column in CADRE_COLUMNS for shown in [column, *_EXPORT_ONLY_AFTER.get(column.key, [])]
]

_HEADERS = {c.key: c.header for c in CADRE_COLUMNS}


def cadre_extra_checks(today: date) -> ExtraChecks:
    """Checks across columns of one cadre row, judged on `today` (passed in, so a report can be reproduced)."""

    def check(row: int, values: dict[str, Value]) -> list[CellProblem]:
        problems: list[CellProblem] = []
        birth = values.get("birth_date")
        joined = values.get("party_joined_date")

        def problem(key: str, value: Value, message: str) -> None:
            problems.append(CellProblem(row, _HEADERS[key], display_value(value), message))

        if isinstance(birth, date):
            if birth > today:
                problem("birth_date", birth, "là một ngày trong tương lai.")
            else:
                age = age_on(birth, today)
                if not MIN_AGE <= age <= MAX_AGE:
                    problem("birth_date", birth, f"ứng với {age} tuổi; tuổi phải từ {MIN_AGE} đến {MAX_AGE}.")
        if isinstance(joined, date):
            if joined > today:
                problem("party_joined_date", joined, "là một ngày trong tương lai.")
            elif isinstance(birth, date) and joined < _birthday(birth, PARTY_MIN_AGE):
                problem("party_joined_date", joined, f"trước ngày cán bộ đủ {PARTY_MIN_AGE} tuổi.")
            if values.get("is_party_member") is not True:
                problem("party_joined_date", joined, 'được ghi nhưng cột "Đảng viên" không phải là "Có".')
        return problems

    return check


def age_on(birth: date, on: date) -> int:
    """Full years on `on` (the age column of the export, the age check of the import)."""
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def _birthday(birth: date, years: int) -> date:
    try:
        return birth.replace(year=birth.year + years)
    except ValueError:  # born on 29 February: the birthday falls on 1 March in common years
        return date(birth.year + years, 3, 1)
