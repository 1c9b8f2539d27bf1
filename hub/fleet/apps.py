from django.apps import AppConfig


class FleetConfig(AppConfig):
    name = "fleet"
    verbose_name = "Fleet"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from fleet import changelog, oncall, rollouts

        changelog.connect_signals()
        for source in (rollouts.snapshot_entries, oncall.snapshot_entries):
            if source not in changelog.SNAPSHOT_SOURCES:
                changelog.SNAPSHOT_SOURCES.append(source)
