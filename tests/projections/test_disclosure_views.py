"""Each disclosure view on a hand-written log."""

from __future__ import annotations

from projections.base import Row
from projections.disclosure import Disclosure, self_check
from projections.masking import ERASED_NAME
from tests.projections.disclosure_support import Entries, ref

COUNTY = "422822"  # 建始县, in 恩施州 422800


def _view(log: Entries, names: dict[str, str] | None = None) -> Disclosure:
    view = Disclosure(None if names is None else names.get)
    view.apply_all(log.events)
    return view


def _row(view: Disclosure, table: str, key: tuple[object, ...]) -> Row:
    row = view.get(table, key)  # type: ignore[arg-type]
    assert row is not None, (table, key)
    return row


# --- fund flow ----------------------------------------------------------------


def test_received_is_shown_per_source_kind_at_county_prefecture_and_province() -> None:
    log = Entries()
    county = log.county(COUNTY)
    county.receive("in-1", 1000)
    county.receive("in-2", 500, kind="donation", source="org:基金会")
    view = _view(log)

    for unit, level in (
        ("422822", "county"),
        ("422800", "prefecture"),
        ("420000", "province"),
    ):
        row = _row(view, "fund_flow", (unit, "received", "central", 2026))
        assert (row[0], row[2], row[3]) == (level, 1000, 1)
    assert _row(view, "fund_flow", ("422800", "received", "donation", 2026))[2] == 500
    assert view.evidence("fund_flow", ("420000", "received", "central", 2026)) == [3]


def test_a_reversed_receipt_shows_the_net_and_cites_the_reversal() -> None:
    log = Entries()
    county = log.county(COUNTY)
    county.receive("in-1", 1000)
    county.reverse("in-1")
    county.reverse("in-1")  # a second reversal is not a log the fund writes
    view = _view(log)
    key = ("422822", "received", "central", 2026)
    assert _row(view, "fund_flow", key)[2:] == (0, 0)
    assert view.evidence("fund_flow", key) == [3, 4]


def test_the_year_received_is_the_day_in_china() -> None:
    log = Entries()
    county = log.county(COUNTY)
    county.receive("in-1", 7, recorded_at="2026-12-31T17:00:00.000000Z")
    view = _view(log)
    assert _row(view, "fund_flow", ("422822", "received", "central", 2027))[2] == 7


def test_payments_move_money_only_when_approved_and_show_under_the_school() -> None:
    log = Entries()
    county = log.county(COUNTY)
    school = county.school(1)
    person = ref(1)
    county.status(person, school, grade=4)
    county.allocate("al-1", "BOARD_PRI", 100_000)
    county.propose("p-1", "BOARD_PRI", person, 50_000)
    county.propose("p-2", "BOARD_PRI", person, 50_000, term="spring")
    county.reject("p-2")
    view = _view(log)
    assert view.get("fund_flow", (school, "paid", "BOARD_PRI", 2026)) is None

    county.approve("p-1")
    county.pay("p-3", "BOARD_PRI", school, 20_000, payee_kind="school")
    view = _view(log)
    row = _row(view, "fund_flow", (school, "paid", "BOARD_PRI", 2026))
    assert (row[0], row[1], row[2], row[3]) == ("school", COUNTY, 70_000, 2)
    assert (
        _row(view, "fund_flow", (COUNTY, "allocated", "BOARD_PRI", 2026))[2] == 100_000
    )
    assert _row(view, "fund_flow", ("420000", "paid", "BOARD_PRI", 2026))[2] == 70_000


def test_a_person_without_student_status_is_shown_under_the_unplaced_row() -> None:
    log = Entries()
    county = log.county(COUNTY)
    county.pay("p-1", "HARDSHIP", ref(9), 300)
    view = _view(log)
    unplaced = COUNTY + "-UNPLACED"
    assert _row(view, "fund_flow", (unplaced, "paid", "HARDSHIP", 2026))[2] == 300
    assert _row(view, "disclosure_units", (unplaced,))[:2] == ("school", COUNTY)


# --- programme x county x year --------------------------------------------------


def test_cells_under_five_persons_are_suppressed_and_counted_exactly_in_private() -> (
    None
):
    log = Entries()
    county = log.county(COUNTY)
    for number in range(4):
        county.pay(f"p-{number}", "HS_GRANT", ref(number), 125_000)
    view = _view(log)
    key = (COUNTY, "HS_GRANT", 2026)
    row = _row(view, "programme_county_year", key)
    assert row[:4] == ("422800", None, None, True)
    assert row[6:] == ("fixed", 250_000, 125_000)
    assert _row(view, "programme_cell_exact", key) == (4, 500_000, 0, 0)

    county.pay("p-4", "HS_GRANT", ref(4), 125_000)
    county.pay("p-5", "HS_GRANT", ref(4), 125_000, term="spring")  # same person
    view = _view(log)
    assert _row(view, "programme_county_year", key)[:4] == ("422800", 5, 750_000, False)

    county.reverse("p-0")
    view = _view(log)
    assert _row(view, "programme_county_year", key)[:4] == ("422800", None, None, True)
    assert _row(view, "programme_cell_exact", key)[:2] == (4, 625_000)


