"""Spike alerts: the daily job reads the tallies, raises one alert per episode (again and
again it raises nothing new), messages the town's officers with a link; officers of that town
acknowledge it with a note, others may not; the staff pages, in both languages."""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from pledge_registry.analysis import alerts, spike_rule
from pledge_registry.extensions import db
from pledge_registry.models import Complaint, OutboxMessage, SpikeAlert, SpikeAlertEvent, Town
from pledge_registry.paging import PER_PAGE
from tests.factories import make_merchant, make_station, make_station_officer, make_user
from tests.helpers import count_rows, form_post, login, missing_id, signed_in_client, text

TZ = ZoneInfo("Asia/Shanghai")
# Thursday 26 November 2026, noon in Beijing: the job's "this week" starts Monday the 23rd.
NOW = datetime(2026, 11, 26, 4, tzinfo=UTC)
THIS_WEEK = date(2026, 11, 23)


def week(n: int) -> date:
    """The Monday n weeks before this week's (0: this week)."""
    return THIS_WEEK - timedelta(weeks=n)


def add_week(merchant: Any, monday: date, n: int, problem_type: str = "quality") -> None:
    """n complaints about `merchant` spread over the week of `monday` (not after NOW), one commit."""
    for i in range(n):
        day = monday + timedelta(days=i % 4)          # Monday to Thursday
        received = datetime(day.year, day.month, day.day, 9, tzinfo=TZ).astimezone(UTC)
        db.session.add(Complaint(
            idempotency_key=secrets.token_hex(16), merchant_id=merchant.id, item="装修", problem_type=problem_type,
            account="合同条款有问题", wants=["refund"], shopper_name="王五", shopper_phone="13987654321",
            consent_version="test", consent_at=received, received_at=received, status="received",
            acceptance_due_at=received + timedelta(days=5), completion_due_at=received + timedelta(days=20)))
    db.session.commit()


def history(merchant: Any, weekly: list[int], problem_type: str = "quality") -> None:
    """weekly[-1] is this week, weekly[-2] the week before ..."""
    for back, n in enumerate(reversed(weekly)):
        if n:
            add_week(merchant, week(back), n, problem_type)


@pytest.fixture
def towns(app) -> tuple[Town, Town]:
    first, second = db.session.scalars(sa.select(Town).order_by(Town.id).limit(2))
    return first, second


@pytest.fixture
def rise(app, towns) -> Any:
    """A shop of the first town: two complaints a week for ten weeks, then twelve this week."""
    shop = make_merchant(town_id=towns[0].id, category="furniture")
    history(shop, [2] * 10 + [12], problem_type="contract_terms")
    return shop


def alert_rows() -> list[SpikeAlert]:
    return list(db.session.scalars(sa.select(SpikeAlert).order_by(SpikeAlert.id)))


# --- the daily job -----------------------------------------------------------------------

def test_a_planted_rise_raises_one_alert_per_cut_with_its_evidence(app, rise, towns):
    run = alerts.detect(NOW)
    found = {(a.dimension, a.key): a for a in alert_rows()}
    assert set(found) == {("category", "furniture"), ("problem_type", "contract_terms"),
                          ("area", str(rise.area_id)), ("merchant", str(rise.id))}
    assert run.raised == 4
    alert = found[("problem_type", "contract_terms")]
    assert alert.town_id == towns[0].id and alert.status == "open"
    assert alert.week_start == alert.last_week == THIS_WEEK
    assert alert.observed == 12 and alert.baseline_mean == pytest.approx(2.0)
    assert alert.p_value < spike_rule.ALPHA
    # The evidence: the baseline's weeks, then the high week.
    assert alert.series == [2] * spike_rule.BASELINE_WEEKS + [12]
    assert alert.rule == spike_rule.RULE
    rows = alerts.evidence(alert)
    assert rows[0].week == week(spike_rule.BASELINE_WEEKS) and rows[0].baseline is None
    assert rows[-1].week == THIS_WEEK and rows[-1].high and rows[-1].baseline == pytest.approx(2.0)
    assert count_rows(SpikeAlertEvent, SpikeAlertEvent.alert_id == alert.id, SpikeAlertEvent.to_status == "open") == 1


