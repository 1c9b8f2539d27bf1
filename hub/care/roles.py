"""The care team's roles. A user holds them per site through ``care.models.Membership``; what
each role may do is declared once, in ``care.permissions.PERMISSIONS``."""

from __future__ import annotations

from django.db import models


class Role(models.TextChoices):
    # Declared in start-page priority: a user with several roles starts at the first one's page.
    PRESCRIBER = "prescriber", "Prescriber"
    PHARMACIST = "pharmacist", "Pharmacist"
    NURSE = "nurse", "Nurse"
    PROGRAM_MANAGER = "program_manager", "Program manager"
    VIEWER = "viewer", "Viewer"
