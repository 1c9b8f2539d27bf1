"""Participants: search, today's decision in staff words, prescriptions, holds, enrolment."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from PySide6.QtGui import QIcon
from PySide6.QtWidgets import (
    QComboBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from kiosk.domain.assisted_id import Picture
from kiosk.domain.model import Medication, Prescription
from kiosk.domain.permissions import Permission
from kiosk.domain.remote_approval import (
    ApprovalAction,
    ask_instead,
    hold_subject,
    release_askable,
)
from kiosk.domain.schedule import dosing_day
from kiosk.i18n import PARTICIPANT_LOCALES, _, language_name
from kiosk.services.decide import DecisionView
from kiosk.services.explain import explain_text, hold_reason_text, status_text
from kiosk.services.participants import ParticipantSummary
from kiosk.ui.admin.context import AdminContext
from kiosk.ui.admin.pages.base import AdminPage
from kiosk.ui.admin.pages.prescription_form import PrescriptionForm
from kiosk.ui.admin.pages.widgets import AdaptiveBox, FlowLayout, fill, table
from kiosk.ui.admin.wording import PICTURES, participant_status_text, picture_text
from kiosk.ui.pictures import picture_path


def picture_picker() -> QComboBox:
    """The confirmation pictures, each with its drawing, for a participant to choose."""
    picker = QComboBox()
    picker.setAccessibleName(_("Confirmation picture"))
    for picture in PICTURES:
        path = picture_path(picture)
        picker.addItem(
            QIcon(str(path)) if path is not None else QIcon(), picture_text(picture), picture
        )
    return picker


class ParticipantsPage(AdminPage):
    key = "participants"
    order = 20
    permission = Permission.VIEW_LOGS

    def __init__(self, ctx: AdminContext) -> None:
        super().__init__(ctx)
        self.search = QLineEdit()
        self.search.setPlaceholderText(_("Search by id or name"))
        self.search.returnPressed.connect(self.activated)
        find = QPushButton(_("Search"))
        find.clicked.connect(lambda _checked=False: self.activated())
        self.results = table(
            [_("Id"), _("Name"), _("Status"), _("Fingers")], stretch=1, optional=(2, 3)
        )
        self.results.itemSelectionChanged.connect(self._select)
        left = QVBoxLayout()
        row = QHBoxLayout()
        row.addWidget(self.search, 1)
        row.addWidget(find)
        left.addLayout(row)
        left.addWidget(self.results, 1)
        self.new_code = QLineEdit()
        self.new_code.setPlaceholderText(_("Id (empty: next free)"))
        self.new_name = QLineEdit()
        self.new_name.setPlaceholderText(_("Name"))
        self.new_language = QComboBox()
        for locale in PARTICIPANT_LOCALES:
            self.new_language.addItem(language_name(locale), locale)
        create = QPushButton(_("Add participant"))
        create.clicked.connect(lambda _checked=False: self.create_participant())
        # Folded away until asked for, so the selected participant's actions stay on screen.
        self.new_box = QGroupBox()
        new_layout = QVBoxLayout(self.new_box)
        for widget in (self.new_code, self.new_name, self.new_language, create):
            new_layout.addWidget(widget)
        self.new_box.hide()
        self.new_toggle = QPushButton(_("New participant"))
        self.new_toggle.setCheckable(True)
        self.new_toggle.toggled.connect(self.new_box.setVisible)
        left.addWidget(self.new_toggle)
        left.addWidget(self.new_box)

        self.heading = QLabel(_("Select a participant."))
        self.explanation = QPlainTextEdit()
        self.explanation.setReadOnly(True)
        self.prescriptions = table(
            [_("#"), _("Medication"), _("Schedule"), _("Status")], stretch=2, optional=(0,)
        )
        self.language = QComboBox()
        self.language.addItem(_("Kiosk's language"), None)  # no language stored
        for locale in PARTICIPANT_LOCALES:
            self.language.addItem(language_name(locale), locale)
        self.picture = picture_picker()
        self.reason = QLineEdit()
        self.reason.setPlaceholderText(_("Reason (for holds, releases, removal)"))
        actions = FlowLayout()
        self.buttons: dict[str, QPushButton] = {}
        for key, label, handler in (
            ("add", _("Add prescription"), self.add_prescription),
            ("change", _("Change selected"), self.change_prescription),
            ("end", _("End selected"), self.end_prescription),
            ("hold", _("Hold all"), self.hold),
            ("release", _("Release selected"), self.release),
            ("ask", _("Ask the on-call clinician to release"), self.ask_release),
            ("language", _("Set language"), self.set_language),
            ("picture", _("Set picture"), self.set_picture),
            ("enroll", _("Enroll a finger"), self.enroll),
            ("remove", _("Remove participant"), self.remove),
        ):
            button = QPushButton(label)
            button.clicked.connect(lambda _checked=False, h=handler: h())
            self.buttons[key] = button
        for key in ("add", "change", "end", "hold", "release", "ask"):
            actions.addWidget(self.buttons[key])
        # A role that may not release a hold asks the on-call clinician instead, for a
        # selected prescription on a missed-dose hold (kiosk with a hub only).
        self._may_ask = ctx.services.approvals is not None and ask_instead(
            ctx.session.role, ApprovalAction.RELEASE_HOLD
        )
        self.buttons["ask"].setVisible(False)
        self.prescriptions.itemSelectionChanged.connect(self._offer_ask)
        more = FlowLayout()
        more.addWidget(self.language)
        more.addWidget(self.buttons["language"])
        # The picture the participant chooses: shown when staff identify them by code.
        more.addWidget(self.picture)
        for key in ("picture", "enroll", "remove"):
            more.addWidget(self.buttons[key])
        self.editor = QGroupBox(_("Prescription"))
        editor_layout = QVBoxLayout(self.editor)
        self.form: PrescriptionForm | None = None
        self.form_holder = QVBoxLayout()
        editor_layout.addLayout(self.form_holder)
        save = QPushButton(_("Save prescription"))
        save.clicked.connect(lambda _checked=False: self.save_prescription())
        cancel = QPushButton(_("Cancel"))
        cancel.clicked.connect(lambda _checked=False: self.editor.hide())
        editor_buttons = QHBoxLayout()
        editor_buttons.addWidget(save)
        editor_buttons.addWidget(cancel)
        editor_layout.addLayout(editor_buttons)
        self.editor.hide()
        self.enrollment: QWidget | None = None

        right = QVBoxLayout()
        right.addWidget(self.heading)
        right.addWidget(self.explanation, 2)
        right.addWidget(self.prescriptions, 1)
        right.addWidget(self.reason)
        right.addLayout(actions)
        right.addLayout(more)
        right.addWidget(self.editor)
        self.right = right
        layout = AdaptiveBox(self)
        layout.addLayout(left, 2)
        layout.addLayout(right, 3)
        self._participants: list[ParticipantSummary] = []
        self._prescriptions: list[Prescription] = []
        self._editing: int | None = None
        self.current: ParticipantSummary | None = None

    @property
    def title(self) -> str:
        return _("Participants")

    # ------------------------------------------------------------ list and detail

    def activated(self) -> None:
        text = self.search.text().strip()
        service, session = self.ctx.services.participants, self.ctx.session
        self.ctx.run(lambda: service.search(session, text), self._show_results)

    def _show_results(self, rows: list[ParticipantSummary]) -> None:
        self._participants = rows
        fill(
            self.results,
            [(p.code, p.display_name, participant_status_text(p.status), p.fingers) for p in rows],
        )

    def create_participant(self) -> None:
        service, session = self.ctx.services.participants, self.ctx.session
        code = self.new_code.text().strip() or None
        name, locale = self.new_name.text(), self.new_language.currentData()

        def created(_participant_id: object) -> None:
            self.new_code.clear()
            self.new_name.clear()
            self.ctx.show_message(_("Participant added. Now enroll two fingers."), False)
            self.search.setText(code or "")
            self.activated()

        self.ctx.run(lambda: service.create(session, code, name, locale), created)

    def _select(self) -> None:
        row = self.results.currentRow()
        if 0 <= row < len(self._participants):
            self.current = self._participants[row]
            self.refresh()

    def refresh(self) -> None:
        if self.current is None:
            return
        pid = self.current.id
        decider = self.ctx.services.interaction.decider
        now = self.ctx.clock.now()
        status = participant_status_text(self.current.status)
        self.heading.setText(f"{self.current.code}  {self.current.display_name}  ({status})")
        # The picker shows the language stored for this participant (or the kiosk's own).
        self.language.setCurrentIndex(max(0, self.language.findData(self.current.language)))
        service, session = self.ctx.services.participants, self.ctx.session
        self.ctx.run(lambda: service.picture(session, pid), self._show_picture)
        self.ctx.run(lambda: decider.decide(pid, at=now), self._show_decision)

    def _show_picture(self, picture: Picture) -> None:
        self.picture.setCurrentIndex(max(0, self.picture.findData(picture)))

    def _show_decision(self, view: DecisionView) -> None:
        self.explanation.setPlainText(explain_text(view, self.ctx.site))
        self._prescriptions = [rx for rx, _decision in view.decisions]
        fill(
            self.prescriptions,
            [
                (
                    rx.id,
                    f"{rx.medication.name} {rx.medication.strength}",
                    _("every {hours} h").format(hours=(rx.interval_minutes or 0) // 60)
                    if rx.is_interval
                    else ", ".join(f"{w.start:%H:%M}-{w.end:%H:%M}" for w in rx.windows),
                    status_text(rx.status)
                    + (f": {hold_reason_text(rx.hold_reason)}" if rx.hold_reason else ""),
                )
                for rx in self._prescriptions
            ],
        )
        self._offer_ask()

    def _offer_ask(self) -> None:
        row = self.prescriptions.currentRow()
        selected = self._prescriptions[row] if 0 <= row < len(self._prescriptions) else None
        self.buttons["ask"].setVisible(
            self._may_ask and selected is not None and release_askable(selected)
        )

    def _selected_prescription(self) -> Prescription | None:
        row = self.prescriptions.currentRow()
        if self.current is None or not 0 <= row < len(self._prescriptions):
            self.ctx.show_message(_("Select a prescription first."), True)
            return None
        return self._prescriptions[row]

    def _done(self, message: str) -> Callable[[object], None]:
        def finished(_result: object) -> None:
            self.ctx.show_message(message, False)
            self.refresh()

        return finished

    # ------------------------------------------------------------ prescriptions

    def _open_editor(self, editing: Prescription | None) -> None:
        medications = self.ctx.services.prescriptions.medications

        def show(meds: list[Medication]) -> None:
            if self.form is not None:
                self.form.setParent(None)
            today = dosing_day(self.ctx.clock.now(), self.ctx.site)
            self.form = PrescriptionForm(meds, today)
            if editing is not None:
                self.form.load(editing)
            self.form_holder.addWidget(self.form)
            self._editing = editing.id if editing is not None else None
            self.editor.show()

        self.ctx.run(medications, show)

    def add_prescription(self) -> None:
        if self.current is None:
            self.ctx.show_message(_("Select a participant first."), True)
            return
        self._open_editor(None)

    def change_prescription(self) -> None:
        rx = self._selected_prescription()
        if rx is not None:
            self._open_editor(rx)

    def save_prescription(self) -> None:
        if self.form is None or self.current is None:
            return
        service, session = self.ctx.services.prescriptions, self.ctx.session
        reason = self.form.reason.text()
        pid, editing = self.current.id, self._editing
        try:
            spec = self.form.spec()
        except Exception as exc:
            self.ctx.report_error(exc)
            return

        def save() -> None:
            if editing is None:
                service.add(session, pid, spec, reason)
            else:
                service.change(session, editing, spec, reason)

        def saved(_result: object) -> None:
            self.editor.hide()
            self.ctx.show_message(_("Prescription saved."), False)
            self.refresh()

        self.ctx.run(save, saved)

    def end_prescription(self) -> None:
        rx = self._selected_prescription()
        if rx is None:
            return
        service, session, reason = (
            self.ctx.services.prescriptions,
            self.ctx.session,
            self.reason.text(),
        )
        self.ctx.run(
            lambda: service.end(session, rx.id, None, reason), self._done(_("Prescription ended."))
        )

    # ------------------------------------------------------------ holds, language, removal

    def hold(self) -> None:
        if self.current is None:
            return
        service, session, reason = (
            self.ctx.services.participants,
            self.ctx.session,
            self.reason.text(),
        )
        pid = self.current.id

        def held(ids: list[int]) -> None:
            self.ctx.show_message(
                _("On hold: {count} prescriptions.").format(count=len(ids))
                if ids
                else _("Nothing to hold: no active prescription."),
                not ids,
            )
            self.refresh()

        self.ctx.run(lambda: service.hold(session, pid, reason), held)

    def release(self) -> None:
        rx = self._selected_prescription()
        if rx is None:
            return
        service, session, reason = (
            self.ctx.services.participants,
            self.ctx.session,
            self.reason.text(),
        )
        self.ctx.run(lambda: service.release(session, rx.id, reason), self._done(_("Released.")))

    def ask_release(self) -> None:
        rx = self._selected_prescription()
        if rx is None:
            return
        subject = hold_subject(rx.hub_id)
        if subject is None:
            self.ctx.show_message(
                _(
                    "This prescription was not sent by the hub, so the on-call clinician "
                    "cannot approve its release from afar. Ask a nurse or pharmacist here."
                ),
                True,
            )
        elif self.ctx.open_page is not None:
            self.ctx.open_page("approval", subject)

    def set_language(self) -> None:
        if self.current is None:
            return
        service, session = self.ctx.services.participants, self.ctx.session
        current = self.current
        locale: str | None = self.language.currentData()

        def saved(_result: None) -> None:
            if self.current is current:
                self.current = replace(current, language=locale)
            self.ctx.show_message(_("Language saved."), False)
            self.refresh()

        self.ctx.run(lambda: service.set_language(session, current.id, locale), saved)

    def set_picture(self) -> None:
        if self.current is None:
            return
        service, session = self.ctx.services.participants, self.ctx.session
        current = self.current
        picture = Picture(self.picture.currentData())

        def saved(_result: None) -> None:
            self.ctx.show_message(_("Picture saved."), False)

        self.ctx.run(lambda: service.set_picture(session, current.id, picture), saved)

    def remove(self) -> None:
        if self.current is None:
            return
        service, session, reason = (
            self.ctx.services.participants,
            self.ctx.session,
            self.reason.text(),
        )
        pid = self.current.id

        def removed(_result: object) -> None:
            self.ctx.show_message(_("Participant removed."), False)
            self.current = None
            self.activated()

        self.ctx.run(lambda: service.remove(session, pid, reason), removed)

    def enroll(self) -> None:
        if self.current is None:
            self.ctx.show_message(_("Select a participant first."), True)
            return
        from kiosk.ui.admin.pages.enrollment import EnrollmentPanel

        if self.enrollment is not None:
            self.enrollment.setParent(None)
        self.enrollment = EnrollmentPanel(self.ctx, self.current, self.refresh)
        self.right.addWidget(self.enrollment)

    def closing(self) -> None:
        if self.enrollment is not None:
            self.enrollment.close()