def test_running_again_raises_nothing_new(app, rise, towns):
    make_user("staff", town_id=towns[0].id)
    alerts.detect(NOW)
    before = (count_rows(SpikeAlert), count_rows(SpikeAlertEvent), count_rows(OutboxMessage))
    again = alerts.detect(NOW + timedelta(hours=6))
    assert (again.raised, again.extended, again.notified) == (0, 0, 0)
    assert (count_rows(SpikeAlert), count_rows(SpikeAlertEvent), count_rows(OutboxMessage)) == before


def test_later_days_of_the_week_only_add_to_the_alert(app, rise):
    alerts.detect(NOW)
    add_week(rise, THIS_WEEK + timedelta(days=3), 1, "contract_terms")   # Thursday, more
    run = alerts.detect(NOW + timedelta(hours=8))
    assert (run.raised, run.extended, run.notified) == (0, 0, 0)
    assert len(alert_rows()) == 4
    alert = db.session.scalar(sa.select(SpikeAlert).where(SpikeAlert.dimension == "merchant"))
    assert alert.observed == 13 and alert.series[-1] == 13              # the evidence follows the tallies
    assert alert.p_value == pytest.approx(spike_rule.poisson_tail(13, 2.0))


def test_a_rise_that_lasts_extends_its_alert(app, rise):
    alerts.detect(NOW)
    next_week = THIS_WEEK + timedelta(weeks=1)
    add_week(rise, next_week, 15, "contract_terms")
    run = alerts.detect(NOW + timedelta(weeks=1))
    assert run.raised == 0 and run.extended == 4
    alert = db.session.scalar(sa.select(SpikeAlert).where(SpikeAlert.dimension == "problem_type"))
    assert alert.week_start == THIS_WEEK and alert.last_week == next_week
    assert alert.series[-2:] == [12, 15] and alert.observed == 12


def test_a_new_rise_after_normal_weeks_is_a_new_alert(app, rise):
    alerts.detect(NOW)
    for n in (1, 2, 3):
        add_week(rise, THIS_WEEK + timedelta(weeks=n), 2, "contract_terms")
        alerts.detect(NOW + timedelta(weeks=n))
    add_week(rise, THIS_WEEK + timedelta(weeks=4), 14, "contract_terms")
    run = alerts.detect(NOW + timedelta(weeks=4))
    assert run.raised == 4
    starts = [a.week_start for a in alert_rows() if a.dimension == "merchant"]
    assert starts == [THIS_WEEK, THIS_WEEK + timedelta(weeks=4)]


def test_noise_raises_nothing(app, towns):
    shop = make_merchant(town_id=towns[0].id)
    noise = [3, 5, 4, 2, 6, 3, 4, 5, 3, 4, 6, 5, 2, 4]
    history(shop, (noise * 2)[:alerts.WINDOW_WEEKS])
    run = alerts.detect(NOW)
    assert run.keys > 0 and run.raised == 0 and alert_rows() == []


def test_few_complaints_are_not_read_at_all(app, towns):
    shop = make_merchant(town_id=towns[0].id)
    history(shop, [0] * 10 + [spike_rule.MIN_COUNT - 1])
    run = alerts.detect(NOW)
    assert run.keys == 0 and alert_rows() == []


def test_each_town_is_measured_on_its_own(app, towns):
    """A rise in one town does not hide in the city's total, nor alert the other town; a key
    that went from nothing to many complaints a week is itself a rise (the other town's shop
    when its history is shorter than the window), so that one has a full history."""
    quiet = make_merchant(town_id=towns[1].id, category="furniture")
    history(quiet, [8] * alerts.WINDOW_WEEKS, problem_type="contract_terms")
    risen = make_merchant(town_id=towns[0].id, category="furniture")
    history(risen, [1] * 10 + [8], problem_type="contract_terms")
    alerts.detect(NOW)
    found = {(a.town_id, a.dimension) for a in alert_rows()}
    assert (towns[0].id, "category") in found and (towns[0].id, "problem_type") in found
    assert not any(town_id == towns[1].id for town_id, _ in found)


