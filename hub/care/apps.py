from django.apps import AppConfig


class CareConfig(AppConfig):
    name = "care"
    verbose_name = "Care team"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from fleet import changelog, ingest

        from care import approvals, audit

        audit.connect_signals()
        approvals.connect_signals()
        if approvals.snapshot_entries not in changelog.SNAPSHOT_SOURCES:
            changelog.SNAPSHOT_SOURCES.append(approvals.snapshot_entries)
        if approvals.learn not in ingest.LEARNERS:
            ingest.LEARNERS.append(approvals.learn)
