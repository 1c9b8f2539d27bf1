"""The care team's pages, at the root of the hub (hubsite/urls.py includes them)."""

from django.urls import path

from care import views
from care.pages import participants, prescriptions

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
    path("reviews/", views.reviews, name="reviews"),
    path("transfers/", views.transfers, name="transfers"),
    path("fleet/", views.fleet, name="fleet"),
    path("reports/", views.reports, name="reports"),
]
