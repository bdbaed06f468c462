"""`workflows.navigation.menu_facts`: the menu's numbers in one statement, the same as the pages they link to."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.fixtures.ballots import collective, open_test_box
from tests.fixtures.ballots import user as user_named
from tests.fixtures.statements import statements_sent
from tests.fixtures.workflow_helpers import WorkflowDriver
from workflows import ballots
from workflows.ballots import ballots_to_cast
from workflows.clock import utcnow_naive
from workflows.db import transaction
from workflows.inbox import InboxFilters, inbox_page
from workflows.instances import can_start_any
from workflows.models import BallotElector, Notification
from workflows.navigation import menu_facts
from workflows.registry.models import User


@pytest.fixture
def work(driver: WorkflowDriver) -> None:
    """officer1's own open request step; two submitted requests waiting for a supervisor of their commune."""
    driver.start("sample_approval", as_user="officer1", subject="CB0001")
    for _ in range(2):
        instance_id = driver.start("sample_approval", as_user="officer1", subject="CB0001")
        driver.complete("officer1", driver.task(instance_id, "submit_request").id, {"subject_line": "Đề nghị"})


def test_the_menu_reads_what_each_count_reads_on_its_own(session: Session, work: None) -> None:
    users = list(session.scalars(select(User).order_by(User.username)))
    head = next(user for user in users if user.username == "head1")
    session.add_all(Notification(user_id=head.id, kind="new_task", title=f"Việc mới {n}") for n in range(2))
    session.add(Notification(user_id=head.id, kind="new_task", title="Đã đọc", read_dt=utcnow_naive()))
    session.flush()
    seen = set()
    for user in users:
        facts = menu_facts(session, user)
        # the totals of the inbox's two tabs, and the notifications not yet read
        tabs = {scope: inbox_page(session, user, InboxFilters(scope=scope)).total for scope in ("mine", "group")}
        assert facts.counts == tabs, user.username
        unread = [n for n in session.scalars(select(Notification).where(Notification.user_id == user.id))]
        assert facts.unread == len([n for n in unread if n.read_dt is None]), user.username
        assert facts.can_start is can_start_any(session, user), user.username
        seen.add((facts.mine > 0, facts.group > 0, facts.unread > 0, facts.can_start))
    assert menu_facts(session, head).unread == 2  # the notification already read is not counted
    # the demo people cover both sides of each fact, so a fact read wrongly for anyone would show
    assert {flag for facts in seen for flag in enumerate(facts)} == {(i, b) for i in range(4) for b in (True, False)}


def test_counts_the_page_already_has_are_taken_as_they_are(session: Session, work: None) -> None:
    officer = session.scalars(select(User).where(User.username == "officer1")).one()
    facts = menu_facts(session, officer, {"mine": 41, "group": 42})
    assert facts.counts == {"mine": 41, "group": 42}
    assert menu_facts(session, officer).counts["mine"] == 1  # the request not yet submitted


def test_my_tasks_count_the_ballots_the_person_may_cast(
    session: Session, session_factory: sessionmaker[Session], driver: WorkflowDriver
) -> None:
    """A ballot waiting for a vote is counted with the tasks, as the inbox lists it; one about the person is not: they
    do not vote in it (`is_own_ballot`), and one already cast is not either."""
    members = collective(session_factory)
    about_other = driver.start("sample_approval", as_user="personnel1", subject="CB0006")
    about_officer1 = driver.start("sample_approval", as_user="personnel1", subject="CB0001")  # officer1's cadre
    open_test_box(session_factory, about_other, list(members.values()))
    # A box opened before the nominee was left out of the electors (as the vote page's own test has it).
    own = open_test_box(session_factory, about_officer1, [i for name, i in members.items() if name != "officer1"])
    with session_factory() as s, transaction(s):
        s.add(BallotElector(box_id=own, user_id=members["officer1"], is_summoned=True, is_present=True))
    with session_factory() as s, transaction(s):
        ballots.mark_attendance(s, actor=user_named(s, "personnel1"), box_id=own, present_ids=[members["officer2"]])
        ballots.cast_ballot(
            s, voter=user_named(s, "officer2"), box_id=own, contents={"a": "yes", "b": "no"}, sign=False
        )
    for username, waiting in (("officer1", 1), ("officer2", 1), ("member1", 2), ("personnel1", 0)):
        person = session.scalars(select(User).where(User.username == username)).one()
        assert len(ballots_to_cast(session, person)) == waiting, username
        facts = menu_facts(session, person)
        assert facts.ballots == waiting, username
        assert facts.counts["mine"] == inbox_page(session, person, InboxFilters()).total + waiting, username
    member = session.scalars(select(User).where(User.username == "member1")).one()
    assert menu_facts(session, member, {"ballots": 5}).counts["mine"] == 5  # what the inbox already has


def test_the_menu_is_one_statement(session: Session, work: None) -> None:
    supervisor = session.scalars(select(User).where(User.username == "supervisor1")).one()
    _ = supervisor.role_assignments  # loaded before, as the signed-in user's are
    bind = session.get_bind()
    with statements_sent(bind) as sent:  # type: ignore[arg-type]
        facts = menu_facts(session, supervisor)
    assert facts.group == 2
    assert len(sent.statements) == 1, str(sent)


def test_the_menu_of_people_with_as_many_roles_is_one_prepared_statement(session: Session, work: None) -> None:
    """Built once per shape with every value bound: two people holding as many roles send the same statement (on
    PostgreSQL the same prepared one), and each still gets their own counts."""
    officer, officer3 = (
        session.scalars(select(User).where(User.username == name)).one() for name in ("officer1", "officer3")
    )
    assert len(officer.role_assignments) == len(officer3.role_assignments)
    bind = session.get_bind()
    with statements_sent(bind) as sent:  # type: ignore[arg-type]
        facts = [menu_facts(session, officer), menu_facts(session, officer3)]
    assert [f.mine for f in facts] == [1, 0]
    assert len(sent.executed) == 2 and sent.statements[0] == sent.statements[1], str(sent)
    if bind.dialect.name == "postgresql":
        assert sent.executed[0].startswith("EXECUTE canbo_"), str(sent)
        assert sent.executed[0].split("(")[0] == sent.executed[1].split("(")[0]