def test_the_towns_officers_get_a_message_with_a_link(app, rise, towns):
    mine = make_user("staff", town_id=towns[0].id)
    by_phone = make_user("staff", town_id=towns[0].id, email=None, phone="13911112222")
    make_user("staff", town_id=towns[1].id)                   # another town's officer
    make_user("staff")                                        # city-wide staff: the pages, no message
    make_user("staff", town_id=towns[0].id, disabled=True)
    station = make_station(rise.area_id)
    make_station_officer(station)                             # stations handle cases, not alerts
    run = alerts.detect(NOW)
    messages = list(db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.template == "spike_alert")))
    assert run.notified == 8 and len(messages) == 8           # four alerts, two officers each
    assert {m.recipient for m in messages} == {mine.email, by_phone.phone}
    alert = db.session.scalar(sa.select(SpikeAlert).where(SpikeAlert.dimension == "problem_type"))
    message = next(m for m in messages if m.context["alert_id"] == alert.id and m.channel == "email")
    assert message.context["url"] == f"http://localhost/staff/analysis/alerts/{alert.id}"
    assert "合同" in message.context["subject_zh"] and towns[0].name in message.context["subject_zh"]
    assert "contract" in message.context["subject_en"].lower()

    from pledge_registry.outbox import messages as texts

    rendered = texts.render("spike_alert", message.context, "email", base_url="http://localhost")
    assert message.context["url"] in rendered.text and "12" in rendered.text


# --- acknowledgement ---------------------------------------------------------------------

def _problem_alert() -> SpikeAlert:
    return db.session.scalar(sa.select(SpikeAlert).where(SpikeAlert.dimension == "problem_type"))


def test_an_officer_of_the_town_acknowledges_with_a_note(app, rise, towns):
    officer = make_user("staff", town_id=towns[0].id)
    alerts.detect(NOW)
    alert = _problem_alert()
    alerts.acknowledge(alert, officer, "  已约谈三家装修公司，规范合同条款。  ")
    assert alert.status == "acknowledged" and alert.acknowledged_by_id == officer.id
    assert alert.note == "已约谈三家装修公司，规范合同条款。"
    event = db.session.scalar(sa.select(SpikeAlertEvent).where(SpikeAlertEvent.to_status == "acknowledged"))
    assert (event.from_status, event.actor_id, event.note) == ("open", officer.id, alert.note)
    with pytest.raises(alerts.AlertError) as again:
        alerts.acknowledge(alert, officer, "again")
    assert again.value.code == "not_open"


def test_other_towns_officers_may_not_acknowledge(app, rise, towns):
    alerts.detect(NOW)
    alert = _problem_alert()
    for someone in (make_user("staff", town_id=towns[1].id), make_user("merchant")):
        with pytest.raises(alerts.AlertError) as refused:
            alerts.acknowledge(alert, someone, "not mine")
        assert refused.value.code == "other_town"
    alerts.acknowledge(alert, make_user("staff"), "city-wide staff may")   # no town: the whole city
    assert alert.status == "acknowledged"


def test_a_note_is_required(app, rise, towns):
    alerts.detect(NOW)
    with pytest.raises(alerts.AlertError) as refused:
        alerts.acknowledge(_problem_alert(), make_user("staff", town_id=towns[0].id), "   ")
    assert refused.value.code == "note_required" and refused.value.field == "note"


def test_the_command_runs_the_job(app, runner, rise):
    result = runner.invoke(args=["stats", "alerts"])
    assert result.exit_code == 0, result.output
    assert "Spike alerts:" in result.output
    # The planted rise is this week of NOW, which may be long past: the real clock's week has
    # no complaints here, so the command reads nothing; detect(NOW) is the tested path.
    assert "raised" in result.output


# --- pages -------------------------------------------------------------------------------

@pytest.fixture
def raised(app, rise) -> SpikeAlert:
    alerts.detect(NOW)
    return _problem_alert()


def test_pages_are_for_staff_only(app, client, raised):
    for path in ("/staff/analysis/alerts", f"/staff/analysis/alerts/{raised.id}"):
        assert client.get(path).status_code == 302                    # to the login page
    merchant = make_user("merchant")
    login(client, merchant)
    assert client.get("/staff/analysis/alerts").status_code == 403
    assert client.get(f"/staff/analysis/alerts/{raised.id}").status_code == 403


def test_station_officers_do_not_see_alerts(app, client, raised):
    login(client, make_station_officer(make_station(raised.town.areas[0].id if raised.town.areas else 1)))
    assert client.get("/staff/analysis/alerts").status_code == 403


