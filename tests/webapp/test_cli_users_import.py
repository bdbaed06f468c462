"""`canbo import users` and `canbo users create-for-cadres`: through click's runner on the test database (SQLite,
or PostgreSQL when DATABASE_URL says so), with the real `create_user` behind them."""

from __future__ import annotations

import csv
import io
import stat
from pathlib import Path

from flask.testing import FlaskCliRunner
from sqlalchemy import func, select

from tests.fixtures.app import AuthActions
from tests.fixtures.workflow_helpers import WorkflowDriver
from workflows.models import AuditEvent
from workflows.registry.models import Cadre, OrgUnit, User

HEADER = "Tên đăng nhập,Vai trò,Mã đơn vị,Mã cán bộ,Họ và tên,Email\n"


def _file(tmp_path: Path, *rows: str, name: str = "tai-khoan.csv") -> Path:
    path = tmp_path / name
    path.write_text(HEADER + "".join(f"{row}\n" for row in rows), encoding="utf-8")
    return path


def _usernames(driver: WorkflowDriver) -> set[str]:
    with driver.session_factory() as s:
        return set(s.scalars(select(User.username)))


def _passwords(path: Path) -> dict[str, str]:
    rows = csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig")))
    return {row["Tên đăng nhập"]: row["Mật khẩu tạm thời"] for row in rows}


def _created_events(driver: WorkflowDriver) -> list[str]:
    with driver.session_factory() as s:
        query = select(AuditEvent.payload).where(AuditEvent.event_type == "user_created")
        return list(s.scalars(query))


def _add_cadre(driver: WorkflowDriver, code: str, unit_code: str, *, active: bool = True) -> None:
    with driver.session_factory() as s:
        unit_id = s.scalar(select(OrgUnit.id).where(OrgUnit.code == unit_code))
        assert unit_id is not None
        s.add(Cadre(code=code, full_name=f"Cán bộ {code}", unit_id=unit_id, is_active=active))
        s.commit()


def test_a_good_file_creates_every_account_and_hands_out_passwords_only_to_the_operator(
    runner: FlaskCliRunner, driver: WorkflowDriver, auth: AuthActions, tmp_path: Path
) -> None:
    _add_cadre(driver, "CB0100", "X002")
    path = _file(
        tmp_path,
        "nguyen.van.a,officer,X001,,Nguyễn Văn A,a@example.vn",
        "tran.thi.b,supervisor,x002,CB0100,Trần Thị B,",
    )
    result = runner.invoke(args=["import", "users", str(path), "--reason", "Đợt 1"])
    assert result.exit_code == 0, result.output
    passwords_file = tmp_path / "tai-khoan-mat-khau.csv"
    assert stat.S_IMODE(passwords_file.stat().st_mode) == 0o600
    passwords = _passwords(passwords_file)
    assert set(passwords) == {"nguyen.van.a", "tran.thi.b"}
    assert not any(password in result.output for password in passwords.values())
    with driver.session_factory() as s:
        binh = s.scalar(select(User).where(User.username == "tran.thi.b"))
        assert binh is not None and binh.must_change_password and binh.cadre is not None
        assert binh.cadre.code == "CB0100" and binh.has_role("supervisor", binh.unit_id)
    assert len(_created_events(driver)) == 2 and all("Đợt 1" in payload for payload in _created_events(driver))
    # The temporary password signs in (and then asks for a new one, as after `users create`).
    assert auth.login("nguyen.van.a", passwords["nguyen.van.a"]).status_code == 302
    again = runner.invoke(args=["import", "users", str(path), "--passwords", str(tmp_path / "lan2.csv")])
    assert again.exit_code == 1 and "đã có người dùng" in again.stderr
    # The passwords already handed out are never overwritten.
    refused = runner.invoke(args=["import", "users", str(path)])
    assert refused.exit_code == 1 and "không ghi đè" in refused.stderr
    assert _passwords(passwords_file) == passwords


def test_a_bad_row_creates_nothing_and_names_its_row_and_column(
    runner: FlaskCliRunner, driver: WorkflowDriver, tmp_path: Path
) -> None:
    before = _usernames(driver)
    path = _file(
        tmp_path,
        "tot,officer,X001,,Người Tốt,",
        "Xấu Tên,officer,X001,,Tên sai,",
        "sai.email,officer,X001,,Thư sai,khong-phai-email",
        "sai.don.vi,officer,NOWHERE,,Không đơn vị,",
        "sai.vai.tro,boss,X001,,Vai trò lạ,",
        "da.co.ho.so,officer,X001,CB0001,Đã có tài khoản,",
    )
    result = runner.invoke(args=["import", "users", str(path)])
    assert result.exit_code == 1
    assert 'Dòng 3, cột "Tên đăng nhập"' in result.stderr
    assert 'Dòng 4, cột "Email"' in result.stderr
    assert 'Dòng 5, cột "Mã đơn vị": "NOWHERE" không có trong hệ thống.' in result.stderr
    assert 'Dòng 6, cột "Vai trò"' in result.stderr
    assert 'Dòng 7, cột "Mã cán bộ"' in result.stderr
    assert "không tài khoản nào được tạo" in result.stderr
    assert _usernames(driver) == before
    assert not (tmp_path / "tai-khoan-mat-khau.csv").exists()
    assert _created_events(driver) == []


