"""On call (docs/ON-CALL.md) with real parts: the signed push endpoint, PostgreSQL, an SMTP
server (aiosmtpd) and an HTTP receiver on loopback, and a compressed clock (``escalate(now)``)."""

from __future__ import annotations

import json
import re
import threading
import zoneinfo
from collections.abc import Iterator
from datetime import datetime, timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.test import Client, override_settings
from django.utils import timezone
from fleet import changelog, oncall, oncall_messages
from fleet.models import AckToken, Alert, AlertLog, ChangeLog, Delivery, Machine, OnCallContact

from tests.hub.helpers import Kiosk, event, make_participant
from tests.hub.oncall_parts import Mailbox, Receiver, http_receiver, smtp_server

SECRET = "webhook-secret-0123456789"
PARTICIPANT_NAME = "Alexandra Quinlan-Secretname"
PARTICIPANT_CODE = "P-0042"
KIOSK_MESSAGE = "Service door opened outside a staff session"


@pytest.fixture
def smtp(settings: Any) -> Iterator[Mailbox]:
    with smtp_server() as (mailbox, port):
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST = "127.0.0.1"
        settings.EMAIL_PORT = port
        settings.HUB_PUBLIC_URL = "https://hub.example.org"
        yield mailbox


@pytest.fixture
def hook() -> Iterator[tuple[Receiver, str]]:
    with http_receiver() as parts:
        yield parts


def last_three_am(zone: str) -> datetime:
    """The latest 03:00 at the site before now (in the past: the machines' real last contact
    is then not "silent")."""
    local = timezone.now().astimezone(zoneinfo.ZoneInfo(zone))
    at = local.replace(hour=3, minute=0, second=0, microsecond=0)
    return at if at <= local else at - timedelta(days=1)


def setup_site(kiosk: Kiosk, url: str | None) -> dict[str, OnCallContact]:
    site = kiosk.machine.site
    if url:
        site.webhook_url = url
        site.set_webhook_secret(SECRET)
        site.save()
    make_participant(kiosk.machine, PARTICIPANT_CODE, display_name=PARTICIPANT_NAME)
    people = {
        "night_staff": OnCallContact(site=site, name="Sam Nightly", role="site_staff",
                                     email="sam@example.org", phone="+15550001", hours="nights"),
        "day_staff": OnCallContact(site=site, name="Dana Day", role="site_staff",
                                   email="dana@example.org", hours="weekdays"),
        "pharmacist": OnCallContact(site=site, name="Maria Lopez", role="pharmacist",
                                    email="maria@example.org", phone="+15550002", hours="nights"),
        "manager": OnCallContact(site=site, name="Pat Manager", role="program_manager",
                                 email="pat@example.org", hours="always"),
    }  # fmt: skip
    for person in people.values():
        person.save()
    return people


def push_door(kiosk: Kiosk, seq: int, alert_id: int) -> None:
    payload = {"actor": "system", "subject": "door", "kind": "door", "message": KIOSK_MESSAGE,
               "alert_id": alert_id}  # fmt: skip
    response = kiosk.push([event(seq, "alert.raised", payload)])
    assert response.status_code == 200, response.content


def ack_link(body: str) -> str:
    match = re.search(r"https://hub\.example\.org(/ack/[^/\s]+/)", body)
    assert match, body
    return match.group(1)


def assert_no_personal_data(text: str) -> None:
    for secret in (PARTICIPANT_NAME, "Quinlan", PARTICIPANT_CODE, KIOSK_MESSAGE, "Sam Nightly",
                   "Maria Lopez", "Lopez"):  # fmt: skip
        assert secret not in text, secret


