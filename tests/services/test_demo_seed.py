"""The demo seeding at size: cadres spread over communes, essays submitted in bulk as the submission path stores
them, and a rerun that adds only what is missing (small numbers here; bench sizes go through the command)."""
from __future__ import annotations

import re
from collections import Counter

import pytest
from sqlalchemy import func, select

from lms_plugin.core import essays as core
from lms_plugin.services import accounts, allocation, demo, essays, grading
from lms_plugin.services.content import scenario_data
from lms_plugin.services.demo_text import EssayWriter, commune_names, province_of
from lms_plugin.store import models as m

PASSWORD = "mat-khau-demo"
CADRES, COMMUNES, ESSAYS = 300, 7, 40


def counts(session) -> dict[str, int]:
    return {name: session.scalar(select(func.count()).select_from(model)) for name, model in (
        ("users", m.User), ("groups", m.Group), ("memberships", m.Membership), ("essays", m.Essay),
        ("grades", m.Grade), ("results", m.EssayResult), ("reports", m.SimilarityReport))}


@pytest.fixture
def seeded(session, content):
    summary = demo.seed_demo(session, PASSWORD, cadres=CADRES, communes=COMMUNES, essays=ESSAYS)
    session.commit()
    return summary


def test_cadres_are_spread_over_named_communes_and_can_sign_in(session, seeded):
    assert (seeded.cadres, seeded.communes, seeded.people_added, seeded.memberships_added) == (300, 7, 304, 300)
    cohort = session.scalar(select(m.Cohort).where(m.Cohort.name == seeded.cohort))
    groups = {g.id: g for g in cohort.groups}
    assert sorted(g.name for g in groups.values()) == sorted(name for name, _ in commune_names(7))
    assert all(g.name.startswith("Xã ") and g.name == f"Xã {g.commune}" for g in groups.values())
    members = session.execute(select(m.User.username, m.User.display_name, m.User.commune, m.Membership.group_id)
                              .join(m.Membership, m.Membership.user_id == m.User.id)
                              .where(m.Membership.cohort_id == cohort.id)).all()
    assert sorted(u for u, *_ in members) == sorted(f"cadre{i}" for i in range(1, 301))
    per_group = Counter(group_id for *_, group_id in members)
    assert set(per_group) == set(groups) and min(per_group.values()) >= 42      # 300 over 7: 42 or 43 each
    assert all(groups[g].commune == commune for _u, _n, commune, g in members)
    named = dict((u, n) for u, n, *_ in members)
    assert named["cadre1"] == "Đặng Văn An" and len(set(named.values())) > 100
    assert all(re.fullmatch(r"[^\W\d_]+( [^\W\d_]+){2}", n) for n in named.values())
    assert accounts.authenticate(session, "cadre300", PASSWORD).role == "cadre"
    assert accounts.authenticate(session, "examiner2", PASSWORD).role == "examiner"
    assert accounts.authenticate(session, "cadre300", "sai-mat-khau") is None


def test_seeded_essays_are_stored_as_a_submission_would_be(session, seeded):
    cohort = session.scalar(select(m.Cohort).where(m.Cohort.name == seeded.cohort))
    assignment = demo.essay_assignment(session, cohort)
    assert assignment.id == seeded.essay_assignment_id and (seeded.essays, seeded.essays_added) == (40, 40)
    spec = scenario_data(assignment.scenario_version).essay
    rows = session.execute(select(m.Essay, m.User.username).join(m.User, m.User.id == m.Essay.user_id)
                           .order_by(m.Essay.id)).all()
    assert sorted(u for _, u in rows) == sorted(f"cadre{i}" for i in range(1, 41))
    for essay, _ in rows:
        assert essay.assignment_id == assignment.id and essay.version == 1 and essay.kind == "essay"
        assert essay.words == core.count_words(essay.body) and essay.sha256 == core.sha256(essay.body)
        assert 600 <= essay.words <= 1200 and core.check_length(essay.body, spec.min_words, spec.max_words).ok
        assert essays.recommendations_message(essay.body, spec) is None
    assert len({e.body for e, _ in rows}) == 40
    # cadres copy: some paragraphs of one essay are found word for word in another
    paragraphs = Counter(p for e, _ in rows for p in set(e.body.split("\n\n")) if core.count_words(p) > 60)
    assert sum(1 for n in paragraphs.values() if n > 1) >= 3

    cadre = accounts.get_user(session, "cadre40")
    receipt = essays.latest_receipt(session, cadre, assignment.id)
    assert receipt is not None and receipt.version == 1
    assert essays.latest_receipt(session, accounts.get_user(session, "cadre41"), assignment.id) is None
    # marking as the submission path leaves it: rounds 1 and 2 with the pool, result kept, similarity pending
    e1, e2 = (accounts.get_user(session, n) for n in ("examiner1", "examiner2"))
    assert Counter((g.round, g.examiner_id, g.finalised_at) for g in session.scalars(select(m.Grade))) == \
        {(1, e1.id, None): 40, (2, e2.id, None): 40}
    assert {(r.status, r.marks_done, r.needs_examiner) for r in session.scalars(select(m.EssayResult))} == \
        {("awaiting_marks", 0, False)}
    assert {r.status for r in session.scalars(select(m.SimilarityReport))} == {"pending"}
    assert allocation.stage_counts(session, assignment.id)["essay"]["awaiting_first"] == 40
    assert len(grading.grading_queue(session, e1)) == 40
    # the load counters saw the bulk inserts
    assert allocation.open_loads(session, [e1.id, e2.id]) == {e1.id: 40, e2.id: 40}


