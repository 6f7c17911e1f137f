"""hello_world's domain logic, shared by its views, command, cron task and hooks."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, text

from builtin_plugins.hello_world.models import Greeting
from kernel import call_hook, db, record_audit, settings_for
from kernel import now as utcnow

MAX_LENGTH = 200


class GreetingError(ValueError):
    """Input a user can fix; shown as is."""


def setting(key: str):
    return settings_for("hello_world")[key]


def greeting_line() -> str:
    return f"{setting('greeting')} from hello_world"


def add_greeting(text_: str, by: str = "") -> Greeting:
    text_ = (text_ or "").strip()
    if not text_:
        raise GreetingError("say something: the greeting is empty")
    if len(text_) > MAX_LENGTH:
        raise GreetingError(f"keep it under {MAX_LENGTH} characters")
    greeting = Greeting(text=f"{setting('greeting')}, {text_}", by=by)
    db.session.add(greeting)
    db.session.commit()
    call_hook("hello_world_greeted", greeting=greeting)
    return greeting


def recent(limit: int = 20) -> list[Greeting]:
    return list(db.session.scalars(db.select(Greeting).order_by(Greeting.id.desc()).limit(limit)))


def greeted_by(by: str) -> bool:
    return db.session.scalar(db.select(Greeting.id).where(Greeting.by == by).limit(1)) is not None


def count_greetings() -> int:
    return db.session.scalar(db.select(func.count(Greeting.id))) or 0


def tidy() -> int:
    """Delete greetings older than ``keep_days`` (0 keeps all); return how many went."""
    days = setting("keep_days")
    if not days:
        return 0
    cutoff = utcnow() - timedelta(days=days)
    result = db.session.execute(db.delete(Greeting).where(Greeting.created_at < cutoff))
    db.session.commit()
    return result.rowcount


def health() -> str | None:
    db.session.execute(text("SELECT count(*) FROM hello_world_greeting"))
    return None


def note_lifecycle(event: str, name: str) -> None:
    record_audit(f"hello_world.saw_plugin_{event}", name)


def note_login(user) -> None:
    record_audit("hello_world.welcome_back", user.email, actor=user.email)


def registration_refusal(email: str) -> str | None:
    blocked = {
        d.strip().lower() for d in (setting("blocked_domains") or "").split(",") if d.strip()
    }
    domain = email.rsplit("@", 1)[-1].lower()
    if domain in blocked:
        return f"registrations from {domain} are not accepted here"
    return None


def note_payment(payment) -> None:
    record_audit("hello_world.thanks_for_paying", str(payment.id))


def note_refund(payment, amount: int, kind: str) -> None:
    record_audit("hello_world.saw_refund", str(payment.id), {"amount": amount, "kind": kind})


def note_wallet(user, entry) -> None:
    record_audit(
        "hello_world.saw_wallet_change", user.email, {"amount": entry.amount, "kind": entry.kind}
    )


def credit_refusal(amount: int) -> str | None:
    cap = setting("max_credit")
    if cap and amount > cap:
        return f"hello_world refuses credits above {cap} minor units"
    return None


def topup_refusal(amount: int) -> str | None:
    floor = setting("min_topup")
    if floor and amount < floor:
        return f"hello_world refuses top-ups below {floor} minor units"
    return None


def note_profile(user, changes: dict) -> None:
    record_audit("hello_world.saw_profile_update", user.email, {"fields": sorted(changes)})


def note_password_change(user) -> None:
    record_audit("hello_world.saw_password_change", user.email)


def greetings_by(user) -> list[dict]:
    """personal_data: the greetings ``user`` wrote (and the one made when they registered)."""
    rows = db.session.scalars(
        db.select(Greeting).where(Greeting.by == user.email).order_by(Greeting.id)
    )
    return [{"text": g.text, "created_at": g.created_at} for g in rows]


def erase_greetings_by(user) -> int:
    """erase_personal_data: delete them (run again, it finds nothing more)."""
    result = db.session.execute(db.delete(Greeting).where(Greeting.by == user.email))
    db.session.commit()
    return result.rowcount
