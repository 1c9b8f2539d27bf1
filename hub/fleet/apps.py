from django.apps import AppConfig


class FleetConfig(AppConfig):
    name = "fleet"
    verbose_name = "Fleet"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from fleet import changelog, oncall

        changelog.connect_signals()
        if oncall.snapshot_entries not in changelog.SNAPSHOT_SOURCES:
            changelog.SNAPSHOT_SOURCES.append(oncall.snapshot_entries)
