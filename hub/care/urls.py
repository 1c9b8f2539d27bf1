"""The care team's pages, at the root of the hub (hubsite/urls.py includes them)."""

from django.urls import path

from care import views
from care.pages import queues, reports, transfers

app_name = "care"

urlpatterns = [
    path("", views.SignIn.as_view(), name="sign-in"),
    path("sign-out/", views.SignOut.as_view(), name="sign-out"),
    path("home/", views.home, name="home"),
    path("participants/", views.participants, name="participants"),
    path("prescriptions/", views.prescriptions, name="prescriptions"),
    path("prescriptions/new/", views.new_prescription, name="prescription-new"),
    path("verify/", views.verify, name="verify"),
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
    path("fleet/", views.fleet, name="fleet"),
    path("reports/", reports.index, name="reports"),
    path("reports/reconciliation/", reports.reconciliation, name="report-reconciliation"),
    path("reports/register/", reports.register, name="report-register"),
    path("reports/dispenses/", reports.dispense_log, name="report-dispenses"),
    path("reports/fhir/", reports.fhir_export, name="report-fhir"),
]
