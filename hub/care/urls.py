"""The care team's pages, at the root of the hub (hubsite/urls.py includes them)."""

from django.urls import path

from care import views
from care.pages import fleet

app_name = "care"

urlpatterns = [
    path("", views.SignIn.as_view(), name="sign-in"),
    path("sign-out/", views.SignOut.as_view(), name="sign-out"),
    path("home/", views.home, name="home"),
    path("participants/", views.participants, name="participants"),
    path("prescriptions/", views.prescriptions, name="prescriptions"),
    path("prescriptions/new/", views.new_prescription, name="prescription-new"),
    path("verify/", views.verify, name="verify"),
    path("reviews/", views.reviews, name="reviews"),
    path("transfers/", views.transfers, name="transfers"),
    path("fleet/", fleet.fleet, name="fleet"),
    path("fleet/<int:machine_id>/", fleet.machine, name="fleet-machine"),
    path("reports/", views.reports, name="reports"),
]