def test_a_rerun_adds_only_what_is_missing_and_resets_the_passwords(session, seeded):
    before = counts(session)
    again = demo.seed_demo(session, PASSWORD, cadres=CADRES, communes=COMMUNES, essays=ESSAYS)
    session.commit()
    assert (again.people_added, again.memberships_added, again.essays_added) == (0, 0, 0)
    assert counts(session) == before

    accounts.set_password(accounts.get_user(session, "cadre7"), "doi-mat-khau-rieng")
    session.commit()
    more = demo.seed_demo(session, PASSWORD, cadres=310, communes=COMMUNES, essays=50)
    session.commit()
    assert (more.people_added, more.memberships_added, more.essays_added) == (10, 10, 10)
    after = counts(session)
    assert after["users"] == before["users"] + 10 and after["essays"] == before["essays"] + 10
    assert after["grades"] == before["grades"] + 20 and after["groups"] == before["groups"]
    assert accounts.authenticate(session, "cadre7", PASSWORD) is not None
    assert accounts.authenticate(session, "cadre7", "doi-mat-khau-rieng") is None
    e1 = accounts.get_user(session, "examiner1")
    assert allocation.open_loads(session, [e1.id]) == {e1.id: 50}


def test_the_small_demo_is_unchanged(session, content):
    summary = demo.seed_demo(session, PASSWORD)
    session.commit()
    assert (summary.cadres, summary.communes, summary.essays) == (6, 2, 0)
    assert summary.assignments == len(content.scenarios)
    cohort = session.scalar(select(m.Cohort).where(m.Cohort.name == summary.cohort))
    layout = {u: (g, c, p) for u, g, c, p in session.execute(
        select(m.User.username, m.Group.name, m.User.commune, m.User.province)
        .join(m.Membership, m.Membership.user_id == m.User.id).join(m.Group, m.Group.id == m.Membership.group_id)
        .where(m.Membership.cohort_id == cohort.id))}
    assert layout == {f"cadre{i}": ("Xã Tân Hòa" if i <= 3 else "Xã Bình An", "Tân Hòa" if i <= 3 else "Bình An",
                                    "Tỉnh Đông Hải") for i in range(1, 7)}
    assert session.scalar(select(func.count()).select_from(m.Essay)) == 0


def test_commune_names_and_provinces_at_national_size():
    names = commune_names(3300)
    assert len(set(names)) == 3300 and names[:2] == (("Xã Tân Hòa", "Tân Hòa"), ("Xã Bình An", "Bình An"))
    assert len({province_of(g, 3300) for g in range(3300)}) == 34
    assert province_of(0, 2) == province_of(1, 2) == "Tỉnh Đông Hải"


def test_an_essay_follows_the_scenarios_own_sections(shipped_catalog):
    """A scenario that names its sections gets them as headings, recommendations under theirs."""
    from dataclasses import replace
    scenario = shipped_catalog.scenarios[0].scenario
    spec = replace(scenario.essay, sections=("Thực trạng", "Nguyên nhân", "Giải pháp", "Kiến nghị, đề xuất"))
    writer = EssayWriter(scenario, spec)
    written = writer.write(12, "Yên Bình", "Tỉnh Hà Lâm")
    headings = re.findall(r"(?m)^## (.+)$", written.body)
    assert headings == list(spec.sections)
    assert written.words == core.count_words(written.body) and 600 <= written.words <= 1200
    assert core.recommendations_problem(written.body, spec.recommendations_section) is None
    assert writer.write(12, "Yên Bình", "Tỉnh Hà Lâm") == written           # the same every time


def test_the_command_seeds_and_says_how_long_it_took(engine, session, content):
    from click.testing import CliRunner

    from lms_plugin.cli import main
    url = engine.url.render_as_string(hide_password=False)
    runner = CliRunner()
    done = runner.invoke(main, ["--database", url, "demo", "--password", PASSWORD, "--cadres", "30", "--communes",
                                "3", "--essays", "5"])
    assert done.exit_code == 0, done.output
    assert "cadre1…cadre30 in 3 commune group(s) (34 account(s) and 30 membership(s) added now)" in done.output
    assert "essays: cadre1…cadre5 submitted" in done.output and "(5 added now)" in done.output
    assert re.search(r"seeded in \d+\.\d s", done.output)
    assert session.scalar(select(func.count()).select_from(m.Essay)) == 5
    refused = runner.invoke(main, ["--database", url, "demo", "--password", PASSWORD, "--cadres", "3",
                                   "--essays", "4"])
    assert refused.exit_code == 2 and "--essays" in refused.output
    short = runner.invoke(main, ["--database", url, "demo", "--password", "x"])
    assert short.exit_code == 1 and "8" in short.output