def test_the_list_shows_open_alerts_first_and_filters(app, client, raised, towns):
    login(client, make_user("staff"))
    other = next(a for a in alert_rows() if a.dimension == "merchant")
    alerts.acknowledge(other, make_user("staff"), "已处理")
    page = text(client.get("/staff/analysis/alerts"))
    assert page.index("alerts-open") < page.index("alerts-acknowledged")
    assert page.index(f'id="alert-{raised.id}"') < page.index(f'id="alert-{other.id}"')
    assert "已处理" in page
    only_open = text(client.get("/staff/analysis/alerts?status=open"))
    assert f'id="alert-{raised.id}"' in only_open and f'id="alert-{other.id}"' not in only_open
    by_dimension = text(client.get("/staff/analysis/alerts?dimension=merchant"))
    assert f'id="alert-{other.id}"' in by_dimension and f'id="alert-{raised.id}"' not in by_dimension
    elsewhere = text(client.get(f"/staff/analysis/alerts?town={towns[1].id}"))
    assert f'id="alert-{raised.id}"' not in elsewhere


def test_the_list_pages_by_keyset(app, client, towns):
    for n in range(PER_PAGE + 3):
        db.session.add(SpikeAlert(town_id=towns[0].id, dimension="merchant", key=str(10_000 + n),
                                  week_start=THIS_WEEK, last_week=THIS_WEEK, observed=9, baseline_mean=1.0,
                                  p_value=1e-5, series=[1] * 8 + [9], rule=spike_rule.RULE,
                                  created_at=NOW + timedelta(minutes=n)))
    db.session.commit()
    login(client, make_user("staff"))
    first = text(client.get("/staff/analysis/alerts?status=open"))
    assert first.count('id="alert-') == PER_PAGE and 'rel="next"' in first
    later = first.split('rel="next" href="')[1].split('"')[0].replace("&amp;", "&")
    second = text(client.get(later))
    assert second.count('id="alert-') == 3


@pytest.mark.parametrize("query", ["status=nonsense", "town=abc", "town=99999999999999", "dimension=%00",
                                   "oafter=99999999999999999999&oafter_id=1", "oafter=-5&oafter_id=x",
                                   "status=open&oafter=1&oafter_id=1"])
def test_odd_queries_never_fail(app, client, raised, query):
    login(client, make_user("staff"))
    assert client.get(f"/staff/analysis/alerts?{query}").status_code == 200


def test_the_alert_page_shows_its_evidence_and_the_rule(app, client, raised):
    login(client, make_user("staff"))
    page = text(client.get(f"/staff/analysis/alerts/{raised.id}"))
    assert "<caption>" in page and 'scope="col"' in page
    table = page.split("<tbody>")[1].split("</tbody>")[0]
    assert table.count("<tr") == spike_rule.BASELINE_WEEKS + 1
    assert THIS_WEEK.isoformat() in table and ">12<" in table
    assert "泊松" in page                                           # the rule, in words (Chinese first)
    assert 'name="note"' in page


def test_english_alert_page(app, client, raised):
    client.set_cookie("lang", "en")
    login(client, make_user("staff"))
    page = text(client.get(f"/staff/analysis/alerts/{raised.id}"))
    assert "Poisson" in page and "Evidence" in page and "Problem type" in page
    listing = text(client.get("/staff/analysis/alerts"))
    assert "Open alerts" in listing


def test_acknowledging_on_the_page(app, client, raised, towns):
    login(client, make_user("staff", town_id=towns[0].id))
    url = f"/staff/analysis/alerts/{raised.id}"
    response = form_post(client, f"{url}/acknowledge", {"note": "已约谈商户"}, form_url=url)
    assert response.status_code == 302 and response.headers["Location"].endswith(url)
    page = text(client.get(url))
    assert 'id="alert-outcome"' in page and "已约谈商户" in page and 'name="note"' not in page
    again = form_post(client, f"{url}/acknowledge", {"note": "再次"}, form_url=f"{url}")
    assert again.status_code == 409 and "再次" in text(again)


def test_a_missing_note_keeps_the_form(app, client, raised, towns):
    login(client, make_user("staff", town_id=towns[0].id))
    url = f"/staff/analysis/alerts/{raised.id}"
    response = form_post(client, f"{url}/acknowledge", {"note": "   "}, form_url=url)
    assert response.status_code == 400 and 'aria-invalid="true"' in text(response)
    assert db.session.get(SpikeAlert, raised.id).status == "open"
    control = form_post(client, f"{url}/acknowledge", {"note": "a\x00b"}, form_url=url)
    assert control.status_code == 400
    too_long = form_post(client, f"{url}/acknowledge", {"note": "长" * 501}, form_url=url)
    assert too_long.status_code == 400 and "长" * 501 in text(too_long)