def test_a_door_alert_at_three_reaches_staff_then_the_pharmacist_until_acknowledged(
    kiosk: Kiosk, smtp: Mailbox, hook: tuple[Receiver, str], client: Client
) -> None:
    receiver, url = hook
    people = setup_site(kiosk, url)
    push_door(kiosk, 1, alert_id=7)
    alert = Alert.objects.get(machine=kiosk.machine, kiosk_alert_id=7)
    assert alert.escalation == Alert.Escalation.PENDING
    t0 = last_three_am(kiosk.machine.site.timezone)

    oncall.escalate(t0)  # 03:00: step 1, the site staff on duty (not the day staff)
    assert [m[0] for m in smtp.messages] == [["sam@example.org"]]
    assert len(receiver.requests) == 1
    oncall.escalate(t0 + timedelta(minutes=9))  # before the default 10 min: nothing more
    assert len(smtp.messages) == 1

    oncall.escalate(t0 + timedelta(minutes=10))  # no acknowledgement: the on-call pharmacist
    assert [m[0] for m in smtp.messages][1:] == [["maria@example.org"]]
    assert len(receiver.requests) == 2
    assert not smtp.to("dana@example.org")
    assert not smtp.to("pat@example.org")

    # Every message: no personal data; the webhook is signed and carries ids and a link.
    for _, message, body in smtp.messages:
        assert_no_personal_data(body + str(message["Subject"]))
    for headers, body in receiver.requests:
        assert oncall_messages.verify(
            SECRET, headers["X-Hub-Timestamp"], body, headers["X-Hub-Signature"]
        )
        assert not oncall_messages.verify(
            "wrong-secret", headers["X-Hub-Timestamp"], body, headers["X-Hub-Signature"]
        )
        assert_no_personal_data(body.decode())
        document = json.loads(body)
        assert document["kind"] == "door_tamper"
        assert document["machine"]["id"] == kiosk.machine.pk
        assert document["ack_url"].startswith("https://hub.example.org/ack/")
    pharmacist_hook = json.loads(receiver.requests[1][1])
    assert pharmacist_hook["to"] == {
        "contact": people["pharmacist"].pk, "role": "pharmacist", "phone": "+15550002"
    }  # fmt: skip

    # The machine is told who has been told (alert_notice, first name + initial).
    _, changes, _ = kiosk.pull_all(0)
    notices = [c for c in changes if c["kind"] == "alert_notice" and c["key"] == str(alert.pk)]
    told = notices[-1]["data"]["told"]
    assert {(t["label"], t["role"], t["channel"]) for t in told} == {
        ("Sam N.", "site_staff", "email"), ("Sam N.", "site_staff", "webhook"),
        ("Maria L.", "pharmacist", "email"), ("Maria L.", "pharmacist", "webhook"),
    }  # fmt: skip
    assert notices[-1]["data"]["kiosk_alert_id"] == 7
    assert notices[-1]["data"]["acknowledged"] is None

    # A tampered link and an expired one are refused; neither acknowledges.
    staff_link = ack_link(smtp.to("sam@example.org")[0][1])
    assert client.post(staff_link[:-3] + "xx/").status_code == 400
    AckToken.objects.filter(recipient=people["night_staff"]).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert client.post(staff_link).status_code == 410
    # The pharmacist's link: a GET shows and never acknowledges (mail scanners follow links).
    link = ack_link(smtp.to("maria@example.org")[0][1])
    shown = client.get(link)
    assert shown.status_code == 200
    assert b"Acknowledge" in shown.content
    alert.refresh_from_db()
    assert not alert.acknowledged
    done = client.post(link)
    assert done.status_code == 200
    alert.refresh_from_db()
    assert alert.acknowledged and alert.escalation == Alert.Escalation.STOPPED
    assert alert.acknowledged_by == people["pharmacist"]
    assert client.post(link).status_code == 410  # single use

    # Escalation stops: the manager is never told.
    oncall.escalate(t0 + timedelta(minutes=60))
    assert not smtp.to("pat@example.org")
    assert len(smtp.messages) == 2
    _, changes, _ = kiosk.pull_all(0)
    notice = [c for c in changes if c["kind"] == "alert_notice"][-1]["data"]
    assert notice["acknowledged"]["label"] == "Maria L."
    assert notice["acknowledged"]["role"] == "pharmacist"
    whats = list(AlertLog.objects.filter(alert=alert).values_list("what", flat=True))
    assert whats.count("sent") == 4
    assert "escalated" in whats and "acknowledged" in whats and "ack_refused" in whats
    for entry in AlertLog.objects.all():
        assert_no_personal_data(json.dumps(entry.detail))