def test_school_payments_are_shown_apart_with_their_stated_headcount() -> None:
    log = Entries()
    county = log.county(COUNTY)
    school = county.school(1)
    county.pay(
        "p-1",
        "NUTRITION",
        school,
        8_000,
        payee_kind="school",
        details={"headcount": 40},
    )
    view = _view(log)
    row = _row(view, "programme_county_year", (COUNTY, "NUTRITION", 2026))
    assert row[1:8] == (0, 0, False, 8_000, 40, "configured", None)


# --- donations --------------------------------------------------------------------


def test_donors_are_named_only_when_organisations_or_when_they_agreed() -> None:
    log = Entries()
    county = log.county(COUNTY)
    county.receive("d-1", 100, kind="donation", source="org:湖北教育基金会")
    county.receive("d-2", 200, kind="donation", source="person-named:李四")
    county.receive("d-3", 300, kind="donation", source="person:王五")
    county.receive("d-4", 400, kind="donation", source="赵六")
    view = _view(log)
    rows = [row for _, row in view.rows("donations")]
    assert [(r[1], r[2]) for r in rows] == [
        ("湖北教育基金会", "organisation"),
        ("李四", "named_individual"),
        ("个人捐赠", "anonymous"),
        ("个人捐赠", "anonymous"),
    ]
    assert all(r[5] == "2026-09-01" for r in rows)


def test_an_earmarked_donation_is_followed_to_its_programme() -> None:
    log = Entries()
    county = log.county(COUNTY)
    county.pay("before", "HARDSHIP", ref(1), 999)  # before any donation: not counted
    county.receive("d-1", 1_000, kind="donation", source="org:x", earmark="HARDSHIP")
    county.receive(
        "d-2", 500, kind="donation", source="org:y", earmark="免费午餐 for 张三"
    )
    county.pay("p-1", "HARDSHIP", ref(2), 600)
    county.pay("p-2", "HARDSHIP", ref(3), 700)
    county.reverse("p-1")
    county.reverse("before")
    view = _view(log)

    earmark = _row(view, "donation_earmarks", (COUNTY, "programme:HARDSHIP"))
    assert earmark == ("programme", "HARDSHIP", 1_000, 700, 700, 300, 1)
    rows = [row for _, row in view.rows("donations")]
    assert [(r[6], r[7]) for r in rows] == [
        ("programme:HARDSHIP", "programme:HARDSHIP"),
        (None, "pooled"),  # free text is not shown
    ]


def test_a_reversed_donation_shows_nothing_given_and_cites_the_reversal() -> None:
    log = Entries()
    county = log.county(COUNTY)
    county.receive("d-1", 1_000, kind="donation", source="org:x", earmark="project:P1")
    county.project("pr-1", "P1", 400)
    county.reverse("d-1")
    view = _view(log)
    ((key, row),) = view.rows("donations")
    assert (row[3], row[4], row[8]) == (0, 1_000, True)
    assert view.evidence("donations", key) == [3, 5]
    earmark = _row(view, "donation_earmarks", (COUNTY, "project:P1"))
    assert earmark[2:6] == (0, 400, 0, 0)


# --- notices and self-check -----------------------------------------------------------


def test_notice_lines_show_grade_programme_amount_and_a_masked_name() -> None:
    log = Entries()
    county = log.county(COUNTY)
    school = county.school(1)
    alice, bob = ref(1), ref(2)
    county.status(alice, school, grade=5)
    county.pay("p-1", "BOARD_PRI", alice, 50_000)
    county.pay("p-2", "BOARD_PRI", bob, 50_000)
    county.reverse("p-2")
    view = _view(log, {alice: "张三明"})

    rows = dict(view.rows("notices"))
    assert rows[(school, 2026, "BOARD_PRI", "autumn", 5)] == (
        COUNTY,
        5,
        "张*明",
        50_000,
        False,
    )
    unplaced_key = (COUNTY + "-UNPLACED", 2026, "BOARD_PRI", "autumn", 7)
    assert rows[unplaced_key] == (COUNTY, None, "学生0002", 0, True)
    assert view.evidence("notices", unplaced_key)[-1] == log.seq


