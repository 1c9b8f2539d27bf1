"""Notices and doses by hand as pure rules, and the flow's notice screen (issue 17)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from kiosk.domain import flow, manual_doses, notices
from kiosk.domain.dosing import RefusalReason, Refused
from kiosk.domain.flow import Screen
from kiosk.domain.manual_doses import ManualDoseProblem, StockSource
from kiosk.domain.notices import Notice, NoticeOrigin, NoticeProblem, NoticeScope

DAY = date(2026, 6, 10)
NOW = datetime(2026, 6, 10, 19, 0, tzinfo=UTC)


def notice(uuid: str = "n1", **changes: object) -> Notice:
    fields: dict[str, object] = {
        "uuid": uuid,
        "scope": NoticeScope.PARTICIPANT,
        "participant_code": "P-0001",
        "starts_on": DAY,
        "ends_on": DAY + timedelta(days=2),
        "texts": {"en": "Hello", "fr_CA": "Bonjour"},
        "one_language": None,
        "origin": NoticeOrigin.HUB,
    }
    fields.update(changes)
    return Notice(**fields)  # type: ignore[arg-type]


def test_the_text_is_the_readers_language_else_the_sites_else_one_language_only() -> None:
    assert notice().text_for("fr_CA") == ("Bonjour", "fr_CA")
    assert notice().text_for("es") == ("Hello", "en")
    assert notice().text_for("es", "fr_CA") == ("Bonjour", "fr_CA")
    assert notice(texts={"pa": "x"}).text_for("es") == ("x", "pa")
    assert notice(one_language="en").text_for("fr_CA") == ("Hello", "en")


def test_a_notice_is_shown_until_acknowledged_or_over() -> None:
    shown = notices.to_show_after_scan([notice()], "P-0001", set(), DAY)
    assert [n.uuid for n in shown] == ["n1"]
    assert notices.to_show_after_scan([notice()], "P-0001", {"n1"}, DAY) == []
    assert notices.to_show_after_scan([notice()], "P-0002", set(), DAY) == []
    assert notices.to_show_after_scan([notice()], "P-0001", set(), DAY + timedelta(days=3)) == []
    assert notices.to_show_after_scan([notice()], "P-0001", set(), DAY - timedelta(days=1)) == []
    site = notice("s1", scope=NoticeScope.SITE, participant_code=None)
    assert notices.to_show_at_idle([site, notice()], DAY + timedelta(days=2)) == [site]
    assert notices.to_show_at_idle([site], DAY + timedelta(days=3)) == []


def test_what_a_notice_needs_before_it_is_saved() -> None:
    def found(**changes: object) -> list[NoticeProblem]:
        fields: dict[str, object] = {
            "scope": NoticeScope.PARTICIPANT,
            "participant_code": "P-0001",
            "starts_on": DAY,
            "ends_on": DAY,
            "texts": {"en": "x"},
            "one_language": None,
        }
        fields.update(changes)
        return notices.problems(**fields)  # type: ignore[arg-type]

    assert found() == []
    assert found(texts={"en": "  "}) == [NoticeProblem.NO_TEXT]
    assert found(texts={"en": "x" * 501}) == [NoticeProblem.TOO_LONG]
    assert found(ends_on=DAY - timedelta(days=1)) == [NoticeProblem.ENDS_BEFORE_START]
    assert found(ends_on=DAY + timedelta(days=400)) == [NoticeProblem.TOO_LONG_A_PERIOD]
    assert found(participant_code=None) == [NoticeProblem.NO_PARTICIPANT]
    assert found(one_language="fr_CA") == [NoticeProblem.ONE_LANGUAGE_WITHOUT_TEXT]


def test_the_notice_screen_comes_before_the_decision_one_ok_each() -> None:
    state = flow.step(flow.initial("en"), flow.FingerDetected())
    state = flow.step(state, flow.Identified(3, "fr_CA", (notice("a"), notice("b"))))
    assert (state.screen, state.locale) == (Screen.NOTICE, "fr_CA")
    assert state.effects == (flow.ApplyLanguage("fr_CA"),)  # nothing decided yet
    assert not state.reads_finger
    state = flow.step(state, flow.NoticeAcknowledged())
    assert (state.screen, state.effects) == (Screen.NOTICE, (flow.AcknowledgeNotice("a"),))
    state = flow.step(state, flow.NoticeAcknowledged())
    assert state.screen is Screen.DECIDING
    assert state.effects == (flow.AcknowledgeNotice("b"), flow.Decide(3))
    timed_out = flow.step(
        flow.step(flow.initial("en"), flow.Identified(3, None, (notice(),))), flow.Timeout()
    )
    assert timed_out.screen is Screen.IDLE and not timed_out.effects[1:]


def test_site_notices_stay_across_interactions() -> None:
    site = notice("s", scope=NoticeScope.SITE, participant_code=None)
    state = flow.step(flow.initial("en"), flow.SiteNotices((site,)))
    state = flow.step(flow.step(state, flow.FingerDetected()), flow.Identified(1))
    state = flow.step(state, flow.DoseRefused(Refused(1, RefusalReason.ON_HOLD)))
    assert flow.step(state, flow.Timeout()).site_notices == (site,)


def test_what_stops_a_dose_by_hand() -> None:
    def found(**changes: object) -> list[ManualDoseProblem]:
        fields: dict[str, object] = {
            "units": 2,
            "given_at": NOW,
            "now": NOW,
            "source": StockSource.PHARMACY,
            "lane_stock": None,
            "witness_required": False,
            "recorder": "staff:1",
            "witness": None,
        }
        fields.update(changes)
        return manual_doses.problems(**fields)  # type: ignore[arg-type]

    assert found() == []
    assert found(units=0) == [ManualDoseProblem.UNITS]
    assert found(given_at=NOW + timedelta(hours=1)) == [ManualDoseProblem.IN_THE_FUTURE]
    assert found(given_at=NOW - timedelta(hours=25)) == [ManualDoseProblem.TOO_OLD]
    assert found(source=StockSource.MACHINE_LANE) == [ManualDoseProblem.NO_LANE]
    assert found(source=StockSource.MACHINE_LANE, lane_stock=1) == [
        ManualDoseProblem.NOT_ENOUGH_IN_LANE
    ]
    assert found(witness_required=True) == [ManualDoseProblem.WITNESS_NEEDED]
    assert found(witness="staff:1") == [ManualDoseProblem.WITNESS_IS_RECORDER]


@given(
    st.dictionaries(
        st.sampled_from(["en", "fr_CA", "es", "zh_Hant", "pa"]), st.text(min_size=1), min_size=1
    ),
    st.sampled_from(["en", "fr_CA", "es", "zh_Hant", "pa", None]),
)
def test_some_written_text_is_always_shown(texts: dict[str, str], reader: str | None) -> None:
    text, language = notice(texts=texts).text_for(reader)
    assert texts[language] == text
    if reader in texts:
        assert language == reader