def test_a_failing_webhook_is_retried_with_backoff_and_every_attempt_recorded(
    kiosk: Kiosk, smtp: Mailbox, hook: tuple[Receiver, str]
) -> None:
    receiver, url = hook
    setup_site(kiosk, url)
    receiver.statuses = [500, 503, 502]
    push_door(kiosk, 1, alert_id=3)
    t0 = last_three_am(kiosk.machine.site.timezone)
    oncall.escalate(t0)
    oncall.escalate(t0 + timedelta(seconds=59))  # not yet: the first retry waits 1 min
    assert len(receiver.requests) == 1
    oncall.escalate(t0 + timedelta(minutes=1))
    oncall.escalate(t0 + timedelta(minutes=2))  # the second retry waits 2 min: not yet
    assert len(receiver.requests) == 2
    oncall.escalate(t0 + timedelta(minutes=3))
    oncall.escalate(t0 + timedelta(minutes=7))  # then 4 min: the fourth attempt succeeds
    attempts = list(
        Delivery.objects.filter(channel="webhook", step=0)
        .order_by("attempt")
        .values_list("attempt", "status", "error", "at")
    )
    assert [(a, s, e) for a, s, e, _ in attempts] == [
        (1, "failed", "HTTP 500"), (2, "failed", "HTTP 503"),
        (3, "failed", "HTTP 502"), (4, "sent", ""),
    ]  # fmt: skip
    gaps = [attempts[i + 1][3] - attempts[i][3] for i in range(3)]
    assert gaps == [timedelta(minutes=1), timedelta(minutes=2), timedelta(minutes=4)]
    assert AlertLog.objects.filter(what="failed").count() == 3


def test_a_delivery_gives_up_after_the_last_attempt(
    kiosk: Kiosk, smtp: Mailbox, hook: tuple[Receiver, str], settings: Any
) -> None:
    receiver, url = hook
    setup_site(kiosk, url)
    settings.HUB_ONCALL_MAX_ATTEMPTS = 2
    receiver.statuses = [500] * 10
    push_door(kiosk, 1, alert_id=3)
    t0 = last_three_am(kiosk.machine.site.timezone)
    for minutes in range(0, 9):
        oncall.escalate(t0 + timedelta(minutes=minutes))
    webhook = Delivery.objects.filter(channel="webhook", step=0)
    assert webhook.count() == 2
    assert AlertLog.objects.filter(what="gave_up").count() == 1


def test_a_silent_machine_raises_offline_then_back_to_the_same_people(
    kiosk: Kiosk, smtp: Mailbox
) -> None:
    setup_site(kiosk, None)
    now = timezone.now()
    Machine.objects.filter(pk=kiosk.machine.pk).update(last_contact=now - timedelta(minutes=31))
    oncall.escalate(now)
    offline = Alert.objects.get(kind="machine_offline")
    told = {rcpt[0] for rcpt, _, _ in smtp.messages}
    assert told  # the site staff on duty now, or the next step at once
    oncall.escalate(now)  # once only
    assert Alert.objects.filter(kind="machine_offline").count() == 1

    assert kiosk.push([]).status_code == 200  # it syncs again
    later = timezone.now()
    oncall.escalate(later)
    offline.refresh_from_db()
    assert offline.resolved_at is not None
    assert offline.escalation == Alert.Escalation.STOPPED
    back = [(rcpt[0], m) for rcpt, m, _ in smtp.messages if "Machine back" in str(m["Subject"])]
    assert {r for r, _ in back} == told
    assert AlertLog.objects.filter(alert=offline, what="back").exists()


def test_a_machine_that_stays_in_contact_is_never_offline(kiosk: Kiosk, smtp: Mailbox) -> None:
    setup_site(kiosk, None)
    now = timezone.now()
    Machine.objects.filter(pk=kiosk.machine.pk).update(last_contact=now - timedelta(minutes=29))
    oncall.escalate(now)
    assert not Alert.objects.filter(kind="machine_offline").exists()


