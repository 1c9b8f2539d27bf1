"""Notices (issue 17 item 3): staff's messages for one participant (after their scan, until
they press OK) or for the site (at idle), written per language or in one language only.
Touch only: the on-screen keyboard types the text; dates come from a calendar."""

from __future__ import annotations

from datetime import timedelta

from PySide6.QtCore import QDate
from PySide6.QtWidgets import (
    QComboBox,
    QDateEdit,
    QFormLayout,
    QGridLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
)

from kiosk.domain.notices import Notice, NoticeOrigin, NoticeScope
from kiosk.domain.permissions import Permission
from kiosk.i18n import PARTICIPANT_LOCALES, _, language_name
from kiosk.services.notices import NoticeDraft
from kiosk.ui.admin.context import AdminContext
from kiosk.ui.admin.pages.base import AdminPage
from kiosk.ui.admin.pages.widgets import FlowLayout, fill, picked_day, table

DEFAULT_DAYS = 7


def _date_edit(days_ahead: int, ctx: AdminContext) -> QDateEdit:
    day = ctx.clock.now().date() + timedelta(days=days_ahead)
    edit = QDateEdit(QDate(day.year, day.month, day.day))
    edit.setCalendarPopup(True)
    return edit


class NoticesPage(AdminPage):
    key = "notices"
    order = 35
    permission = Permission.MANAGE_NOTICES

    @classmethod
    def available(cls, ctx: AdminContext) -> bool:
        return ctx.services.notices is not None and super().available(ctx)

    def __init__(self, ctx: AdminContext) -> None:
        super().__init__(ctx)
        self.table = table(
            [_("For"), _("Days"), _("Languages"), _("Set at"), _("Text")],
            stretch=4,
            optional=(3, 2),
        )
        self.who = QComboBox()
        self.who.setAccessibleName(_("For"))
        self.starts = _date_edit(0, ctx)
        self.ends = _date_edit(DEFAULT_DAYS, ctx)
        self.language = QComboBox()
        self.language.addItem(_("Each language as written"), None)
        for locale in PARTICIPANT_LOCALES:
            self.language.addItem(
                _("{language} only").format(language=language_name(locale)), locale
            )
        self.texts: dict[str, QLineEdit] = {}
        # Two settings a row, so the page and its Save button fit a landscape screen.
        settings = QGridLayout()
        for row, pairs in enumerate(
            (
                ((_("For"), self.who), (_("Language"), self.language)),
                ((_("First day"), self.starts), (_("Last day"), self.ends)),
            )
        ):
            for column, (label, widget) in enumerate(pairs):
                settings.addWidget(QLabel(label), row, 2 * column)
                settings.addWidget(widget, row, 2 * column + 1)
        settings.setColumnStretch(1, 1)
        settings.setColumnStretch(3, 1)
        form = QFormLayout()
        for locale in PARTICIPANT_LOCALES:
            field = QLineEdit()
            field.setMaxLength(500)
            field.setAccessibleName(language_name(locale))
            self.texts[locale] = field
            form.addRow(language_name(locale), field)
        save = QPushButton(_("Save notice"))
        save.clicked.connect(lambda _checked=False: self.save())
        withdraw = QPushButton(_("Withdraw selected"))
        withdraw.clicked.connect(lambda _checked=False: self.withdraw())
        buttons = FlowLayout()
        buttons.addWidget(save)
        buttons.addWidget(withdraw)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addLayout(settings)
        layout.addLayout(form)
        layout.addLayout(buttons)
        self.rows: list[Notice] = []

    @property
    def title(self) -> str:
        return _("Notices")

    def activated(self) -> None:
        service, session = self.ctx.services.notices, self.ctx.session
        assert service is not None

        def read() -> tuple[list[Notice], list[str]]:
            return service.live(session), service.participant_codes()

        self.ctx.run(read, self._show)

    def _show(self, found: tuple[list[Notice], list[str]]) -> None:
        notices, codes = found
        chosen = self.who.currentData()
        self.who.clear()
        self.who.addItem(_("The whole site (at idle)"), None)
        for code in codes:
            self.who.addItem(_("Participant {code}").format(code=code), code)
        if chosen in codes:
            self.who.setCurrentIndex(codes.index(chosen) + 1)
        self.rows = notices
        fill(self.table, [self._row(n) for n in notices])

    def _row(self, notice: Notice) -> tuple[str, ...]:
        who = notice.participant_code or _("Whole site")
        days = f"{notice.starts_on.isoformat()} – {notice.ends_on.isoformat()}"
        if notice.one_language:
            languages = _("{language} only").format(language=language_name(notice.one_language))
        else:
            languages = ", ".join(language_name(k) for k in sorted(notice.texts))
        made = _("here") if notice.origin is NoticeOrigin.KIOSK else _("the hub")
        text, _language = notice.text_for(None)
        return who, days, languages, made, text

    def save(self) -> None:
        service, session = self.ctx.services.notices, self.ctx.session
        assert service is not None
        code = self.who.currentData()
        draft = NoticeDraft(
            scope=NoticeScope.SITE if code is None else NoticeScope.PARTICIPANT,
            participant_code=code,
            starts_on=picked_day(self.starts),
            ends_on=picked_day(self.ends),
            texts={k: f.text() for k, f in self.texts.items()},
            one_language=self.language.currentData(),
        )

        def done(_notice: Notice) -> None:
            for field in self.texts.values():
                field.clear()
            self.ctx.show_message(_("Notice saved."), False)
            self.activated()

        self.ctx.run(lambda: service.create(session, draft), done)

    def withdraw(self) -> None:
        service, session = self.ctx.services.notices, self.ctx.session
        assert service is not None
        row = self.table.currentRow()
        if not 0 <= row < len(self.rows):
            self.ctx.show_message(_("Select a notice first."), True)
            return
        notice = self.rows[row]

        def done(_none: None) -> None:
            self.ctx.show_message(_("Notice withdrawn."), False)
            self.activated()

        self.ctx.run(lambda: service.withdraw(session, notice.uuid), done)
