from django.apps import AppConfig


class CareConfig(AppConfig):
    name = "care"
    verbose_name = "Care team"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from care import audit

        audit.connect_signals()