def test_alert_resolved_on_the_kiosk_resolves_on_the_hub_and_stops_escalation(
    kiosk: Kiosk, smtp: Mailbox
) -> None:
    setup_site(kiosk, None)
    push_door(kiosk, 1, alert_id=9)
    t0 = last_three_am(kiosk.machine.site.timezone)
    oncall.escalate(t0)
    assert len(smtp.messages) == 1
    resolved = {"actor": "system", "subject": "alert:9", "kind": "door", "note": "closed"}
    assert kiosk.push([event(2, "alert.resolved", resolved)]).status_code == 200
    alert = Alert.objects.get(kiosk_alert_id=9)
    assert alert.resolved_at is not None and alert.escalation == Alert.Escalation.STOPPED
    oncall.escalate(t0 + timedelta(hours=2))
    assert len(smtp.messages) == 1


def test_raised_and_resolved_in_one_push_never_escalates(kiosk: Kiosk, smtp: Mailbox) -> None:
    setup_site(kiosk, None)
    raised = {"subject": "lane:2", "kind": "lane_jammed", "message": "x", "alert_id": 4}
    resolved = {"subject": "alert:4", "kind": "lane_jammed"}
    response = kiosk.push([event(1, "alert.raised", raised), event(2, "alert.resolved", resolved)])
    assert response.status_code == 200
    oncall.escalate(last_three_am(kiosk.machine.site.timezone))
    assert smtp.messages == []


def test_nobody_on_duty_passes_to_the_next_step_at_once(kiosk: Kiosk, smtp: Mailbox) -> None:
    people = setup_site(kiosk, None)
    people["night_staff"].active = False
    people["night_staff"].save()
    push_door(kiosk, 1, alert_id=5)
    oncall.escalate(last_three_am(kiosk.machine.site.timezone))
    assert [m[0] for m in smtp.messages] == [["maria@example.org"]]


def test_two_engines_at_once_send_each_message_once(kiosk: Kiosk, smtp: Mailbox) -> None:
    """skip_locked: a second pass over the same moment finds nothing left to do."""
    setup_site(kiosk, None)
    push_door(kiosk, 1, alert_id=6)
    t0 = last_three_am(kiosk.machine.site.timezone)
    oncall.escalate(t0)
    oncall.escalate(t0)
    assert len(smtp.messages) == 1
    assert Delivery.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_message_is_sent_without_its_row_locked_and_two_engines_send_it_once(
    kiosk: Kiosk,
) -> None:
    """The engine claims a delivery in a short transaction and sends outside it: while the
    mail server takes its time the row is free (a second engine neither waits nor sends)."""
    gate = threading.Event()
    with smtp_server(hold=gate) as (mailbox, port):
        site = kiosk.machine.site
        OnCallContact(site=site, name="Sam Nightly", role="site_staff",
                      email="sam@example.org", hours="always").save()  # fmt: skip
        push_door(kiosk, 1, alert_id=9)
        t0 = timezone.now()
        with override_settings(
            EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
            EMAIL_HOST="127.0.0.1",
            EMAIL_PORT=port,
        ):
            first = threading.Thread(target=_engine, args=(t0,))
            first.start()
            try:
                assert mailbox.wait_for_arriving(1)  # the first engine is mid-send
                with transaction.atomic():
                    row = Delivery.objects.select_for_update(nowait=True).get()
                    assert row.status == Delivery.Status.SENDING
                    assert row.lease_until == t0 + oncall.lease()
                oncall.escalate(t0)  # a second engine at the same moment: nothing to do
            finally:
                gate.set()
                first.join(timeout=20)
        assert mailbox.wait_for(1)
        assert [m[0] for m in mailbox.messages] == [["sam@example.org"]]
        row = Delivery.objects.get()
        assert (row.status, row.lease_until) == (Delivery.Status.SENT, None)
        assert AlertLog.objects.filter(what="sent").count() == 1


def _engine(at: datetime) -> None:
    try:
        oncall.escalate(at)
    finally:
        connection.close()  # this thread's own connection


