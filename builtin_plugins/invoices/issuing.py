"""Issuing: a draft becomes a numbered, immutable document in one short transaction.

The slow parts (tax decisions, which may ask a ``tax_rate`` hook, and the lines other plugins
add) happen before the transaction; inside it, only: lock the original (credit notes), take
the next number of the series (:mod:`numbering`), insert the document and its lines, delete
the pending event. A document exists once per ``source`` (a unique column): an event that is
delivered twice, or retried while the first try is still running, issues one document, and the
loser's number is rolled back with its transaction, so the series stays gapless.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError

from kernel import call_hook, db, emit_webhook, now

from . import documents, numbering, taxes
from .amounts import GROSS, Split, allocate, split, totals
from .config import Setup
from .drafts import Draft
from .models import CREDIT_NOTE, Document, Line, Pending


class IssueError(ValueError):
    """A document cannot be issued now (settings incomplete, ...); the event waits."""


@dataclass(frozen=True)
class Priced:
    description: str
    quantity: int
    unit_amount: int
    split: Split
    decision: taxes.Decision
    tax_class: str
    position: int


def price(setup: Setup, draft: Draft) -> list[Priced]:
    """Each line's tax decision and amounts, rounded line by line (:mod:`amounts`)."""
    out = []
    for position, line in enumerate(draft.lines, start=1):
        decision = line.decision or taxes.decide(setup, draft.buyer, line.tax_class)
        amounts = split(line.unit_amount * line.quantity, decision.rate_bp, draft.price_mode)
        out.append(
            Priced(
                line.description,
                line.quantity,
                line.unit_amount,
                amounts,
                decision,
                line.tax_class,
                position,
            )
        )
    return out


def _credited_lines(original: Document, amount: int) -> list[Priced]:
    """The lines of a credit note taking back ``amount`` (positive, already capped) from
    ``original``: shared over what each line still has left, at each line's own rate. A share
    that empties a line takes exactly its remaining net and tax, so once an invoice is wholly
    credited, its credit notes cancel its net and tax to the cent, however it was split."""
    left = {line.position: [line.net, line.tax, line.gross] for line in original.lines}
    for note in original_credit_notes(original.id):
        for line in note.lines:
            rest = left.setdefault(line.position, [0, 0, 0])
            rest[0], rest[1], rest[2] = rest[0] + line.net, rest[1] + line.tax, rest[2] + line.gross
    lines = [line for line in original.lines if left[line.position][2] > 0]
    shares = allocate(amount, [left[line.position][2] for line in lines])
    out = []
    for line, share in zip(lines, shares, strict=True):
        if share == 0:
            continue
        net, tax, gross = left[line.position]
        if share == gross:  # the rest of the line
            amounts = Split(-net, -tax, -gross)
        else:
            amounts = split(-share, line.rate_bp, GROSS)
        decision = taxes.Decision(line.rate_bp, line.tax_rule, line.tax_country)
        out.append(
            Priced(
                f"Credit: {line.description}"[:300],
                1,
                -share,
                amounts,
                decision,
                line.tax_class,
                line.position,
            )
        )
    return out


def original_credit_notes(original_id: int) -> list[Document]:
    return list(
        db.session.scalars(
            db.select(Document).where(
                Document.original_id == original_id, Document.kind == CREDIT_NOTE
            )
        )
    )


def _lock(document_id: int) -> Document | None:
    """The original, locked until the credit note's transaction ends (PostgreSQL): two
    refunds of one invoice are credited one after the other, never beyond its total."""
    return db.session.scalar(
        db.select(Document).where(Document.id == document_id).with_for_update()
    )


def _notes(priced: list[Priced], original: Document | None) -> list[str]:
    notes = []
    if original is not None:
        notes.append(f"Credit note for {original.number} of {original.issued_at:%Y-%m-%d}.")
        notes += [n for n in original.notes or [] if not n.startswith("Credit note for ")]
    for line in priced:
        if line.decision.note and line.decision.note not in notes:
            notes.append(line.decision.note)
    return notes


