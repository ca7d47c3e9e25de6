"""The authorisation policy (services/policy.py) as one table: permission × person × resource → allowed.

Every permission of the policy is in the table and every row of the table is a permission (completeness), each
permission is tried by every role, and no service outside the policy compares a role itself.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest
from sqlalchemy import select

from lms_plugin.services import accounts, attempts, cohorts, discussion, essays, policy
from lms_plugin.services.catalog import load_catalog
from lms_plugin.services.content import import_catalog
from lms_plugin.services.errors import Forbidden, NotFound
from lms_plugin.store import models as m
from tests.samples import SCENARIO
from tests.services.marking_course import DISCUSSION, REPORT_BODY, REPORT_RUBRIC

SERVICES = Path(__file__).resolve().parents[2] / "lms_plugin" / "services"

# Who is who. Cohort 1 (pool gk1, gk2): hv1 writes essay E, submits the report R of group Tân Hòa and owns the post
# P and the attempt T; hv3 is in Tân Hòa; hv2 is in the other group and writes E2. Cohort 2 (pool gk2, gk4): hv5
# writes X. So gk1 marks E, E2, R; gk2 marks those and X; gk4 marks only X; gk3 marks nothing.
PEOPLE = {"gv": "lecturer", "qt": "admin", "hv1": "cadre", "hv2": "cadre", "hv3": "cadre", "hv5": "cadre",
          "gk1": "examiner", "gk2": "examiner", "gk3": "examiner", "gk4": "examiner"}
STAFF = {"gv", "qt"}
MARKERS_OF_E = {"gk1", "gk2"}
EVERYONE = set(PEOPLE)

# permission -> [(resource, who is allowed)]: everyone else in PEOPLE, and nobody (None), is refused.
TABLE: dict[str, list[tuple[str | None, set[str]]]] = {
    "essay.read": [("E", STAFF | {"hv1"} | MARKERS_OF_E), ("R", STAFF | {"hv1", "hv3"} | MARKERS_OF_E),
                   ("X", STAFF | {"hv5", "gk2", "gk4"})],
    "essay.read_author": [("E", STAFF | {"hv1"}), ("R", STAFF | {"hv1", "hv3"})],
    "grade.read_own": [("E", {"hv1"}), ("R", {"hv1", "hv3"})],
    "appeal.file": [("E", {"hv1"}), ("R", set())],           # a group report is not appealed
    "draft.read_others": [(None, STAFF)],
    "grade.mark": [(None, STAFF | {"gk1", "gk2", "gk3", "gk4"})],
    "marking.named_examiner": [(None, {"gk1", "gk2", "gk3", "gk4"})],
    "marking.allocate": [(None, STAFF)],
    "release": [(None, STAFF)],
    "similarity.read": [("E", STAFF | MARKERS_OF_E), ("X", STAFF | {"gk2", "gk4"})],
    # the whole text of a source seen from E's report: course material and same-cohort essays for E's examiners;
    # another cohort's essay only for staff and for an examiner who marks it too (gk2)
    "similarity.source_text": [("E~ref", STAFF | MARKERS_OF_E), ("E~E2", STAFF | MARKERS_OF_E),
                               ("E~X", STAFF | {"gk2"})],
    "similarity.cohort": [(None, STAFF)],
    "reference.manage": [(None, STAFF)],
    "unit.play": [("A", STAFF | {"hv1", "hv2", "hv3"}), ("A2", STAFF | {"hv5"})],
    "unit.manage": [(None, STAFF)],
    "assignment.read": [("A", STAFF | {"hv1", "hv2", "hv3"}), ("A2", STAFF | {"hv5"})],
    "assignment.manage": [(None, STAFF)],
    "attempt.play": [("T", {"hv1"})],
    "discussion.read_any": [(None, STAFF)],
    "post.write": [(None, EVERYONE - STAFF)],                 # in their own group: checked when it is found
    "post.edit": [("P", {"hv1"})],
    "post.moderate": [(None, STAFF)],
    "scenario.author": [(None, STAFF)],
    "progress.read": [(None, STAFF)],
    "directory.read": [(None, STAFF)],
    "export": [(None, STAFF)],
    "account.manage": [(None, {"qt"})],
    "account.edit": [("U", {"qt"})],                         # qt has no province: every account
    "account.grant_admin": [("U", {"qt"})],
    "roster.import": [(None, {"qt"})],
    "roster.import_result": [("I", {"qt"})],                # qt started it (and has no province: any import)
    "jobs.read": [(None, {"qt"})],
    "jobs.retry": [(None, {"qt"})],
}


@pytest.fixture
def world(session, tree):
    (tree / "rubrics" / "bao-cao.yaml").write_text(REPORT_RUBRIC, encoding="utf-8")
    (tree / "scenarios" / "t1-mau.yaml").write_text(SCENARIO + DISCUSSION, encoding="utf-8")
    import_catalog(session, load_catalog(["scenarios", "rubrics"]))
    people = {name: accounts.create_user(session, name, role, None) for name, role in PEOPLE.items()}
    first, second = (cohorts.create_cohort(session, name, "khoa-thu") for name in ("Lớp 1", "Lớp 2"))
    tan_hoa, binh_an = (cohorts.group_named(session, first, name, name) for name in ("Xã Tân Hòa", "Xã Bình An"))
    for name, group in [("hv1", tan_hoa), ("hv3", tan_hoa), ("hv2", binh_an)]:
        cohorts.add_member(session, first, people[name], group)
    cohorts.add_member(session, second, people["hv5"], cohorts.group_named(session, second, "Xã Đông", "Xã Đông"))
    a1 = cohorts.assign_scenario(session, first, "t1-mau", examiners=[people["gk1"], people["gk2"]])
    a2 = cohorts.assign_scenario(session, second, "t1-mau", examiners=[people["gk2"], people["gk4"]])
    session.commit()
    text = "Tôi đề xuất lập tổ công tác liên ngành và công khai tiến độ giải quyết hồ sơ cho người dân theo dõi."
    ids = {key: essays.submit_essay(session, people[who], assignment.id, f"{text} ({key})").id
           for key, who, assignment in [("E", "hv1", a1), ("E2", "hv2", a1), ("X", "hv5", a2)]}
    discussion.save_group_report(session, people["hv3"], a1.id, REPORT_BODY, revision=0)
    discussion.submit_group_report(session, people["hv1"], a1.id)
    post = discussion.post_message(session, people["hv1"], a1.id, "Ý kiến của tôi")
    attempts.start_attempt(session, people["hv1"], a1.id)
    reference = m.ReferenceText(course_id=first.course_id, kind="reference", title="Bài giảng", body=text)
    session.add(reference)
    started = m.RosterImport(cohort_id=first.id, user_id=people["qt"].id, digest="0" * 64, kind="csv")
    session.add(started)
    session.commit()
    get = {key: session.get(m.Essay, essay_id) for key, essay_id in ids.items()}
    resources = {None: None, "A": a1, "A2": a2, **get, "U": people["hv2"], "I": started,
                 "R": session.scalar(select(m.Essay).where(m.Essay.kind == "report")),
                 "P": session.get(m.Post, post.id),
                 "T": session.scalar(select(m.Attempt).where(m.Attempt.user_id == people["hv1"].id)),
                 "E~ref": policy.SourceOf(get["E"], reference), "E~E2": policy.SourceOf(get["E"], get["E2"]),
                 "E~X": policy.SourceOf(get["E"], get["X"])}
    markers = {(e, u) for e, u in session.execute(select(m.Grade.essay_id, m.Grade.examiner_id))}
    # the table's premises about who marks what (the allocation decides, this test only reads it)
    by_name = {name: person.id for name, person in people.items()}
    assert {name for name in PEOPLE if (ids["E"], by_name[name]) in markers} == MARKERS_OF_E
    assert {name for name in PEOPLE if (ids["X"], by_name[name]) in markers} == {"gk2", "gk4"}
    assert {name for name in PEOPLE if (resources["R"].id, by_name[name]) in markers} == MARKERS_OF_E
    return people, resources


def test_the_table_names_every_permission_of_the_policy_and_no_other():
    assert set(TABLE) == set(policy.RULES)


def test_every_permission_is_tried_by_every_role():
    roles = set(accounts.ROLES)
    assert set(PEOPLE.values()) == roles
    for permission, rows in TABLE.items():
        for _resource, allowed in rows:
            tried = {PEOPLE[name] for name in allowed} | {PEOPLE[name] for name in EVERYONE - allowed}
            assert tried == roles, permission


def test_who_may_do_what(session, world):
    people, resources = world
    wrong = []
    for permission, rows in TABLE.items():
        for key, allowed in rows:
            resource = resources[key]
            for name, person in people.items():
                if policy.allowed(person, permission, resource) != (name in allowed):
                    wrong.append((permission, key, name, name in allowed))
            if policy.allowed(None, permission, resource):
                wrong.append((permission, key, None, False))
    assert wrong == []


def test_a_refusal_is_the_rule_s_error_with_its_vietnamese_message(session, world):
    people, resources = world
    with pytest.raises(Forbidden) as refused:
        policy.require(people["gk1"], "export")
    assert refused.value.msgid == "Chỉ giảng viên và người tổ chức lớp được tải dữ liệu xuất"
    with pytest.raises(NotFound) as hidden:                  # an essay one may not read does not exist for them
        policy.require(people["gk4"], "essay.read", resources["E"])
    assert hidden.value.msgid == "Không tìm thấy bài thu hoạch"
    for rule in policy.RULES.values():
        assert rule.refusal in (Forbidden, NotFound) and rule.msgid
    with pytest.raises(KeyError):
        policy.allowed(people["gv"], "essay.delete")


def test_the_services_ask_the_policy_instead_of_the_role(session, world):
    people, resources = world
    essay = resources["E"]
    shown, named = essays.readable_essay(session, people["gk1"], essay.id)
    assert (shown.id, shown.author, named) == (essay.id, None, False)                     # blind
    assert essays.readable_essay(session, people["hv3"], resources["R"].id)[1] is True
    with pytest.raises(NotFound):
        essays.readable_essay(session, people["gk4"], essay.id)
    with pytest.raises(Forbidden):
        discussion.hide_post(session, people["hv2"], resources["P"].id, "spam")
    with pytest.raises(NotFound):
        discussion.edit_post(session, people["hv3"], resources["P"].id, "Sửa hộ")


PERSON_ROLES = {"lecturer", "cadre", "examiner", "admin"}
ROLE_GROUPS = {"STAFF", "ORGANISER", "MARKERS", "LEARNERS", "ROLES"}


def _names_a_person_role(node: ast.AST) -> bool:
    """A role of a person: "cadre", ("lecturer", "admin"), STAFF … (a similarity source's role is not)."""
    if isinstance(node, ast.Constant):
        return node.value in PERSON_ROLES
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return any(_names_a_person_role(e) for e in node.elts)
    if isinstance(node, ast.Name):
        return node.id in ROLE_GROUPS
    return isinstance(node, ast.Attribute) and node.attr in ROLE_GROUPS


def _role_comparisons(path: Path) -> list[str]:
    """``x.role`` compared with a person's role (==, !=, in, not in) in one module. A column in a query
    (``m.User.role == "examiner"``) filters rows, it decides nothing about the caller: it is not counted."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Compare):
            continue
        sides = [node.left, *node.comparators]
        for side in sides:
            if isinstance(side, ast.Attribute) and side.attr == "role" and not (
                    isinstance(side.value, ast.Attribute) and side.value.attr == "User") and \
                    any(_names_a_person_role(other) for other in sides if other is not side):
                found.append(f"{path.name}:{node.lineno}")
    return found


def test_no_service_compares_a_role_outside_the_policy():
    found = [hit for path in sorted(SERVICES.glob("*.py")) if path.name != "policy.py"
             for hit in _role_comparisons(path)]
    assert found == []
    assert _role_comparisons(SERVICES / "policy.py")          # the scan does see comparisons where they are