def test_an_erasure_renames_every_line_of_the_person_then_and_later() -> None:
    log = Entries()
    county = log.county(COUNTY)
    person = ref(1)
    county.pay("p-1", "HARDSHIP", person, 100)
    county.erase(person)
    county.pay("p-2", "HARDSHIP", person, 100, term="spring")
    view = _view(log, {person: "张三"})
    assert [row[2] for _, row in view.rows("notices")] == [ERASED_NAME, ERASED_NAME]


def test_self_check_lists_one_persons_payments_whatever_became_of_them() -> None:
    log = Entries()
    county = log.county(COUNTY)
    person, other = ref(1), ref(2)
    county.pay("p-1", "HS_GRANT", person, 125_000)
    county.propose("p-2", "HS_GRANT", person, 125_000, term="spring")
    county.reject("p-2")
    county.pay("p-3", "HS_GRANT", other, 125_000)
    county.propose("p-4", "HARDSHIP", person, 300)
    county.pay("p-5", "HARDSHIP", person, 200)
    county.reverse("p-5")
    view = _view(log)

    lines = self_check(view, person)
    assert [(line.payment_id, line.status) for line in lines] == [
        ("p-1", "approved"),
        ("p-2", "rejected"),
        ("p-4", "proposed"),
        ("p-5", "reversed"),
    ]
    assert (lines[0].proposed_seq, lines[0].approved_seq, lines[0].closed_seq) == (
        3,
        4,
        None,
    )
    assert lines[3].evidence == (lines[3].proposed_seq, lines[3].approved_seq, log.seq)
    assert self_check(view, ref(3)) == []
    assert [line.payment_id for line in self_check(view, other)] == ["p-3"]


# --- projects and plan targets ----------------------------------------------------


def test_projects_show_net_budget_school_source_and_latest_progress() -> None:
    log = Entries()
    county = log.county(COUNTY)
    school = county.school(1)
    county.project("t-1", f"{COUNTY}-GAIBO-2026", 1_000, school)
    county.project("t-2", f"{COUNTY}-GAIBO-2026", 500, school)
    county.progress(f"{COUNTY}-GAIBO-2026", 40, "主体完工")
    county.reverse("t-2")
    county.progress(f"{COUNTY}-GAIBO-2026", 100, "竣工")
    view = _view(log)

    key = (COUNTY, f"{COUNTY}-GAIBO-2026")
    row = _row(view, "projects", key)
    assert row[1:3] == ("SCHOOL_RENOVATION", 2026)
    assert row[4:] == (school, 1_000, f"pool:{COUNTY}", 100, "竣工", 1)
    assert view.evidence("projects", key) == [4, 5, 6, 7, 8]
    assert (
        _row(view, "fund_flow", (school, "project", "SCHOOL_RENOVATION", 2026))[2]
        == 1_000
    )


def test_plan_targets_stand_beside_what_was_funded_and_completed() -> None:
    log = Entries()
    county = log.county(COUNTY)
    county.project("t-1", f"{COUNTY}-GAIBO-2026-1", 1_000)
    county.project("t-2", f"{COUNTY}-GAIBO-2027-2", 2_000)
    county.project("t-3", f"{COUNTY}-PEIXUN-2026", 3_000)
    county.project("t-4", "misc", 4_000)
    county.progress(f"{COUNTY}-GAIBO-2026-1", 100)
    county.progress(f"{COUNTY}-PEIXUN-2026", 100)
    view = _view(log)

    total = _row(view, "plan_progress", ("SCHOOL_RENOVATION", None))
    assert total[2] == 3861
    assert total[5:] == (2, 3_000, 1, 1, 1)
    assert _row(view, "plan_progress", ("SCHOOL_RENOVATION", 2027))[5:] == (
        1,
        2_000,
        0,
        0,
        0,
    )
    training = _row(view, "plan_progress", ("TEACHER_TRAINING", None))
    assert (training[2], training[8], training[9]) == (263_000, 1, None)
    kindergartens = _row(view, "plan_progress", ("KINDERGARTEN_BUILDING", None))
    assert (kindergartens[2], kindergartens[5]) == (945, 0)
    assert _row(view, "projects", (COUNTY, "misc"))[1] is None


def test_a_fully_reversed_project_no_longer_counts_as_funded() -> None:
    log = Entries()
    county = log.county(COUNTY)
    county.project("t-1", "X-YOUERYUAN-2026", 1_000)
    county.reverse("t-1")
    view = _view(log)
    row = _row(view, "plan_progress", ("KINDERGARTEN_BUILDING", 2026))
    assert row[5:7] == (0, 0)
