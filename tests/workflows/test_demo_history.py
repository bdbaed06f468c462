"""The demo's cadres have their own audit history: the events records.py would have written for the same records,
chained per cadre, written in bulk, and verifiable like any other chain (decision 0010)."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from datetime import date

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.fixtures.tampering import bypass_append_only
from workflows.audit import verify_chains
from workflows.models import AuditChain, AuditEvent
from workflows.registry import records
from workflows.registry.demo import load_demo_province
from workflows.registry.models import (
    Cadre,
    CadrePosition,
    DisciplineRecord,
    EvaluationResult,
    PlanningEntry,
    RotationRecord,
)

TODAY = date(2026, 11, 22)
# Every seat of the roster and some staff, up to SH000551, the first with a rotation that has ended.
SMALL = 560

# The record each event is about, and the fields records.py snapshots for it.
RECORDS = {
    "cadre_position_added": (CadrePosition, records._CADRE_POSITION_FIELDS),
    "discipline_added": (DisciplineRecord, records._DISCIPLINE_FIELDS),
    "rotation_added": (RotationRecord, records._ROTATION_FIELDS),
    "evaluation_recorded": (EvaluationResult, ("score", "grade", "unit_id", "source_instance_id")),
    "planning_entry_added": (PlanningEntry, records._PLANNING_FIELDS),
}


def _load(session_factory: sessionmaker[Session], cadres: int = SMALL, today: date = TODAY) -> None:
    with session_factory() as s:
        load_demo_province(s, cadres=cadres, today=today)
        s.commit()


def _chains(s: Session) -> dict[str, list[AuditEvent]]:
    chains: dict[str, list[AuditEvent]] = defaultdict(list)
    for event in s.scalars(select(AuditEvent).where(AuditEvent.chain_key.like("cadre:%")).order_by(AuditEvent.seq)):
        chains[event.chain_key].append(event)
    return chains


def _rows(s: Session, model: type, cadre_id: int) -> int:
    return s.scalar(select(func.count()).select_from(model).where(model.cadre_id == cadre_id)) or 0


def test_every_demo_cadre_has_the_history_records_py_would_write(session_factory: sessionmaker[Session]) -> None:
    _load(session_factory)
    with session_factory() as s:
        assert verify_chains(s).ok
        chains = _chains(s)
        cadres = s.scalars(select(Cadre).where(Cadre.code.like("SH%") | Cadre.code.like("CB000%"))).all()
        assert len(cadres) == SMALL + 7
        kinds: Counter[str] = Counter()
        for cadre in cadres:
            events = chains[records.cadre_chain(cadre.id)]
            assert [e.seq for e in events] == list(range(1, len(events) + 1))
            created = events[0]
            assert created.event_type == "cadre_created" and created.actor_name == "system" and created.actor_id is None
            fields = tuple(records._CADRE_FIELDS)
            assert json.loads(created.payload) == {"changes": records._snapshot(cadre, fields)}
            types = Counter(e.event_type for e in events)
            kinds.update(types)
            assert types["cadre_position_added"] == _rows(s, CadrePosition, cadre.id) >= 1
            assert types["discipline_added"] == _rows(s, DisciplineRecord, cadre.id)
            assert types["rotation_added"] == _rows(s, RotationRecord, cadre.id)
            ended = select(func.count(RotationRecord.id)).where(
                RotationRecord.cadre_id == cadre.id, RotationRecord.ended_on.is_not(None)
            )
            assert types["rotation_ended"] == s.scalar(ended)
            # Three months and last year's annual grade.
            assert types["evaluation_recorded"] == _rows(s, EvaluationResult, cadre.id) == 4
            assert types["planning_entry_added"] == _rows(s, PlanningEntry, cadre.id)
            for event in events[1:]:
                payload = json.loads(event.payload)
                if event.event_type == "rotation_ended":
                    row = s.get(RotationRecord, payload["record_id"])
                    assert row is not None and row.cadre_id == cadre.id and row.ended_on is not None
                    assert payload == {
                        "record_id": row.id,
                        "changes": {"ended_on": {"from": None, "to": row.ended_on.isoformat()}},
                    }
                    continue
                model, fields = RECORDS[event.event_type]
                row = s.get(model, payload.pop("record_id"))
                assert row is not None and row.cadre_id == cadre.id, event
                if model is EvaluationResult:
                    assert (payload.pop("period_kind"), payload.pop("period")) == (row.period_kind, row.period)
                assert payload == {"changes": records._snapshot(row, fields)}, event
            head = s.get(AuditChain, records.cadre_chain(cadre.id))
            assert head is not None and (head.last_seq, head.last_hash) == (events[-1].seq, events[-1].hash)
        # The load has something of every kind, so each kind was checked above.
        assert all(kinds[kind] for kind in (*RECORDS, "rotation_ended")), kinds
        # The small organisation's cadres were made without a history; the demo starts theirs from the record.
        officer = s.scalars(select(Cadre).where(Cadre.code == "CB0001")).one()
        assert [e.event_type for e in chains[records.cadre_chain(officer.id)]][:2] == [
            "cadre_created",
            "cadre_position_added",
        ]


def test_a_cadre_made_through_records_py_reads_the_same(session_factory: sessionmaker[Session]) -> None:
    """Replaying a demo cadre through the real write path gives the same events, but for ids and the code."""
    _load(session_factory, cadres=5)
    with session_factory() as s:
        demo = s.scalars(select(Cadre).where(Cadre.code == "SH000001")).one()  # a commune chair: two posts
        values = {name: getattr(demo, name) for name in records._CADRE_FIELDS} | {"code": "TWIN1"}
        twin = records.create_cadre(s, None, values)
        for held in s.scalars(
            select(CadrePosition).where(CadrePosition.cadre_id == demo.id).order_by(CadrePosition.id)
        ).all():
            records.add_position(
                s, None, twin, position_id=held.position_id, started_on=held.started_on, term_ends_on=held.term_ends_on
            )
        for result in s.scalars(
            select(EvaluationResult).where(EvaluationResult.cadre_id == demo.id).order_by(EvaluationResult.id)
        ).all():
            records.record_evaluation(
                s, None, twin, period_kind=result.period_kind, period=result.period, grade=result.grade,
                score=result.score, unit_id=result.unit_id,
            )  # fmt: skip
        s.flush()
        chains = _chains(s)

        def readable(chain: str) -> list[tuple[str, dict]]:
            events = []
            for event in chains[chain]:
                payload = json.loads(event.payload)
                payload.pop("record_id", None)
                payload["changes"].pop("code", None)
                events.append((event.event_type, payload))
            return events

        # Its planning entries are not replayed: the twin would take a fourth place on a list that allows three.
        demo_events = [e for e in readable(records.cadre_chain(demo.id)) if e[0] != "planning_entry_added"]
        assert [kind for kind, _ in demo_events] == [
            "cadre_created",
            *["cadre_position_added"] * 2,
            *["evaluation_recorded"] * 4,  # three months, then last year
        ]
        assert readable(records.cadre_chain(twin.id)) == demo_events
        s.rollback()


def test_a_later_load_continues_the_chains(session_factory: sessionmaker[Session]) -> None:
    _load(session_factory, cadres=20)
    with session_factory() as s:
        before = {key: len(events) for key, events in _chains(s).items()}
        # A cadre loaded before the demo wrote histories has none; the next load starts it from the record.
        bare = s.scalars(select(Cadre).where(Cadre.code == "SH000020")).one()
        bypass_append_only(s)
        s.execute(delete(AuditEvent).where(AuditEvent.chain_key == records.cadre_chain(bare.id)))
        s.execute(delete(AuditChain).where(AuditChain.chain_key == records.cadre_chain(bare.id)))
        s.commit()
    _load(session_factory, cadres=22, today=date(2026, 12, 22))  # two more cadres, and November's evaluations
    with session_factory() as s:
        assert verify_chains(s).ok
        chains = _chains(s)
        assert len(chains) == len(before) + 2
        for key, count in before.items():
            if key != records.cadre_chain(bare.id):
                assert len(chains[key]) == count + 1 and chains[key][-1].event_type == "evaluation_recorded", key
                assert json.loads(chains[key][-1].payload)["period"] == "2026-11"
        assert [e.event_type for e in chains[records.cadre_chain(bare.id)]] == ["cadre_created", "evaluation_recorded"]