def test_skip_bad_rows_creates_the_good_ones_and_reports_the_rest(
    runner: FlaskCliRunner, driver: WorkflowDriver, tmp_path: Path
) -> None:
    path = _file(tmp_path, "tot,officer,X001,,Người Tốt,", "sai.email,officer,X001,,Thư sai,khong-phai-email")
    result = runner.invoke(args=["import", "users", str(path), "--skip-bad-rows"])
    assert result.exit_code == 0, result.output
    assert "tot" in _usernames(driver) and "sai.email" not in _usernames(driver)
    assert set(_passwords(tmp_path / "tai-khoan-mat-khau.csv")) == {"tot"}
    assert (tmp_path / "tai-khoan-loi.xlsx").exists() and 'Dòng 3, cột "Email"' in result.stderr


def test_the_same_username_twice_in_a_file_is_reported_on_both_rows(
    runner: FlaskCliRunner, driver: WorkflowDriver, tmp_path: Path
) -> None:
    before = _usernames(driver)
    path = _file(tmp_path, "trung,officer,X001,,Người Một,", "TRUNG,officer,X002,,Người Hai,", name="trung.csv")
    result = runner.invoke(args=["import", "users", str(path)])
    assert result.exit_code == 1
    assert 'Dòng 2, cột "Tên đăng nhập"' in result.stderr and 'Dòng 3, cột "Tên đăng nhập"' in result.stderr
    assert _usernames(driver) == before


def test_a_dry_run_checks_everything_and_writes_nothing(
    runner: FlaskCliRunner, driver: WorkflowDriver, tmp_path: Path
) -> None:
    before = _usernames(driver)
    path = _file(tmp_path, "thu,officer,X001,,Chạy Thử,", "officer1,officer,X001,,Đã có,")
    refused = runner.invoke(args=["import", "users", str(path), "--dry-run"])
    assert refused.exit_code == 1 and 'Dòng 3, cột "Tên đăng nhập"' in refused.stderr
    good = _file(tmp_path, "thu,officer,X001,,Chạy Thử,", name="good.csv")
    result = runner.invoke(args=["import", "users", str(good), "--dry-run"])
    assert result.exit_code == 0 and "sẽ tạo 1 tài khoản" in result.output
    assert _usernames(driver) == before and _created_events(driver) == []
    assert not (tmp_path / "good-mat-khau.csv").exists()


def test_accounts_for_the_cadres_of_a_unit_without_one(
    runner: FlaskCliRunner, driver: WorkflowDriver, tmp_path: Path
) -> None:
    _add_cadre(driver, "CB0100", "X002")
    _add_cadre(driver, "CB0101", "X002", active=False)
    _add_cadre(driver, "CB0102", "X001")
    target = tmp_path / "x002.csv"
    dry = runner.invoke(args=["users", "create-for-cadres", "--unit", "x002", "--dry-run"])
    assert dry.exit_code == 0 and "sẽ tạo 1 tài khoản" in dry.output
    result = runner.invoke(args=["users", "create-for-cadres", "--unit", "X002", "--passwords", str(target)])
    assert result.exit_code == 0, result.output
    assert set(_passwords(target)) == {"cb0100"}
    with driver.session_factory() as s:
        user = s.scalar(select(User).where(User.username == "cb0100"))
        assert user is not None and user.cadre is not None and user.cadre.code == "CB0100"
        assert user.has_role("officer", user.unit_id)
        assert s.scalar(select(func.count()).where(User.username.in_(["cb0101", "cb0102"]))) == 0
    again = tmp_path / "x002-lan2.csv"
    nothing = runner.invoke(args=["users", "create-for-cadres", "--unit", "X002", "--passwords", str(again)])
    assert nothing.exit_code == 0 and "Không có tài khoản nào cần tạo" in nothing.output
    assert not again.exists()


def test_a_cadre_whose_username_is_taken_is_named_by_its_code(
    runner: FlaskCliRunner, driver: WorkflowDriver, tmp_path: Path
) -> None:
    _add_cadre(driver, "OFFICER1", "X001")
    _add_cadre(driver, "CB0102", "X001")
    result = runner.invoke(args=["users", "create-for-cadres", "--unit", "T01", "--passwords", str(tmp_path / "p.csv")])
    assert result.exit_code == 1 and "Cán bộ OFFICER1" in result.stderr
    assert "cb0102" not in _usernames(driver)
    skipped = runner.invoke(
        args=["users", "create-for-cadres", "--unit", "T01", "--skip-bad-rows", "--passwords", str(tmp_path / "p.csv")]
    )
    assert skipped.exit_code == 0 and "cb0102" in _usernames(driver)
