"""Cadre records: every write path leaves before → after in the cadre's hash chain, and bad input changes nothing."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workflows import clock
from workflows.audit import verify_chains
from workflows.errors import Conflict, Invalid, NotFound
from workflows.models import AuditEvent, ProcessInstance, ProcessVersion
from workflows.registry import records
from workflows.registry.models import (
    Cadre,
    CadrePosition,
    EvaluationResult,
    OrgUnit,
    PlanningEntry,
    Position,
    User,
)
from workflows.rules.retirement import AgeRise, RetirementSchedule

TODAY = date(2026, 6, 15)


@pytest.fixture(autouse=True)
def _today() -> Iterator[None]:
    # 10:00 in Vietnam; the records compare dates with the Vietnamese calendar day.
    with clock.frozen(datetime(2026, 6, 15, 3, 0, tzinfo=UTC)):
        yield


@dataclass
class Registry:
    province: OrgUnit
    commune: OrgUnit
    ward: OrgUnit
    dissolved: OrgUnit
    secretary: Position  # commune level
    chairman: Position  # commune level
    vice_chairman: Position  # commune level
    officer: Position  # commune level
    director: Position  # province level
    actor: User


@pytest.fixture
def registry(session: Session) -> Registry:
    province = OrgUnit(code="T01", name="Tỉnh Sơn Hà", unit_type="province", path="/")
    session.add(province)
    session.flush()
    children = {
        code: OrgUnit(code=code, name=name, unit_type=kind, parent=province, path=f"/{province.id}/", **extra)
        for code, name, kind, extra in [
            ("X001", "Xã An Phú", "commune", {}),
            ("X002", "Phường Bình Minh", "ward", {}),
            ("X003", "Xã Cũ (đã sáp nhập)", "commune", {"active_to": date(2025, 6, 30)}),
        ]
    }
    session.add_all(children.values())
    session.flush()
    commune = children["X001"]

    def position(title: str, unit: OrgUnit, level: str, **flags: Any) -> Position:
        created = Position(title=title, unit_id=unit.id, level=level, **flags)
        session.add(created)
        return created

    registry = Registry(
        province=province,
        commune=commune,
        ward=children["X002"],
        dissolved=children["X003"],
        secretary=position("Bí thư Đảng ủy", commune, "commune", is_leadership=True, requires_non_local=True),
        chairman=position("Chủ tịch UBND", commune, "commune", is_leadership=True, is_key_title=True),
        vice_chairman=position("Phó Chủ tịch UBND", commune, "commune", is_leadership=True),
        officer=position("Công chức Văn phòng - Thống kê", commune, "commune"),
        director=position("Giám đốc Sở Nội vụ", province, "province", is_leadership=True, term_years=5),
        actor=User(username="personnel1", full_name="Đỗ Thị Hoa", unit_id=province.id),
    )
    session.add(registry.actor)
    session.flush()
    return registry


def cadre_values(registry: Registry, **overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "code": "CB0100",
        "full_name": "Nguyễn Văn An",
        "unit_id": registry.commune.id,
        "birth_date": date(1970, 5, 20),
        "gender": "male",
    }
    values.update(overrides)
    return {name: value for name, value in values.items() if value is not ...}


@pytest.fixture
def create_cadre(session: Session, registry: Registry) -> Callable[..., Cadre]:
    def create(**overrides: Any) -> Cadre:
        return records.create_cadre(session, registry.actor, cadre_values(registry, **overrides))

    return create


@pytest.fixture
def dummy_cadre(create_cadre: Callable[..., Cadre]) -> Cadre:
    return create_cadre()


def chain(session: Session, cadre: Cadre) -> list[tuple[str, dict[str, Any]]]:
    events = session.scalars(
        select(AuditEvent).where(AuditEvent.chain_key == f"cadre:{cadre.id}").order_by(AuditEvent.seq)
    )
    return [(event.event_type, json.loads(event.payload)) for event in events]


def last_event(session: Session, cadre: Cadre) -> tuple[str, dict[str, Any]]:
    return chain(session, cadre)[-1]


def assert_chains_ok(session: Session) -> None:
    report = verify_chains(session)
    assert report.ok, [str(b) for b in report.breaks]


def problems(error: Invalid) -> set[tuple[str | None, str]]:
    return {(p.field, p.explained) for p in error.problems}


def stub_instance(session: Session) -> ProcessInstance:
    """A process instance row for records that name their source; no engine state is needed for that."""
    version = ProcessVersion(process_id="quy_hoach", version=1, name="Quy hoạch", content_hash="0" * 64, files={})
    session.add(version)
    session.flush()
    instance = ProcessInstance(
        process_version_id=version.id, process_id="quy_hoach", state="{}", serializer_version="test"
    )
    session.add(instance)
    session.flush()
    return instance


# --- Cadres ---


def test_create_cadre_writes_the_record_and_a_snapshot_to_its_chain(session: Session, registry: Registry) -> None:
    cadre = records.create_cadre(
        session,
        registry.actor,
        cadre_values(
            registry,
            code=" cb-0100 ",
            ethnicity="Kinh",
            hometown="Xã Bình Minh",
            hometown_unit_id=registry.ward.id,
            is_party_member=True,
            party_joined_date="1995-03-02",
            education_level="thac_si",
            education_field="Quản lý công",
            is_science_technology=False,
            political_theory="cao_cap",
            state_management_training="Chuyên viên chính",
        ),
    )
    assert cadre.id is not None and cadre.code == "CB-0100"
    assert cadre.party_joined_date == date(1995, 3, 2)
    assert cadre.retirement_date == date(2032, 6, 1)
    assert cadre.is_active is True

    [(event_type, payload)] = chain(session, cadre)
    assert event_type == "cadre_created"
    assert payload["changes"]["code"] == {"from": None, "to": "CB-0100"}
    assert payload["changes"]["birth_date"] == {"from": None, "to": "1970-05-20"}
    assert payload["changes"]["retirement_date"] == {"from": None, "to": "2032-06-01"}
    assert payload["changes"]["is_science_technology"] == {"from": None, "to": False}
    event = session.scalars(select(AuditEvent).where(AuditEvent.chain_key == f"cadre:{cadre.id}")).one()
    assert (event.actor_id, event.actor_name, event.instance_id) == (registry.actor.id, "personnel1", None)
    assert_chains_ok(session)


def test_optional_text_left_blank_is_stored_as_nothing(session: Session, create_cadre: Callable[..., Cadre]) -> None:
    cadre = create_cadre(ethnicity="  ", education_level="", hometown=None)
    assert (cadre.ethnicity, cadre.education_level, cadre.hometown) == (None, None, None)
    assert "ethnicity" not in last_event(session, cadre)[1]["changes"]


def test_update_cadre_records_before_and_after(session: Session, registry: Registry, dummy_cadre: Cadre) -> None:
    changes = records.update_cadre(
        session,
        registry.actor,
        dummy_cadre,
        {"full_name": "Nguyễn Văn Ân", "unit_id": registry.ward.id, "is_party_member": True, "gender": "male"},
    )
    assert changes == {
        "full_name": {"from": "Nguyễn Văn An", "to": "Nguyễn Văn Ân"},
        "unit_id": {"from": registry.commune.id, "to": registry.ward.id},
        "is_party_member": {"from": False, "to": True},
    }
    assert dummy_cadre.full_name == "Nguyễn Văn Ân" and dummy_cadre.unit_id == registry.ward.id
    assert [event_type for event_type, _ in chain(session, dummy_cadre)] == ["cadre_created", "cadre_updated"]
    assert last_event(session, dummy_cadre)[1] == {"changes": changes}
    assert_chains_ok(session)


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"full_name": " Nguyễn Văn An ", "birth_date": "1970-05-20", "code": "cb0100", "retirement_date": "2032-06-01"},
    ],
)
def test_an_update_that_changes_nothing_writes_nothing(
    session: Session, registry: Registry, dummy_cadre: Cadre, changes: dict[str, Any]
) -> None:
    assert records.update_cadre(session, registry.actor, dummy_cadre, changes) == {}
    assert len(chain(session, dummy_cadre)) == 1
    assert_chains_ok(session)


def test_a_new_birth_date_recomputes_the_retirement_date(
    session: Session, registry: Registry, dummy_cadre: Cadre
) -> None:
    changes = records.update_cadre(session, registry.actor, dummy_cadre, {"birth_date": date(1966, 3, 1)})
    assert changes == {
        "birth_date": {"from": "1970-05-20", "to": "1966-03-01"},
        "retirement_date": {"from": "2032-06-01", "to": "2028-01-01"},
    }
    assert dummy_cadre.retirement_date == date(2028, 1, 1)


def test_a_new_gender_recomputes_the_retirement_date(session: Session, registry: Registry, dummy_cadre: Cadre) -> None:
    changes = records.update_cadre(session, registry.actor, dummy_cadre, {"gender": "female"})
    assert changes["retirement_date"] == {"from": "2032-06-01", "to": "2027-10-01"}


def test_a_given_retirement_date_must_follow_from_birth_and_gender(
    session: Session, registry: Registry, create_cadre: Callable[..., Cadre], dummy_cadre: Cadre
) -> None:
    with pytest.raises(Invalid) as raised:
        create_cadre(code="CB0101", retirement_date="2030-01-01")
    assert problems(raised.value) == {("retirement_date", "the retirement date follows from the birth date and gender")}
    assert create_cadre(code="CB0102", retirement_date="2032-06-01").retirement_date == date(2032, 6, 1)
    with pytest.raises(Invalid):
        records.update_cadre(session, registry.actor, dummy_cadre, {"retirement_date": date(2035, 1, 1)})
    assert dummy_cadre.retirement_date == date(2032, 6, 1)


def test_a_configured_schedule_is_used(session: Session, registry: Registry) -> None:
    later = RetirementSchedule(
        start_year=2021, men=AgeRise(720, 780, 0, 780), women=AgeRise(660, 720, 0, 720)
    )  # 65 and 60 flat
    cadre = records.create_cadre(session, registry.actor, cadre_values(registry), schedule=later)
    assert cadre.retirement_date == date(2035, 6, 1)


def test_recompute_fills_in_cadres_stored_without_a_retirement_date(session: Session, registry: Registry) -> None:
    legacy = Cadre(
        code="CB9000", full_name="Cán bộ cũ", unit_id=registry.commune.id, birth_date=date(1964, 9, 3), gender="male"
    )
    unknown = Cadre(code="CB9001", full_name="Không rõ giới tính", unit_id=registry.commune.id)
    session.add_all([legacy, unknown])
    session.flush()

    assert records.recompute_retirement_dates(session, registry.actor) == 1
    assert legacy.retirement_date == date(2026, 1, 1)
    assert chain(session, legacy) == [
        ("cadre_updated", {"changes": {"retirement_date": {"from": None, "to": "2026-01-01"}}})
    ]
    assert records.recompute_retirement_dates(session, registry.actor) == 0
    assert chain(session, unknown) == []
    assert_chains_ok(session)


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"code": ...}, "code", "this field is required"),
        ({"code": "  "}, "code", "this field is required"),
        ({"code": "CB 01"}, "code", "a code is 1 to 40 Latin letters or digits, with '.', '-' or '_' after the first"),
        ({"code": "-CB01"}, "code", "a code is 1 to 40 Latin letters or digits, with '.', '-' or '_' after the first"),
        ({"code": "C" * 41}, "code", "a code is 1 to 40 Latin letters or digits, with '.', '-' or '_' after the first"),
        ({"code": "CBĐ01"}, "code", "a code is 1 to 40 Latin letters or digits, with '.', '-' or '_' after the first"),
        ({"full_name": ...}, "full_name", "this field is required"),
        ({"full_name": 123}, "full_name", "expected text"),
        ({"full_name": "A" * 256}, "full_name", "At most 255 characters."),  # the maximum named (decision 0118)
        ({"ethnicity": "K" * 61}, "ethnicity", "At most 60 characters."),
        ({"unit_id": ...}, "unit_id", "this field is required"),
        ({"unit_id": "1"}, "unit_id", "expected the id of a record"),
        ({"unit_id": True}, "unit_id", "expected the id of a record"),
        ({"birth_date": ...}, "birth_date", "this field is required"),
        ({"birth_date": "20/05/1970"}, "birth_date", "expected a date (YYYY-MM-DD)"),
        ({"birth_date": "1970-02-30"}, "birth_date", "expected a date (YYYY-MM-DD)"),
        ({"birth_date": datetime(1970, 5, 20, 8, 0)}, "birth_date", "expected a date (YYYY-MM-DD)"),
        ({"birth_date": date(2026, 6, 16)}, "birth_date", "the date cannot be in the future"),
        ({"birth_date": date(2008, 6, 16)}, "birth_date", "the cadre must be at least 18 years old"),
        ({"gender": ...}, "gender", "this field is required"),
        ({"gender": "nam"}, "gender", "not one of the allowed values"),
        ({"education_level": "phd"}, "education_level", "not one of the allowed values"),
        ({"political_theory": "cao cấp"}, "political_theory", "not one of the allowed values"),
        ({"is_party_member": "yes"}, "is_party_member", "expected true or false"),
        ({"is_active": None}, "is_active", "expected true or false"),
        ({"party_joined_date": date(1995, 3, 2)}, "party_joined_date", "only a party member has a party joining date"),
        (
            {"is_party_member": True, "party_joined_date": date(2026, 7, 1)},
            "party_joined_date",
            "the date cannot be in the future",
        ),
        (
            {"is_party_member": True, "party_joined_date": date(1988, 5, 19)},
            "party_joined_date",
            "party members join at 18 or older",
        ),
        (
            {"retirement_date": "2032-05-31"},
            "retirement_date",
            "the retirement date follows from the birth date and gender",
        ),
        ({"salary": 10}, "salary", "unknown field"),
        ({"id": 7}, "id", "unknown field"),
    ],
)
def test_create_cadre_rejects(
    session: Session, registry: Registry, overrides: dict[str, Any], field: str, message: str
) -> None:
    with pytest.raises(Invalid) as raised:
        records.create_cadre(session, registry.actor, cadre_values(registry, **overrides))
    assert raised.value.message == "the cadre was not created"
    assert problems(raised.value) == {(field, message)}
    assert session.scalar(select(func.count(Cadre.id))) == 0
    assert session.scalar(select(func.count(AuditEvent.id))) == 0


def test_a_party_member_may_join_on_the_18th_birthday(create_cadre: Callable[..., Cadre]) -> None:
    cadre = create_cadre(is_party_member=True, party_joined_date=date(1988, 5, 20))
    assert cadre.party_joined_date == date(1988, 5, 20)


def test_today_is_the_vietnamese_calendar_day(session: Session, registry: Registry) -> None:
    # 18:00 UTC on the 14th is already the 15th in Vietnam.
    with clock.frozen(datetime(2026, 6, 14, 18, 0, tzinfo=UTC)):
        assert records.local_today() == date(2026, 6, 15)
        cadre = records.create_cadre(session, registry.actor, cadre_values(registry, birth_date=date(2008, 6, 15)))
    assert cadre.birth_date == date(2008, 6, 15)


def test_every_problem_is_reported_at_once(session: Session, registry: Registry) -> None:
    with pytest.raises(Invalid) as raised:
        records.create_cadre(
            session, registry.actor, cadre_values(registry, code=..., gender="x", birth_date="soon", salary=1)
        )
    assert {field for field, _ in problems(raised.value)} == {"code", "gender", "birth_date", "salary"}


def test_a_code_is_unique(session: Session, registry: Registry, create_cadre: Callable[..., Cadre]) -> None:
    create_cadre()
    with pytest.raises(Invalid) as raised:
        create_cadre(code="cb0100", full_name="Người khác")
    assert problems(raised.value) == {("code", "this code is already used by another cadre")}
    other = create_cadre(code="CB0200")
    with pytest.raises(Invalid) as raised:
        records.update_cadre(session, registry.actor, other, {"code": "CB0100"})
    assert problems(raised.value) == {("code", "this code is already used by another cadre")}


@pytest.mark.parametrize("field", ["unit_id", "hometown_unit_id"])
def test_an_unknown_unit_is_not_found(session: Session, registry: Registry, field: str) -> None:
    with pytest.raises(NotFound, match="the org unit does not exist"):
        records.create_cadre(session, registry.actor, cadre_values(registry, **{field: 999_999}))


def test_a_cadre_joins_only_an_active_unit(session: Session, registry: Registry, dummy_cadre: Cadre) -> None:
    registry.ward.is_active = False
    for unit in (registry.dissolved, registry.ward):
        with pytest.raises(Invalid) as raised:
            records.create_cadre(session, registry.actor, cadre_values(registry, code="CB0300", unit_id=unit.id))
        assert problems(raised.value) == {("unit_id", "the unit is not active")}
    with pytest.raises(Invalid):
        records.update_cadre(session, registry.actor, dummy_cadre, {"unit_id": registry.dissolved.id})
    # Where someone comes from may be a unit that no longer exists.
    records.update_cadre(session, registry.actor, dummy_cadre, {"hometown_unit_id": registry.dissolved.id})


def test_a_refused_update_changes_nothing(session: Session, registry: Registry, dummy_cadre: Cadre) -> None:
    with pytest.raises(Invalid) as raised:
        records.update_cadre(
            session, registry.actor, dummy_cadre, {"full_name": "", "ethnicity": "Tày", "birth_date": None}
        )
    assert raised.value.message == "the cadre record was not changed"
    assert problems(raised.value) == {
        ("full_name", "this field is required"),
        ("birth_date", "this field is required"),
    }
    session.expire_all()
    assert (dummy_cadre.full_name, dummy_cadre.ethnicity) == ("Nguyễn Văn An", None)
    assert len(chain(session, dummy_cadre)) == 1


def test_an_edit_outside_the_write_path_is_not_audited_as_a_change(
    session: Session, registry: Registry, dummy_cadre: Cadre
) -> None:
    dummy_cadre.full_name = "Sửa tay"
    changes = records.update_cadre(session, registry.actor, dummy_cadre, {"ethnicity": "Kinh"})
    assert changes == {"ethnicity": {"from": None, "to": "Kinh"}}
    assert dummy_cadre.full_name == "Nguyễn Văn An"


def test_the_system_can_act_without_a_user(session: Session, registry: Registry) -> None:
    cadre = records.create_cadre(session, None, cadre_values(registry))
    event = session.scalars(select(AuditEvent).where(AuditEvent.chain_key == f"cadre:{cadre.id}")).one()
    assert (event.actor_id, event.actor_name) == (None, "system")


# --- Positions held ---


def test_add_and_end_a_position(session: Session, registry: Registry, dummy_cadre: Cadre) -> None:
    held = records.add_position(
        session, registry.actor, dummy_cadre, position_id=registry.chairman.id, started_on="2026-03-01"
    )
    assert held.term_ends_on == date(2031, 2, 28)  # five years, the last day included
    assert last_event(session, dummy_cadre) == (
        "cadre_position_added",
        {
            "record_id": held.id,
            "changes": {
                "position_id": {"from": None, "to": registry.chairman.id},
                "started_on": {"from": None, "to": "2026-03-01"},
                "term_ends_on": {"from": None, "to": "2031-02-28"},
            },
        },
    )
    ended = records.end_position(session, registry.actor, dummy_cadre, held.id, ended_on=date(2026, 6, 1))
    assert ended.ended_on == date(2026, 6, 1)
    assert last_event(session, dummy_cadre) == (
        "cadre_position_ended",
        {"record_id": held.id, "changes": {"ended_on": {"from": None, "to": "2026-06-01"}}},
    )
    assert_chains_ok(session)


def test_a_position_can_start_later_and_name_its_source(
    session: Session, registry: Registry, dummy_cadre: Cadre
) -> None:
    instance = stub_instance(session)
    held = records.add_position(
        session,
        registry.actor,
        dummy_cadre,
        position_id=registry.director.id,
        started_on=date(2026, 7, 1),
        term_ends_on=date(2030, 12, 31),
        source_instance_id=instance.id,
    )
    assert (held.term_ends_on, held.source_instance_id) == (date(2030, 12, 31), instance.id)
    assert last_event(session, dummy_cadre)[1]["changes"]["source_instance_id"] == {"from": None, "to": instance.id}


def test_ending_defaults_to_today(session: Session, registry: Registry, dummy_cadre: Cadre) -> None:
    held = records.add_position(
        session, registry.actor, dummy_cadre, position_id=registry.officer.id, started_on=date(2020, 1, 1)
    )
    assert records.end_position(session, registry.actor, dummy_cadre, held.id).ended_on == TODAY


@pytest.mark.parametrize(
    ("arguments", "field", "message"),
    [
        ({"started_on": None}, "started_on", "this field is required"),
        ({"started_on": "1/3/2026"}, "started_on", "expected a date (YYYY-MM-DD)"),
        ({"position_id": None}, "position_id", "this field is required"),
        ({"term_ends_on": date(2026, 2, 28)}, "term_ends_on", "the term cannot end before it starts"),
        ({"source_instance_id": "7"}, "source_instance_id", "expected the id of a record"),
    ],
)
def test_add_position_rejects(
    session: Session, registry: Registry, dummy_cadre: Cadre, arguments: dict[str, Any], field: str, message: str
) -> None:
    call = {"position_id": registry.chairman.id, "started_on": date(2026, 3, 1)} | arguments
    with pytest.raises(Invalid) as raised:
        records.add_position(session, registry.actor, dummy_cadre, **call)
    assert raised.value.message == "the cadre record was not changed"
    assert problems(raised.value) == {(field, message)}
    assert session.scalar(select(func.count(CadrePosition.id))) == 0
    assert len(chain(session, dummy_cadre)) == 1


def test_a_position_is_held_once(session: Session, registry: Registry, dummy_cadre: Cadre) -> None:
    records.add_position(session, registry.actor, dummy_cadre, position_id=registry.chairman.id, started_on=TODAY)
    with pytest.raises(Invalid) as raised:
        records.add_position(session, registry.actor, dummy_cadre, position_id=registry.chairman.id, started_on=TODAY)
    assert problems(raised.value) == {("position_id", "the cadre already holds this position")}


def test_an_inactive_cadre_takes_no_position(session: Session, registry: Registry, dummy_cadre: Cadre) -> None:
    records.update_cadre(session, registry.actor, dummy_cadre, {"is_active": False})
    with pytest.raises(Invalid) as raised:
        records.add_position(session, registry.actor, dummy_cadre, position_id=registry.chairman.id, started_on=TODAY)
    assert problems(raised.value) == {(None, "the cadre is not active")}


def test_unknown_position_and_instance_are_not_found(session: Session, registry: Registry, dummy_cadre: Cadre) -> None:
    with pytest.raises(NotFound, match="the position does not exist"):
        records.add_position(session, registry.actor, dummy_cadre, position_id=999_999, started_on=TODAY)
    with pytest.raises(NotFound, match="the process instance does not exist"):
        records.add_position(
            session,
            registry.actor,
            dummy_cadre,
            position_id=registry.chairman.id,
            started_on=TODAY,
            source_instance_id=999_999,
        )


def test_end_position_checks(
    session: Session, registry: Registry, dummy_cadre: Cadre, create_cadre: Callable[..., Cadre]
) -> None:
    held = records.add_position(
        session, registry.actor, dummy_cadre, position_id=registry.chairman.id, started_on=date(2026, 3, 1)
    )
    with pytest.raises(Invalid) as raised:
        records.end_position(session, registry.actor, dummy_cadre, held.id, ended_on=date(2026, 2, 28))
    assert problems(raised.value) == {("ended_on", "the end date cannot be before the start date")}
    with pytest.raises(Invalid) as raised:
        records.end_position(session, registry.actor, dummy_cadre, held.id, ended_on=date(2026, 6, 16))
    assert problems(raised.value) == {("ended_on", "the date cannot be in the future")}
    other = create_cadre(code="CB0200")
    with pytest.raises(NotFound, match="the position held does not exist"):
        records.end_position(session, registry.actor, other, held.id)
    records.end_position(session, registry.actor, dummy_cadre, held.id)
    with pytest.raises(Conflict, match="this position has already ended"):
        records.end_position(session, registry.actor, dummy_cadre, held.id)
    assert [event_type for event_type, _ in chain(session, dummy_cadre)][-2:] == [
        "cadre_position_added",
        "cadre_position_ended",
    ]


# --- Discipline ---


def test_add_discipline(session: Session, registry: Registry, dummy_cadre: Cadre) -> None:
    record = records.add_discipline(
        session,
        registry.actor,
        dummy_cadre,
        level="khien_trach",
        decided_on="2025-09-10",
        expires_on="2026-09-10",
        note="  Vi phạm quy chế làm việc  ",
    )
    assert record.note == "Vi phạm quy chế làm việc"
    assert last_event(session, dummy_cadre) == (
        "discipline_added",
        {
            "record_id": record.id,
            "changes": {
                "level": {"from": None, "to": "khien_trach"},
                "decided_on": {"from": None, "to": "2025-09-10"},
                "expires_on": {"from": None, "to": "2026-09-10"},
                "note": {"from": None, "to": "Vi phạm quy chế làm việc"},
            },
        },
    )
    assert_chains_ok(session)


@pytest.mark.parametrize(
    ("arguments", "field", "message"),
    [
        ({"level": "phat_tien"}, "level", "not one of the allowed values"),
        ({"level": None}, "level", "this field is required"),
        ({"decided_on": None}, "decided_on", "this field is required"),
        ({"decided_on": date(2026, 6, 16)}, "decided_on", "the date cannot be in the future"),
        ({"expires_on": date(2025, 9, 9)}, "expires_on", "the discipline cannot expire before it was decided"),
        ({"note": "x" * 2001}, "note", "At most 2000 characters."),
    ],
)
def test_add_discipline_rejects(
    session: Session, registry: Registry, dummy_cadre: Cadre, arguments: dict[str, Any], field: str, message: str
) -> None:
    call = {"level": "canh_cao", "decided_on": date(2025, 9, 10)} | arguments
    with pytest.raises(Invalid) as raised:
        records.add_discipline(session, registry.actor, dummy_cadre, **call)
    assert problems(raised.value) == {(field, message)}
    assert len(chain(session, dummy_cadre)) == 1


# --- Planning ---


def test_add_and_remove_a_planning_entry(session: Session, registry: Registry, dummy_cadre: Cadre) -> None:
    instance = stub_instance(session)
    entry = records.add_planning_entry(
        session,
        registry.actor,
        dummy_cadre,
        position_id=registry.chairman.id,
        term="2026-2031",
        source_instance_id=instance.id,
    )
    assert (entry.status, entry.added_on, entry.source_instance_id) == ("active", TODAY, instance.id)
    assert last_event(session, dummy_cadre) == (
        "planning_entry_added",
        {
            "record_id": entry.id,
            "changes": {
                "position_id": {"from": None, "to": registry.chairman.id},
                "term": {"from": None, "to": "2026-2031"},
                "status": {"from": None, "to": "active"},
                "added_on": {"from": None, "to": "2026-06-15"},
                "source_instance_id": {"from": None, "to": instance.id},
            },
        },
    )
    removed = records.remove_planning_entry(
        session, registry.actor, dummy_cadre, entry.id, reason=" Không hoàn thành nhiệm vụ năm 2026 "
    )
    assert (removed.status, removed.removed_on, removed.reason) == (
        "removed",
        TODAY,
        "Không hoàn thành nhiệm vụ năm 2026",
    )
    assert last_event(session, dummy_cadre) == (
        "planning_entry_removed",
        {
            "record_id": entry.id,
            "changes": {
                "status": {"from": "active", "to": "removed"},
                "removed_on": {"from": None, "to": "2026-06-15"},
                "reason": {"from": None, "to": "Không hoàn thành nhiệm vụ năm 2026"},
            },
        },
    )
    assert session.get(PlanningEntry, entry.id) is not None
    assert_chains_ok(session)


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_removing_a_planning_entry_needs_a_reason(
    session: Session, registry: Registry, dummy_cadre: Cadre, reason: str | None
) -> None:
    entry = records.add_planning_entry(
        session, registry.actor, dummy_cadre, position_id=registry.chairman.id, term="2026-2031"
    )
    with pytest.raises(Invalid) as raised:
        records.remove_planning_entry(session, registry.actor, dummy_cadre, entry.id, reason=reason)
    assert problems(raised.value) == {("reason", "a reason is required")}
    assert entry.status == "active"
    assert len(chain(session, dummy_cadre)) == 2


def test_remove_planning_entry_checks(
    session: Session, registry: Registry, dummy_cadre: Cadre, create_cadre: Callable[..., Cadre]
) -> None:
    entry = records.add_planning_entry(
        session,
        registry.actor,
        dummy_cadre,
        position_id=registry.chairman.id,
        term="2026-2031",
        added_on=date(2026, 1, 10),
    )
    with pytest.raises(Invalid) as raised:
        records.remove_planning_entry(
            session, registry.actor, dummy_cadre, entry.id, reason="Kỷ luật", removed_on=date(2026, 1, 9)
        )
    assert problems(raised.value) == {("removed_on", "the entry cannot be removed before it was added")}
    with pytest.raises(Invalid) as raised:
        records.remove_planning_entry(
            session, registry.actor, dummy_cadre, entry.id, reason="Kỷ luật", removed_on="2026-07-01"
        )
    assert problems(raised.value) == {("removed_on", "the date cannot be in the future")}
    other = create_cadre(code="CB0200")
    with pytest.raises(NotFound, match="the planning entry does not exist"):
        records.remove_planning_entry(session, registry.actor, other, entry.id, reason="Kỷ luật")
    records.remove_planning_entry(session, registry.actor, dummy_cadre, entry.id, reason="Kỷ luật")
    with pytest.raises(Conflict, match="this planning entry has already been removed"):
        records.remove_planning_entry(session, registry.actor, dummy_cadre, entry.id, reason="Kỷ luật")


@pytest.mark.parametrize(
    ("arguments", "field", "message"),
    [
        ({"term": "2026"}, "term", "a term is written like 2026-2031"),
        ({"term": "2031-2026"}, "term", "a term is written like 2026-2031"),
        ({"term": "2026-31"}, "term", "a term is written like 2026-2031"),
        ({"term": None}, "term", "this field is required"),
        ({"added_on": date(2026, 6, 16)}, "added_on", "the date cannot be in the future"),
        ({"position_id": None}, "position_id", "this field is required"),
    ],
)
def test_add_planning_entry_rejects(
    session: Session, registry: Registry, dummy_cadre: Cadre, arguments: dict[str, Any], field: str, message: str
) -> None:
    call = {"position_id": registry.chairman.id, "term": "2026-2031"} | arguments
    with pytest.raises(Invalid) as raised:
        records.add_planning_entry(session, registry.actor, dummy_cadre, **call)
    assert problems(raised.value) == {(field, message)}
    assert len(chain(session, dummy_cadre)) == 1


def test_a_cadre_is_planned_once_per_title_and_term(session: Session, registry: Registry, dummy_cadre: Cadre) -> None:
    plan = {"position_id": registry.chairman.id, "term": "2026-2031"}
    records.add_planning_entry(session, registry.actor, dummy_cadre, **plan)
    with pytest.raises(Invalid) as raised:
        records.add_planning_entry(session, registry.actor, dummy_cadre, **plan)
    assert problems(raised.value) == {("position_id", "the cadre is already planned for this title in this term")}
    records.add_planning_entry(session, registry.actor, dummy_cadre, position_id=registry.chairman.id, term="2031-2036")


def test_a_title_has_at_most_three_planned_cadres_per_term(
    session: Session, registry: Registry, create_cadre: Callable[..., Cadre]
) -> None:
    plan = {"position_id": registry.secretary.id, "term": "2026-2031"}
    first, *others = [create_cadre(code=f"CB02{i}") for i in range(3)]
    entry = records.add_planning_entry(session, registry.actor, first, **plan)
    for cadre in others:
        records.add_planning_entry(session, registry.actor, cadre, **plan)
    fourth = create_cadre(code="CB0299")
    with pytest.raises(Invalid) as raised:
        records.add_planning_entry(session, registry.actor, fourth, **plan)
    assert problems(raised.value) == {
        ("position_id", "this title already has the most planned cadres allowed for the term")
    }
    records.add_planning_entry(session, registry.actor, fourth, position_id=registry.secretary.id, term="2031-2036")
    records.remove_planning_entry(session, registry.actor, first, entry.id, reason="Chuyển công tác")
    records.add_planning_entry(session, registry.actor, fourth, **plan)


def test_a_cadre_is_planned_for_at_most_three_titles_of_one_level(
    session: Session, registry: Registry, dummy_cadre: Cadre
) -> None:
    for position in (registry.secretary, registry.chairman, registry.vice_chairman):
        records.add_planning_entry(session, registry.actor, dummy_cadre, position_id=position.id, term="2026-2031")
    with pytest.raises(Invalid) as raised:
        records.add_planning_entry(
            session, registry.actor, dummy_cadre, position_id=registry.officer.id, term="2026-2031"
        )
    assert problems(raised.value) == {
        ("position_id", "the cadre is already planned for the most titles allowed at this level")
    }
    records.add_planning_entry(session, registry.actor, dummy_cadre, position_id=registry.director.id, term="2026-2031")


def test_a_title_the_cadre_holds_takes_none_of_the_three(
    session: Session, registry: Registry, dummy_cadre: Cadre
) -> None:
    """Decision 0113: planned for three commune titles, then appointed to one of them (the entry left active, as
    before appointments ended it): the held title is no plan, so a fourth title fits; once the post ends, it counts."""
    for position in (registry.secretary, registry.chairman, registry.vice_chairman):
        records.add_planning_entry(session, registry.actor, dummy_cadre, position_id=position.id, term="2026-2031")
    held = records.add_position(
        session, registry.actor, dummy_cadre, position_id=registry.vice_chairman.id, started_on=date(2026, 1, 1)
    )
    records.add_planning_entry(session, registry.actor, dummy_cadre, position_id=registry.officer.id, term="2026-2031")
    records.end_position(session, registry.actor, dummy_cadre, held.id, ended_on=date(2026, 2, 1))
    council_chair = Position(title="Chủ tịch HĐND", unit_id=registry.commune.id, level="commune", is_leadership=True)
    session.add(council_chair)
    session.flush()
    with pytest.raises(Invalid) as raised:
        records.add_planning_entry(session, registry.actor, dummy_cadre, position_id=council_chair.id, term="2026-2031")
    assert problems(raised.value) == {
        ("position_id", "the cadre is already planned for the most titles allowed at this level")
    }


def test_a_cadre_is_not_planned_for_the_title_they_hold(
    session: Session, registry: Registry, dummy_cadre: Cadre
) -> None:
    records.add_position(
        session, registry.actor, dummy_cadre, position_id=registry.vice_chairman.id, started_on=date(2021, 7, 1)
    )
    with pytest.raises(Invalid) as raised:
        records.add_planning_entry(
            session, registry.actor, dummy_cadre, position_id=registry.vice_chairman.id, term="2026-2031"
        )
    assert problems(raised.value) == {("position_id", "a cadre is planned only for a title they do not hold")}


# --- Evaluations ---


def test_record_evaluation_then_regrade_keeps_the_history_in_the_chain(
    session: Session, registry: Registry, dummy_cadre: Cadre
) -> None:
    first = records.record_evaluation(
        session, registry.actor, dummy_cadre, period_kind="month", period="2026-05", grade="HTTNV", score=82.456
    )
    assert (first.score, first.unit_id) == (82.46, registry.commune.id)
    instance = stub_instance(session)
    second = records.record_evaluation(
        session,
        registry.actor,
        dummy_cadre,
        period_kind="month",
        period="2026-05",
        grade="HTXSNV",
        score=91,
        source_instance_id=instance.id,
    )
    assert second.id == first.id and (second.grade, second.score) == ("HTXSNV", 91.0)
    assert session.scalar(select(func.count(EvaluationResult.id))) == 1
    history = [payload for event_type, payload in chain(session, dummy_cadre) if event_type == "evaluation_recorded"]
    assert history == [
        {
            "record_id": first.id,
            "period_kind": "month",
            "period": "2026-05",
            "changes": {
                "score": {"from": None, "to": 82.46},
                "grade": {"from": None, "to": "HTTNV"},
                "unit_id": {"from": None, "to": registry.commune.id},
            },
        },
        {
            "record_id": first.id,
            "period_kind": "month",
            "period": "2026-05",
            "changes": {
                "score": {"from": 82.46, "to": 91.0},
                "grade": {"from": "HTTNV", "to": "HTXSNV"},
                "source_instance_id": {"from": None, "to": instance.id},
            },
        },
    ]
    session.expire_all()
    assert session.get(EvaluationResult, first.id).score == 91.0
    assert_chains_ok(session)


def test_recording_the_same_evaluation_again_writes_nothing(
    session: Session, registry: Registry, dummy_cadre: Cadre
) -> None:
    grade = {"period_kind": "quarter", "period": "2026-Q2", "grade": "HTNV", "score": 65.5}
    records.record_evaluation(session, registry.actor, dummy_cadre, **grade)
    records.record_evaluation(session, registry.actor, dummy_cadre, **grade)
    assert len(chain(session, dummy_cadre)) == 2


def test_periods_of_each_kind_are_kept_apart(session: Session, registry: Registry, dummy_cadre: Cadre) -> None:
    for kind, period in [("month", "2026-01"), ("quarter", "2026-Q1"), ("year", "2025"), ("year", "2026")]:
        records.record_evaluation(
            session,
            registry.actor,
            dummy_cadre,
            period_kind=kind,
            period=period,
            grade="HTTNV",
            unit_id=registry.ward.id,
        )
    assert session.scalar(select(func.count(EvaluationResult.id))) == 4


@pytest.mark.parametrize(
    ("arguments", "field", "message"),
    [
        ({"period_kind": "week"}, "period_kind", "not one of the allowed values"),
        ({"period": "2026-13"}, "period", "the period does not match its kind (2026-11, 2026-Q4 or 2026)"),
        ({"period": "2026-Q2"}, "period", "the period does not match its kind (2026-11, 2026-Q4 or 2026)"),
        (
            {"period_kind": "quarter", "period": "2026-Q5"},
            "period",
            "the period does not match its kind (2026-11, 2026-Q4 or 2026)",
        ),
        (
            {"period_kind": "year", "period": "26"},
            "period",
            "the period does not match its kind (2026-11, 2026-Q4 or 2026)",
        ),
        ({"period": "2026-07"}, "period", "the period has not started yet"),
        ({"period_kind": "quarter", "period": "2026-Q3"}, "period", "the period has not started yet"),
        ({"period_kind": "year", "period": "2027"}, "period", "the period has not started yet"),
        ({"grade": "XS"}, "grade", "not one of the allowed values"),
        ({"grade": None}, "grade", "this field is required"),
        ({"score": 100.5}, "score", "a score is a number from 0 to 100"),
        ({"score": -1}, "score", "a score is a number from 0 to 100"),
        ({"score": float("nan")}, "score", "a score is a number from 0 to 100"),
        ({"score": True}, "score", "a score is a number from 0 to 100"),
        ({"score": "90"}, "score", "a score is a number from 0 to 100"),
    ],
)
def test_record_evaluation_rejects(
    session: Session, registry: Registry, dummy_cadre: Cadre, arguments: dict[str, Any], field: str, message: str
) -> None:
    call = {"period_kind": "month", "period": "2026-06", "grade": "HTTNV"} | arguments
    with pytest.raises(Invalid) as raised:
        records.record_evaluation(session, registry.actor, dummy_cadre, **call)
    assert problems(raised.value) == {(field, message)}
    assert session.scalar(select(func.count(EvaluationResult.id))) == 0
    assert len(chain(session, dummy_cadre)) == 1


def test_evaluation_in_an_unknown_unit_is_not_found(session: Session, registry: Registry, dummy_cadre: Cadre) -> None:
    with pytest.raises(NotFound, match="the org unit does not exist"):
        records.record_evaluation(
            session, registry.actor, dummy_cadre, period_kind="year", period="2025", grade="HTNV", unit_id=999_999
        )


# --- Rotations ---


def test_add_and_end_a_rotation(session: Session, registry: Registry, dummy_cadre: Cadre) -> None:
    rotation = records.add_rotation(
        session,
        registry.actor,
        dummy_cadre,
        to_unit_id=registry.ward.id,
        position_id=registry.vice_chairman.id,
        started_on="2024-07-01",
        planned_end_on="2026-06-30",
    )
    assert rotation.from_unit_id == registry.commune.id
    assert dummy_cadre.unit_id == registry.commune.id  # the procedure moves the cadre with update_cadre
    assert last_event(session, dummy_cadre) == (
        "rotation_added",
        {
            "record_id": rotation.id,
            "changes": {
                "from_unit_id": {"from": None, "to": registry.commune.id},
                "to_unit_id": {"from": None, "to": registry.ward.id},
                "position_id": {"from": None, "to": registry.vice_chairman.id},
                "started_on": {"from": None, "to": "2024-07-01"},
                "planned_end_on": {"from": None, "to": "2026-06-30"},
            },
        },
    )
    with pytest.raises(Invalid) as raised:
        records.end_rotation(session, registry.actor, dummy_cadre, rotation.id, ended_on=date(2024, 6, 30))
    assert problems(raised.value) == {("ended_on", "the end date cannot be before the start date")}
    with pytest.raises(Invalid) as raised:
        records.end_rotation(session, registry.actor, dummy_cadre, rotation.id, ended_on=date(2026, 6, 16))
    assert problems(raised.value) == {("ended_on", "the date cannot be in the future")}
    records.end_rotation(session, registry.actor, dummy_cadre, rotation.id, ended_on="2026-06-01")
    assert last_event(session, dummy_cadre) == (
        "rotation_ended",
        {"record_id": rotation.id, "changes": {"ended_on": {"from": None, "to": "2026-06-01"}}},
    )
    with pytest.raises(Conflict, match="this rotation has already ended"):
        records.end_rotation(session, registry.actor, dummy_cadre, rotation.id)
    assert_chains_ok(session)


@pytest.mark.parametrize(
    ("arguments", "field", "message"),
    [
        ({"to_unit_id": None}, "to_unit_id", "this field is required"),
        ({"started_on": None}, "started_on", "this field is required"),
        ({"planned_end_on": date(2026, 6, 30)}, "planned_end_on", "the planned end cannot be before the start"),
        ({"to_unit_id": "commune"}, "to_unit_id", "expected the id of a record"),
    ],
)
def test_add_rotation_rejects(
    session: Session, registry: Registry, dummy_cadre: Cadre, arguments: dict[str, Any], field: str, message: str
) -> None:
    call = {"to_unit_id": registry.ward.id, "started_on": date(2026, 7, 1)} | arguments
    with pytest.raises(Invalid) as raised:
        records.add_rotation(session, registry.actor, dummy_cadre, **call)
    assert problems(raised.value) == {(field, message)}
    assert len(chain(session, dummy_cadre)) == 1


def test_rotation_destination_checks(
    session: Session, registry: Registry, dummy_cadre: Cadre, create_cadre: Callable[..., Cadre]
) -> None:
    with pytest.raises(Invalid) as raised:
        records.add_rotation(session, registry.actor, dummy_cadre, to_unit_id=registry.commune.id, started_on=TODAY)
    assert problems(raised.value) == {("to_unit_id", "a rotation goes to another unit")}
    with pytest.raises(Invalid) as raised:
        records.add_rotation(session, registry.actor, dummy_cadre, to_unit_id=registry.dissolved.id, started_on=TODAY)
    assert problems(raised.value) == {("to_unit_id", "the unit is not active")}
    with pytest.raises(NotFound, match="the org unit does not exist"):
        records.add_rotation(session, registry.actor, dummy_cadre, to_unit_id=999_999, started_on=TODAY)
    with pytest.raises(NotFound, match="the org unit does not exist"):
        records.add_rotation(
            session, registry.actor, dummy_cadre, to_unit_id=registry.ward.id, from_unit_id=999_999, started_on=TODAY
        )

    rotation = records.add_rotation(session, registry.actor, dummy_cadre, to_unit_id=registry.ward.id, started_on=TODAY)
    with pytest.raises(Invalid) as raised:
        records.add_rotation(session, registry.actor, dummy_cadre, to_unit_id=registry.province.id, started_on=TODAY)
    assert problems(raised.value) == {(None, "the cadre is already on a rotation that has not ended")}
    other = create_cadre(code="CB0200")
    with pytest.raises(NotFound, match="the rotation does not exist"):
        records.end_rotation(session, registry.actor, other, rotation.id)


# --- The chain as a whole ---


def test_a_cadre_history_is_one_verifiable_chain(
    session: Session, registry: Registry, create_cadre: Callable[..., Cadre]
) -> None:
    cadre = create_cadre()
    other = create_cadre(code="CB0200")
    actor = registry.actor
    records.update_cadre(session, actor, cadre, {"is_party_member": True, "party_joined_date": date(1996, 1, 1)})
    held = records.add_position(session, actor, cadre, position_id=registry.vice_chairman.id, started_on="2021-07-01")
    records.add_discipline(session, actor, other, level="canh_cao", decided_on=date(2024, 1, 5))
    entry = records.add_planning_entry(session, actor, cadre, position_id=registry.chairman.id, term="2026-2031")
    records.record_evaluation(session, actor, cadre, period_kind="year", period="2025", grade="HTXSNV", score=95)
    records.record_evaluation(session, actor, cadre, period_kind="year", period="2025", grade="HTTNV", score=88)
    rotation = records.add_rotation(session, actor, cadre, to_unit_id=registry.ward.id, started_on="2026-01-01")
    records.end_rotation(session, actor, cadre, rotation.id, ended_on=TODAY)
    records.remove_planning_entry(session, actor, cadre, entry.id, reason="Luân chuyển")
    records.end_position(session, actor, cadre, held.id, ended_on=date(2026, 1, 1))
    session.commit()

    assert [event_type for event_type, _ in chain(session, cadre)] == [
        "cadre_created",
        "cadre_updated",
        "cadre_position_added",
        "planning_entry_added",
        "evaluation_recorded",
        "evaluation_recorded",
        "rotation_added",
        "rotation_ended",
        "planning_entry_removed",
        "cadre_position_ended",
    ]
    assert [event_type for event_type, _ in chain(session, other)] == ["cadre_created", "discipline_added"]
    report = verify_chains(session)
    assert report.ok and report.chains == 2 and report.events == 12
    assert verify_chains(session, f"cadre:{cadre.id}").ok
