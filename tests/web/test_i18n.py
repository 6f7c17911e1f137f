"""Translations (docs/i18n.md): Polish client shell, English by default, catalogs up to date."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po

from kernel.testing import login
from tests.helpers import PASSWORD, make_user, write_plugin

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "kernel" / "translations"
POT = TRANSLATIONS / "messages.pot"
LANGUAGES_SHIPPED = sorted(p.name for p in TRANSLATIONS.iterdir() if (p / "LC_MESSAGES").is_dir())
# The same keywords as `make i18n` (Makefile: I18N_KEYWORDS), on top of Babel's defaults.
KEYWORDS = {"_l": None, "lazy_gettext": None}

# The client shell: every string here must be extracted, and translated into every language.
SHELL_TEMPLATES = ("themes/default/panel/",)
SHELL_PYTHON = ("kernel/web/", "kernel/defaults/", "kernel/accounts/", "kernel/web/wallet_views.py")
SHELL = SHELL_TEMPLATES + SHELL_PYTHON

EN = {"Accept-Language": "en"}
PL = {"Accept-Language": "pl"}


def _extract(prefixes) -> dict[str, set[str]]:
    """msgid -> files, from the sources under ``prefixes``, the way ``make i18n`` extracts."""
    with open(ROOT / "babel.cfg", encoding="utf-8") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg, str(ROOT / "babel.cfg"))
    found: dict[str, set[str]] = {}
    for filename, _lineno, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords={**DEFAULT_KEYWORDS, **KEYWORDS}
    ):
        filename = filename.replace("\\", "/")
        if not filename.startswith(tuple(prefixes)):
            continue
        msgid = message[0] if isinstance(message, tuple) else message
        found.setdefault(msgid, set()).add(filename)
    return found


def _msgid(message) -> str:
    """The singular msgid (plural entries have a tuple of ids)."""
    return message.id if isinstance(message.id, str) else message.id[0]


def _is_translated(message) -> bool:
    strings = [message.string] if isinstance(message.string, str) else list(message.string)
    return not message.fuzzy and all(strings)


def _pot_ids() -> set[str]:
    with open(POT, "rb") as f:
        return {_msgid(m) for m in read_po(f) if m.id}


# --- what visitors see --------------------------------------------------------------------


@pytest.fixture
def polish_user(app, client):
    with app.app_context():
        make_user("ola@example.com", name="Ola", language="pl")
    login(client, "ola@example.com", PASSWORD)
    return client


def test_polish_user_sees_the_dashboard_in_polish(polish_user):
    page = polish_user.get("/dashboard", headers=EN).text  # the user's choice beats the browser
    for text in (
        '<html lang="pl"',
        "Witaj, Ola",
        "Pulpit",
        "Portfel",
        "Konto",
        "Saldo",
        "Doładuj",
        "Ostatnia aktywność",
        "Zalogowano",
        "Wyloguj się",
    ):
        assert text in page, text
    for text in ("Welcome, Ola", "Recent activity", "Log out"):
        assert text not in page, text


def test_polish_user_sees_account_and_wallet_in_polish(polish_user):
    account = polish_user.get("/account", headers=EN).text
    for text in (
        "Imię i nazwisko",
        "Język",
        "Taki jak w przeglądarce",
        "Obecne hasło",
        "Uwierzytelnianie dwuskładnikowe",
        "Zmień hasło",
        "a wystawione już faktury w niezmienionej postaci",
    ):
        assert text in account, text
    wallet = polish_user.get("/wallet", headers=EN).text
    assert "Historia salda" in wallet and "Nie ma jeszcze płatności." in wallet
    # A kernel flash message, translated when it is raised.
    saved = polish_user.post(
        "/account/profile",
        data={"name": "Ola", "language": "pl"},
        headers=EN,
        follow_redirects=True,
    )
    assert "Profil został zapisany." in saved.text


def test_accept_language_pl_gives_an_anonymous_visitor_polish(app, client):
    page = client.get("/login", headers=PL).text
    for text in (
        '<html lang="pl"',
        "Zaloguj się",
        "Hasło",
        "Zapamiętaj mnie",
        "Nie pamiętasz hasła?",
        "działa na pteroca",
    ):
        assert text in page, text
    assert "Remember me" not in page
    with app.app_context():
        make_user("user@example.com")
    refused = client.post(
        "/login", data={"email": "user@example.com", "password": "wrong!"}, headers=PL
    )
    assert "Nieprawidłowy adres e-mail lub hasło." in refused.text
    assert "Ta strona nie istnieje." in client.get("/no-such-page", headers=PL).text
    assert "Nie pamiętasz hasła?" in client.get("/forgot-password", headers=PL).text


def test_english_is_the_default(app, client):
    for headers in ({}, {"Accept-Language": "de-DE, fr;q=0.8"}, EN):
        page = client.get("/login", headers=headers).text
        assert '<html lang="en"' in page and "Remember me" in page and "Zaloguj" not in page
    with app.app_context():
        make_user("en@example.com", name="Ed", language="en")
    login(client, "en@example.com", PASSWORD)
    page = client.get("/dashboard", headers=PL).text  # chose English: the browser does not matter
    assert "Welcome, Ed" in page and "Recent activity" in page and "Pulpit" not in page


def test_emails_are_written_in_the_recipients_language(instance, plugins_dir, smtp_server):
    from kernel.testing import build_app

    app = build_app(instance, MAIL_URL=smtp_server.url, BASE_URL="http://panel.test")
    with app.app_context():
        make_user("ola@example.com", name="Ola", language="pl")
    page = app.test_client().post("/forgot-password", data={"email": "ola@example.com"}, headers=EN)
    assert "If an account exists" in page.text  # the page follows the (English) browser
    message = smtp_server.last_to("ola@example.com")
    assert message["Subject"].endswith("Zresetuj hasło")
    body = smtp_server.text(message)
    assert "Dzień dobry, Ola," in body and "hasło pozostanie bez zmian" in body


def test_a_plugin_ships_its_own_catalog(app, client, plugins_dir, cli, fresh):
    from babel.messages.catalog import Catalog

    folder = write_plugin(
        plugins_dir,
        "greeter",
        """
        from flask import Blueprint
        from flask_babel import gettext as _
        from kernel import hookimpl

        bp = Blueprint("greeter", __name__)

        @bp.get("/")
        def index():
            return _("Greetings from the plugin")

        @hookimpl
        def register_blueprints(app):
            return [bp]
    """,
        capabilities=["routes"],
    )
    catalog = Catalog(locale="pl")
    catalog.add("Greetings from the plugin", "Pozdrowienia od wtyczki")
    catalog.add("Log in", "PRZEJĘTE")  # a plugin cannot reword the kernel's strings
    target = folder / "translations" / "pl" / "LC_MESSAGES"
    target.mkdir(parents=True)
    with open(target / "messages.mo", "wb") as f:
        write_mo(f, catalog)
    assert cli("plugin", "enable", "greeter").exit_code == 0
    served = fresh(app).test_client()
    assert served.get("/plugins/greeter/", headers=PL).text == "Pozdrowienia od wtyczki"
    assert served.get("/plugins/greeter/", headers=EN).text == "Greetings from the plugin"
    login_page = served.get("/login", headers=PL).text
    assert "Zaloguj się" in login_page and "PRZEJĘTE" not in login_page


# --- the catalogs ---------------------------------------------------------------------------


def test_languages_on_disk_match_the_selectable_languages():
    from kernel.accounts.models import LANGUAGES

    assert set(LANGUAGES) == {"en", *LANGUAGES_SHIPPED}


@pytest.mark.parametrize("lang", LANGUAGES_SHIPPED)
def test_compiled_catalog_is_up_to_date(lang):
    folder = TRANSLATIONS / lang / "LC_MESSAGES"
    with open(folder / "messages.po", "rb") as f:
        source = read_po(f, locale=lang)
    fresh_mo = io.BytesIO()
    write_mo(fresh_mo, source)  # what `pybabel compile` writes (fuzzy entries left out)
    fresh_mo.seek(0)
    with open(folder / "messages.mo", "rb") as f:
        committed = read_mo(f)
    expected = read_mo(fresh_mo)

    def as_dict(catalog):
        def flat(value):
            return value if isinstance(value, str) else tuple(value)

        return {flat(m.id): flat(m.string) for m in catalog if m.id}

    assert as_dict(committed) == as_dict(expected), (
        f"kernel/translations/{lang}/LC_MESSAGES/messages.mo is stale: run `make i18n`"
    )


def test_every_shell_string_is_in_the_template():
    extracted = _extract(
        SHELL + ("themes/default/landing/", "themes/default/email/", "kernel/templates/errors/")
    )
    missing = {
        msgid: sorted(files) for msgid, files in extracted.items() if msgid not in _pot_ids()
    }
    assert not missing, f"strings not in messages.pot (run `make i18n`): {missing}"


def test_template_strings_are_extracted():
    # Sanity check of the extraction itself: a known string of each kind of source.
    extracted = _extract(SHELL)
    assert "themes/default/panel/login.html" in extracted["Remember me"]
    assert "kernel/web/widgets.py" in extracted["Recent activity"]  # lazy_gettext (_l)
    assert "kernel/defaults/menus.py" in extracted["Dashboard"]


@pytest.mark.parametrize("lang", LANGUAGES_SHIPPED)
def test_every_shell_string_is_translated(lang):
    with open(TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po", "rb") as f:
        catalog = read_po(f, locale=lang)
    shell_ids = set(_extract(SHELL))
    untranslated = sorted(
        _msgid(m) for m in catalog if m.id and _msgid(m) in shell_ids and not _is_translated(m)
    )
    assert not untranslated, f"{lang}: client shell strings without a translation: {untranslated}"
    missing = sorted(shell_ids - {_msgid(m) for m in catalog if m.id})
    assert not missing, f"{lang}: not merged into the .po (run `make i18n`): {missing}"


@pytest.mark.parametrize("lang", LANGUAGES_SHIPPED)
def test_translations_keep_their_placeholders(lang):
    with open(TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po", "rb") as f:
        catalog = read_po(f, locale=lang)
    problems = [(m.id, errors) for m, errors in catalog.check() if not m.fuzzy]
    assert not problems, f"translations that break a %(name)s placeholder: {problems}"
    for message in catalog:
        if message.id and isinstance(message.id, str) and _is_translated(message):
            names = sorted(re.findall(r"%\((\w+)\)", message.id))
            assert sorted(re.findall(r"%\((\w+)\)", message.string)) == names, message.id


# --- tables and pages outside the shell: marked, extracted, translated where customers look ---


def _marked_tables() -> dict[str, list]:
    """Every label of the kernel's module-level tables a page shows, by table."""
    from kernel import site_settings
    from kernel.admin.users import UserCreateForm
    from kernel.rest.scopes import SCOPES
    from kernel.webhooks.services import KERNEL_EVENTS

    form = UserCreateForm
    return {
        "API scopes": [description for description, _perm in SCOPES.values()],
        "site settings": [
            text
            for spec in site_settings.SPECS.values()
            for text in (spec.label, spec.description)
            if text
        ],
        "webhook events": list(KERNEL_EVENTS.values()),
        "admin user form": [field.args[0] for field in (form.email, form.name, form.password)]
        + [form.role.args[0]],
    }