def test_another_towns_officer_is_refused_with_the_note_kept(app, client, raised, towns):
    login(client, make_user("staff", town_id=towns[1].id))
    url = f"/staff/analysis/alerts/{raised.id}"
    page = text(client.get(url))
    assert 'name="note"' not in page                                  # no form offered
    response = form_post(client, f"{url}/acknowledge", {"note": "不是我镇的"}, form_url=url)
    assert response.status_code == 403
    assert db.session.get(SpikeAlert, raised.id).status == "open"


def test_without_csrf_nothing_changes(app, client, raised, towns):
    login(client, make_user("staff", town_id=towns[0].id))
    response = client.post(f"/staff/analysis/alerts/{raised.id}/acknowledge", data={"note": "x"})
    assert response.status_code == 400
    assert db.session.get(SpikeAlert, raised.id).status == "open"


def test_a_missing_alert_is_404(app, client):
    login(client, make_user("staff"))
    assert client.get(f"/staff/analysis/alerts/{missing_id(SpikeAlert)}").status_code == 404
    assert client.get("/staff/analysis/alerts/99999999999").status_code == 404


def test_the_dashboard_partial_lists_open_alerts(app, raised):
    from flask import render_template

    with app.test_request_context("/", headers={"Cookie": "lang=en"}):
        html = render_template("analysis/_open_alerts.html", open_alerts=alerts.open_alerts())
        empty = render_template("analysis/_open_alerts.html", open_alerts=[])
    assert f"/staff/analysis/alerts/{raised.id}" in html and "12" in html
    assert "/staff/analysis/alerts/" not in empty.split("All spike alerts")[0].replace(
        'href="/staff/analysis/alerts"', "")


def test_the_dashboard_shows_the_open_alerts_and_the_alert_its_chart(app, client, raised):
    login(client, make_user("staff"))
    dashboard = text(client.get("/staff/analysis/"))
    panel = dashboard.split('id="open-alerts-title"')[1].split("</section>")[0]
    assert f'href="/staff/analysis/alerts/{raised.id}"' in panel
    page = text(client.get(f"/staff/analysis/alerts/{raised.id}"))
    chart = page.split('<figure class="chart">')[1].split("</figure>")[0]
    assert chart.lstrip().startswith("<svg") and "<script" not in chart
    assert "每周投诉" in chart                                      # its title, in the page's language
    raised.status = "acknowledged"
    db.session.commit()
    panel = text(client.get("/staff/analysis/")).split('id="open-alerts-title"')[1].split("</section>")[0]
    assert f"/staff/analysis/alerts/{raised.id}" not in panel


# --- the demo ----------------------------------------------------------------------------

def test_demo_load_shows_the_planted_rise_and_its_messages(app, runner):
    result = runner.invoke(args=["demo", "load", "--merchants", "40"])
    assert result.exit_code == 0, result.output
    town = db.session.scalar(sa.select(Town).where(Town.name == "高新区"))
    planted = db.session.scalar(sa.select(SpikeAlert).where(
        SpikeAlert.town_id == town.id, SpikeAlert.dimension == "problem_type", SpikeAlert.key == "contract_terms"))
    assert planted is not None and planted.status == "open"
    acknowledged = list(db.session.scalars(sa.select(SpikeAlert).where(SpikeAlert.status == "acknowledged")))
    assert len(acknowledged) == 1 and acknowledged[0].note and acknowledged[0].acknowledged_by.town_id == town.id
    # Today's daily job, run after the load, finds nothing new.
    alerts_before = count_rows(SpikeAlert)
    again = runner.invoke(args=["stats", "alerts"])
    assert again.exit_code == 0 and " 0 raised" in again.output, again.output
    assert count_rows(SpikeAlert) == alerts_before
    # The town officer's message, with its link, on the development messages page.
    messages = list(db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.template == "spike_alert")))
    assert messages and {m.recipient for m in messages} == {"gaoxin@demo.invalid"}
    link = f"http://localhost/staff/analysis/alerts/{planted.id}"
    assert any(m.context["url"] == link for m in messages)
    page = text(signed_in_client(app, make_user("staff")).get("/staff/dev/messages"))
    assert f'<a href="{link}">' in page and "投诉异常预警" in page
