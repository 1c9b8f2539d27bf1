"""``manage.py rotate_wrap_key``: re-seal every machine's secret under the current wrap key.

Step 2 of a wrap-key rotation (docs/HUB.md, 'Secrets'): the new key is HUB_SECRET_WRAP_KEY and
the old one is listed in HUB_SECRET_WRAP_KEY_FALLBACKS, so machines keep authenticating
throughout. All machines are re-sealed in one transaction (rows locked): either every secret is
under the new key afterwards, or — a secret no key unseals — none changed. Then drop the
fallback and restart the hub.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from fleet import sealing
from fleet.models import Machine


class Command(BaseCommand):
    help = "Re-seal every machine's secret with HUB_SECRET_WRAP_KEY (old keys as fallbacks)."

    def handle(self, *args: Any, **options: Any) -> None:
        key = settings.HUB_SECRET_WRAP_KEY
        resealed = already = 0
        with transaction.atomic():
            machines = Machine.objects.select_for_update().exclude(secret_sealed="").order_by("pk")
            for machine in machines:
                try:
                    sealing.unseal(machine.secret_sealed, key)
                    already += 1
                    continue
                except sealing.SealError:
                    pass
                try:
                    secret = machine.secret()  # one of the fallbacks
                except sealing.SealError as exc:
                    raise CommandError(
                        f"machine {machine.pk}: its secret unseals with no configured key"
                        " (HUB_SECRET_WRAP_KEY_FALLBACKS must list the old key); nothing changed"
                    ) from exc
                machine.set_secret(secret)
                machine.save(update_fields=["secret_sealed"])
                resealed += 1
        self.stdout.write(
            f"{resealed} machine secret(s) re-sealed, {already} already under the current key;"
            " the old key can now be removed from HUB_SECRET_WRAP_KEY_FALLBACKS"
        )