def issue(setup: Setup, draft: Draft, pending_source: str | None = None) -> Document | None:
    """Issue ``draft`` (idempotent per ``draft.source``); None when there is nothing to credit.

    Commits. Raises IssueError or TaxError (nothing written, the number not taken).
    """
    fmt = setup.formats[draft.kind]
    priced = [] if draft.kind == CREDIT_NOTE else price(setup, draft)
    if draft.kind != CREDIT_NOTE and not priced:
        raise IssueError("a document needs at least one line")
    db.session.commit()  # end the reading transaction: the issuing one below is short
    try:
        document, created = _insert(setup, draft, fmt, priced, pending_source)
    except IntegrityError:
        db.session.rollback()
        existing = documents.by_source(draft.source)
        if existing is None:  # not a concurrent twin: the number itself is taken
            raise IssueError(
                "the next number is already used by another document (two number "
                "formats make the same numbers): change the number format"
            ) from None
        _forget(pending_source)  # the same source was issued concurrently: that one stands
        return existing
    if created:
        view = documents.view(document)
        emit_webhook(
            "invoice.issued",
            {
                "invoice": {
                    "id": view.id,
                    "kind": view.kind,
                    "number": view.number,
                    "user_id": view.user_id,
                    "currency": view.currency,
                    "net": view.net,
                    "tax": view.tax,
                    "gross": view.gross,
                    "issued_at": view.issued_at.isoformat(timespec="seconds") + "Z",
                }
            },
        )
        call_hook("invoice_issued", document=view)
    return document


def _insert(
    setup: Setup, draft: Draft, fmt: str, priced: list[Priced], pending_source: str | None
) -> tuple[Document | None, bool]:
    """(the document, whether this call issued it), in one transaction that it commits."""
    existing = documents.by_source(draft.source)
    if existing is not None:
        _drop_pending(pending_source)
        db.session.commit()
        return existing, False
    original = _lock(draft.original_id) if draft.original_id else None
    if draft.kind == CREDIT_NOTE:
        if original is None:
            raise IssueError("the document to credit does not exist")
        left = original.gross + sum(n.gross for n in original_credit_notes(original.id))
        amount = min(draft.credit, left)
        if amount <= 0:
            _drop_pending(pending_source)
            db.session.commit()
            return None, False
        priced = _credited_lines(original, amount)
    issued_at = now()
    series = numbering.series(fmt, issued_at)
    sequence = numbering.allocate(series)
    total = totals([p.split for p in priced])
    document = Document(
        kind=draft.kind,
        series=series,
        sequence=sequence,
        number=numbering.render(fmt, issued_at, sequence),
        user_id=draft.user_id,
        issued_at=issued_at,
        currency=draft.currency,
        net=total.net,
        tax=total.tax,
        gross=total.gross,
        price_mode=GROSS if draft.kind == CREDIT_NOTE else draft.price_mode,
        source=draft.source,
        subject=draft.subject,
        original_id=original.id if original else None,
        seller=dict(original.seller) if original else setup.seller.as_dict(),
        buyer=dict(original.buyer) if original else draft.buyer.as_dict(),
        buyer_country=original.buyer_country if original else draft.buyer.country,
        notes=_notes(priced, original),
        meta=draft.meta,
    )
    document.lines = [
        Line(
            position=p.position,
            description=p.description,
            quantity=p.quantity,
            unit_amount=p.unit_amount,
            net=p.split.net,
            tax=p.split.tax,
            gross=p.split.gross,
            rate_bp=p.decision.rate_bp,
            tax_rule=p.decision.rule,
            tax_country=p.decision.country,
            tax_class=p.tax_class,
        )
        for p in priced
    ]
    db.session.add(document)
    _drop_pending(pending_source)
    db.session.commit()
    return document, True


def _drop_pending(source: str | None) -> None:
    if source:
        db.session.execute(db.delete(Pending).where(Pending.source == source))


def _forget(source: str | None) -> None:
    if source:
        _drop_pending(source)
        db.session.commit()
