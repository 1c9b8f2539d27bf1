"""The care team's pages, at the root of the hub (hubsite/urls.py includes them)."""

from django.urls import path

from care import views
from care.pages import (
    approvals,
    fleet,
    oncall,
    participants,
    prescriptions,
    queues,
    reports,
    transfers,
)

app_name = "care"

urlpatterns = [
    path("", views.SignIn.as_view(), name="sign-in"),
    path("sign-out/", views.SignOut.as_view(), name="sign-out"),
    path("home/", views.home, name="home"),
    path("participants/", participants.search, name="participants"),
    path("participants/<int:pk>/", participants.profile, name="participant"),
    path("prescriptions/", prescriptions.start, name="prescriptions"),
    path("prescriptions/new/", prescriptions.new, name="prescription-new"),
    path("prescriptions/<int:pk>/", prescriptions.prescription_page, name="prescription"),
    path("prescriptions/<int:pk>/pause/", prescriptions.pause, name="prescription-pause"),
    path("prescriptions/<int:pk>/resume/", prescriptions.resume, name="prescription-resume"),
    path("prescriptions/<int:pk>/end/", prescriptions.end, name="prescription-end"),
    path("prescriptions/drafts/<int:pk>/", prescriptions.draft_page, name="draft"),
    path("prescriptions/drafts/<int:pk>/send/", prescriptions.draft_submit, name="draft-submit"),
    path("prescriptions/drafts/<int:pk>/verify/", prescriptions.draft_verify, name="draft-verify"),
    path("prescriptions/drafts/<int:pk>/return/", prescriptions.draft_return, name="draft-return"),
    path("verify/", prescriptions.verify_queue, name="verify"),
    path("reviews/", queues.holds, name="reviews"),
    path("reviews/holds/<int:pk>/", queues.decide_hold, name="reviews-hold"),
    path("reviews/absences/", queues.absences, name="reviews-absences"),
    path(
        "reviews/absences/<int:site>/<str:code>/contacted/",
        queues.contacted,
        name="reviews-contacted",
    ),
    path("reviews/stock/", queues.stock, name="reviews-stock"),
    path("reviews/set-aside/", queues.set_aside, name="reviews-set-aside"),
    path("reviews/<str:what>/<int:pk>/reviewed/", queues.reviewed, name="reviews-reviewed"),
    path("transfers/", transfers.start, name="transfers"),
    path("transfers/participant/<int:pk>/", transfers.participant, name="transfer-participant"),
    path("transfers/passes/<int:pk>/cancel/", transfers.cancel, name="guest-pass-cancel"),
    path("fleet/", fleet.fleet, name="fleet"),
    path("fleet/<int:machine_id>/", fleet.machine, name="fleet-machine"),
    path("alerts/", oncall.alerts, name="alerts"),
    path("alerts/<int:pk>/acknowledge/", oncall.alert_acknowledge, name="alert-acknowledge"),
    path("ack/<str:token>/", oncall.ack, name="ack"),
    path("oncall/", oncall.roster_index, name="oncall"),
    path("oncall/<int:site_id>/", oncall.roster_site, name="oncall-site"),
    path("oncall/<int:site_id>/contacts/", oncall.contact_add, name="oncall-contact-add"),
    path(
        "oncall/<int:site_id>/contacts/<int:pk>/remove/",
        oncall.contact_remove,
        name="oncall-contact-remove",
    ),
    path("oncall/<int:site_id>/chains/<str:kind>/", oncall.chain_save, name="oncall-chain"),
    path(
        "oncall/<int:site_id>/chains/<str:kind>/reset/",
        oncall.chain_reset,
        name="oncall-chain-reset",
    ),
    path("oncall/<int:site_id>/settings/", oncall.site_save, name="oncall-settings"),
    path("approvals/", approvals.index, name="approvals"),
    path("approvals/<int:pk>/decide/", approvals.decide, name="approval-decide"),
    path("approvals/phone/", approvals.phone, name="approval-phone"),
    path("reports/", reports.index, name="reports"),
    path("reports/reconciliation/", reports.reconciliation, name="report-reconciliation"),
    path("reports/register/", reports.register, name="report-register"),
    path("reports/dispenses/", reports.dispense_log, name="report-dispenses"),
    path("reports/fhir/", reports.fhir_export, name="report-fhir"),
]