def test_labels_of_scopes_settings_events_and_forms_are_marked_and_extracted():
    from flask_babel import LazyString

    pot = _pot_ids()
    for table, labels in _marked_tables().items():
        assert labels, table
        plain = [str(label) for label in labels if not isinstance(label, LazyString)]
        assert plain == [], f"{table}: not marked for translation"
        missing = [str(label) for label in labels if str(label) not in pot]
        assert missing == [], f"{table}: not in messages.pot (run make i18n)"


# Admin pages whose every visible word goes through _(): after removing Jinja expressions
# and tags and the HTML tags, no word is left.
MARKED_TEMPLATES = (
    "kernel/templates/admin/pteroca/api_tokens.html",
    "kernel/templates/admin/pteroca/webhooks.html",
)


@pytest.mark.parametrize("path", MARKED_TEMPLATES)
def test_every_visible_word_of_the_api_admin_pages_is_marked(path):
    source = (ROOT / path).read_text(encoding="utf-8")
    text = re.sub(r"{{.*?}}|{%.*?%}|<[^>]*>", " ", source, flags=re.S)
    assert re.findall(r"[A-Za-z]{2,}", text) == []
    found = _extract([path])
    assert found and set(found) <= _pot_ids()


def test_a_polish_customer_reads_the_token_scopes_in_polish(app, polish_user, client):
    from kernel.rest.scopes import CUSTOMER_SCOPES, SCOPES

    page = polish_user.get("/account/api-tokens").text
    assert "Odczyt Twojego profilu" in page and "Lista i odczyt Twoich serwerów" in page
    with open(TRANSLATIONS / "pl" / "LC_MESSAGES" / "messages.po", "rb") as f:
        polish = {m.id: m.string for m in read_po(f) if m.id}
    for scope in CUSTOMER_SCOPES:  # every scope a customer can choose has its Polish text
        english = str(SCOPES[scope][0])
        assert polish.get(english), scope
        assert english not in page and polish[english] in page