def test_a_send_cut_short_by_a_crash_is_sent_again_after_its_lease_only(
    kiosk: Kiosk, smtp: Mailbox
) -> None:
    """An engine that died mid-send leaves the delivery SENDING: nobody sends it while its
    lease lasts; then the next pass does, once (at least once, never lost)."""
    people = setup_site(kiosk, None)
    push_door(kiosk, 1, alert_id=4)
    alert = Alert.objects.get(kiosk_alert_id=4)
    t0 = last_three_am(kiosk.machine.site.timezone)
    alert.escalation = Alert.Escalation.DONE  # only the crashed delivery is in play
    alert.save(update_fields=["escalation"])
    crashed = Delivery.objects.create(
        alert=alert, step=0, recipient=people["night_staff"], channel="email", due_at=t0,
        status=Delivery.Status.SENDING, lease_until=t0 + oncall.lease(), at=t0,
    )  # fmt: skip
    oncall.escalate(t0 + oncall.lease() - timedelta(seconds=1))
    assert smtp.messages == []
    oncall.escalate(t0 + oncall.lease())
    oncall.escalate(t0 + oncall.lease() + timedelta(minutes=5))
    assert [m[0] for m in smtp.messages] == [["sam@example.org"]]
    crashed.refresh_from_db()
    assert crashed.status == Delivery.Status.SENT


def test_a_snapshot_carries_who_was_told_and_who_acknowledged(
    kiosk: Kiosk, smtp: Mailbox, client: Client
) -> None:
    """A kiosk that gets a full snapshot (its cursor trimmed away) keeps its notices: the
    snapshot lists every alert_notice of its machine, as the change log had it."""
    setup_site(kiosk, None)
    push_door(kiosk, 1, alert_id=11)
    alert = Alert.objects.get(kiosk_alert_id=11)
    t0 = last_three_am(kiosk.machine.site.timezone)
    oncall.escalate(t0)
    oncall.acknowledge(alert, t0 + timedelta(minutes=2), role="site_staff", via="kiosk staff:1")
    _, changes, _ = kiosk.pull_all(0)
    logged = [c["data"] for c in changes if c["kind"] == "alert_notice"][-1]
    quiet = Alert.objects.create(machine=kiosk.machine, kind="kiosk:door", kiosk_alert_id=12)

    ChangeLog.objects.update(at=timezone.now() - timedelta(days=400))
    changelog.trim(days=90)
    page = kiosk.pull(1).json()

    assert page["snapshot"] is True
    notices = {c["key"]: c["data"] for c in page["changes"] if c["kind"] == "alert_notice"}
    assert notices == {str(alert.pk): logged}  # nobody was told of the other one
    assert str(quiet.pk) not in notices
    assert logged["acknowledged"]["role"] == "site_staff"
    assert [t["label"] for t in logged["told"]] == ["Sam N."]


def test_the_engine_never_posts_to_a_plain_http_url_set_behind_the_forms_back(
    kiosk: Kiosk, smtp: Mailbox
) -> None:
    """A URL saved before the https rule (or not through the form) is refused at sending:
    the attempt fails without a connection, recorded, and the e-mail still goes."""
    setup_site(kiosk, "http://gw.example.org/hook")
    push_door(kiosk, 1, alert_id=13)
    oncall.escalate(last_three_am(kiosk.machine.site.timezone))
    webhook = Delivery.objects.get(channel="webhook", attempt=1)
    assert (webhook.status, webhook.error) == (Delivery.Status.FAILED, "ValueError")
    assert [m[0] for m in smtp.messages] == [["sam@example.org"]]


def test_run_escalations_at_another_moment_only_where_allowed(
    kiosk: Kiosk, smtp: Mailbox, settings: Any
) -> None:
    """``--at`` (the end-to-end tests' compressed clock, drills) is refused unless the hub
    allows it: in production a pass in the future would escalate early."""
    setup_site(kiosk, None)
    push_door(kiosk, 1, alert_id=14)
    at = last_three_am(kiosk.machine.site.timezone).isoformat()
    settings.HUB_ALLOW_CLOCK_OVERRIDE = False
    with pytest.raises(CommandError, match="HUB_ALLOW_CLOCK_OVERRIDE"):
        call_command("run_escalations", "--once", "--at", at, stdout=StringIO())
    assert smtp.messages == []
    settings.HUB_ALLOW_CLOCK_OVERRIDE = True
    with pytest.raises(CommandError, match="offset"):
        call_command("run_escalations", "--once", "--at", "2026-06-11T03:00", stdout=StringIO())
    call_command("run_escalations", "--once", "--at", at, stdout=StringIO())
    assert [m[0] for m in smtp.messages] == [["sam@example.org"]]  # 03:00: the night staff
