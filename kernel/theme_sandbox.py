"""What a theme template can reach: an allow-list over Jinja's sandbox.

Theme templates (and plugin templates rendered in the theme's layout) are written
by people who must not reach the server: not the database session, the engine,
the app, the configuration, nor another customer's data. Jinja's own sandbox only
refuses names starting with ``_``; a SQLAlchemy model still offers ``query``,
``metadata`` and ``registry``, and through them everything. So this sandbox
starts from nothing and allows, per type:

* plain values (strings, numbers, dates, ``Markup``, lists, dicts, ...): their
  public, non-mutating methods; mutating ones (``append``, ``update``, ``pop``)
  are refused, so a template cannot change a shared structure;
* Jinja's own runtime objects (``loop``, macros, ``super()``, ``namespace``...);
* a class that declares ``__template_fields__`` (names; a SQLAlchemy model lists
  its readable columns, properties, read-only methods and, explicitly, its
  relationships): those names only. Every model without a declaration shows
  nothing at all;
* a frozen dataclass (a view model): its fields.

Everything else (ORM classes, sessions, modules, the app, unknown objects) has no
attribute, no item and cannot be called. A call is allowed only for the app's
template globals (what the kernel, its extensions and plugins put in
``app.jinja_env.globals``), methods that passed the attribute rule, and Jinja's
runtime callables. A refusal raises :class:`jinja2.exceptions.SecurityError` at once
(a name a plain value simply lacks stays undefined, as anywhere in Jinja).
"""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import fractions
import json
import types
import uuid
import weakref
from collections import OrderedDict, defaultdict
from enum import Enum
from typing import Any

from flask_babel.speaklater import LazyString
from jinja2 import runtime, utils
from jinja2.environment import TemplateModule
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment, is_internal_attribute, safe_range
from markupsafe import Markup
from sqlalchemy.orm.collections import InstrumentedDict, InstrumentedList, InstrumentedSet
from werkzeug.datastructures import ImmutableMultiDict, MultiDict
from werkzeug.http import http_date
from werkzeug.local import LocalProxy

FIELDS_ATTR = "__template_fields__"
_FORMAT_MARK = "pteroca_sandboxed_format"


def _public(kind: type) -> frozenset[str]:
    return frozenset(name for name in dir(kind) if not name.startswith("_"))


# Immutable values: every public name of the type (none of them changes the value).
_IMMUTABLE = {
    kind: _public(kind)
    for kind in (
        str,
        bytes,
        int,
        float,
        complex,
        bool,
        type(None),
        decimal.Decimal,
        fractions.Fraction,
        datetime.date,
        datetime.datetime,
        datetime.time,
        datetime.timedelta,
        datetime.timezone,
        uuid.UUID,
        range,
        Markup,
    )
}
# Containers: reading methods only.
_MAPPING = frozenset({"get", "items", "keys", "values", "copy"})
_SEQUENCE = frozenset({"index", "count", "copy"})
_SET = frozenset(
    {
        "union",
        "intersection",
        "difference",
        "symmetric_difference",
        "issubset",
        "issuperset",
        "isdisjoint",
        "copy",
    }
)
_CONTAINERS: dict[type, frozenset[str]] = {
    dict: _MAPPING,
    OrderedDict: _MAPPING,
    defaultdict: _MAPPING,
    MultiDict: _MAPPING | {"getlist", "to_dict"},
    ImmutableMultiDict: _MAPPING | {"getlist", "to_dict"},
    list: _SEQUENCE,
    tuple: _SEQUENCE - {"copy"},
    set: _SET,
    frozenset: _SET,
    types.MappingProxyType: _MAPPING,
}
# Item access (``x[k]``) is allowed on these only.
_SUBSCRIPTABLE = (str, bytes, range, dict, list, tuple, types.MappingProxyType)

# Jinja's runtime objects: the stock sandbox rule (no ``_`` names, no internals).
_JINJA_TYPES = (
    runtime.LoopContext,
    runtime.Macro,
    runtime.BlockReference,
    runtime.TemplateReference,
    runtime.Undefined,
    TemplateModule,
    utils.Cycler,
    utils.Joiner,
    utils.Namespace,
)
# Classes a template may call (the globals ``dict``, ``cycler``, ``joiner``, ``namespace``).
_CALLABLE_CLASSES = frozenset({dict, utils.Cycler, utils.Joiner, utils.Namespace})
# Callables of Jinja itself that are always safe.
_JINJA_CALLABLES = (
    runtime.Macro,
    runtime.BlockReference,
    runtime.LoopContext,
    utils.Joiner,
    runtime.Undefined,
)


# Library types that behave as plain values: collections of ORM relationships, lazily
# translated strings.
_LIBRARY_PLAIN: dict[type, frozenset[str]] = {
    InstrumentedList: _SEQUENCE,
    InstrumentedDict: _MAPPING,
    InstrumentedSet: _SET,
    LazyString: _IMMUTABLE[str],
}


_PLAIN: dict[type, frozenset[str]] = {**_IMMUTABLE, **_CONTAINERS, **_LIBRARY_PLAIN}
_SUBSCRIPTABLE_TYPES = frozenset(kind for kind in _PLAIN if issubclass(kind, _SUBSCRIPTABLE))


# --- declarations --------------------------------------------------------------------------


def declared_fields(kind: type) -> frozenset[str]:
    """The names a class shows to templates: ``__template_fields__`` over its MRO (each
    class declares its own; a subclass adds to its bases), plus the fields of a frozen
    dataclass. Empty for everything else."""
    cached = _declared.get(kind)
    if cached is not None:
        return cached
    names: set[str] = set()
    for klass in kind.__mro__:
        own = vars(klass).get(FIELDS_ATTR)
        if own:
            if isinstance(own, str):
                raise TypeError(f"{klass.__qualname__}.{FIELDS_ATTR} must be a tuple of names")
            names.update(own)
    if dataclasses.is_dataclass(kind) and kind.__dataclass_params__.frozen:
        names.update(f.name for f in dataclasses.fields(kind))
    result = frozenset(n for n in names if not n.startswith("_"))
    _declared[kind] = result
    return result


_declared: weakref.WeakKeyDictionary[type, frozenset[str]] = weakref.WeakKeyDictionary()


# --- the rules -----------------------------------------------------------------------------


def _unwrap(obj: Any) -> Any:
    if isinstance(obj, LocalProxy):
        try:
            return obj._get_current_object()
        except RuntimeError:  # outside the context the proxy needs
            return None
    return obj


def attribute_allowed(obj: Any, name: str) -> bool:
    """May a theme template read ``obj.<name>``? Decided from the type and the name only,
    before the attribute is evaluated (a property never runs when the answer is no)."""
    kind = type(obj)
    try:
        return _decisions[kind, name]
    except KeyError:
        pass
    except TypeError:  # an unhashable name
        return False
    if len(_decisions) > MAX_DECISIONS:
        _decisions.clear()  # plugin classes of earlier app builds: let them go
    # Jinja's own rule (no internals of functions, frames, generators...) is decided from the
    # type and the name too, so it is part of the remembered answer rather than asked again
    # on every access of a page.
    allowed = _decisions[kind, name] = _decide(obj, kind, name) and not is_internal_attribute(
        obj, name
    )
    return allowed


def _decide(obj: Any, kind: type, name: str) -> bool:
    if not isinstance(name, str) or name.startswith("_"):
        return False
    allowed = _PLAIN.get(kind)
    if allowed is not None:
        return name in allowed
    if isinstance(obj, _JINJA_TYPES):
        return not is_internal_attribute(obj, name)
    if isinstance(obj, Enum):
        return name in ("name", "value")
    if isinstance(obj, type):
        return False  # classes (models, anything): nothing
    return name in declared_fields(kind)


# (type, name) -> the answer: every input of the decision is the type and the name.
_decisions: dict[tuple[type, str], bool] = {}
MAX_DECISIONS = 50_000


def items_allowed(obj: Any) -> bool:
    """May a theme template read ``obj[key]``? Only on plain containers and strings."""
    return type(obj) in _SUBSCRIPTABLE_TYPES or isinstance(
        obj, (utils.Namespace, runtime.TemplateReference)
    )


class ThemeSandbox(SandboxedEnvironment):
    """A sandboxed environment whose rules are the allow-list above when ``strict``.

    ``strict`` is an instance attribute so that an overlay of the same environment (the
    admin environment, trusted templates only) can switch the allow-list off and keep
    Jinja's stock sandbox.
    """

    strict: bool = True

    # Attribute and item access ----------------------------------------------------------

    def getattr(self, obj: Any, attribute: str) -> Any:
        if not self.strict:
            return super().getattr(obj, attribute)
        obj = _unwrap(obj)
        if attribute_allowed(obj, attribute):
            try:
                value = getattr(obj, attribute)
            except AttributeError:
                pass
            else:
                return self._checked(obj, attribute, value)
        if items_allowed(obj):
            try:
                return obj[attribute]
            except (TypeError, LookupError):
                pass
        return self._refused(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        if not self.strict:
            return super().getitem(obj, argument)
        obj = _unwrap(obj)
        if items_allowed(obj):
            try:
                return obj[argument]
            except (TypeError, LookupError):
                pass
        if isinstance(argument, str) and attribute_allowed(obj, argument):
            try:
                value = getattr(obj, argument)
            except AttributeError:
                pass
            else:
                return self._checked(obj, argument, value)
        return self._refused(obj, argument)

    def _refused(self, obj: Any, name: Any) -> Any:
        """A name a plain value simply lacks is undefined, as anywhere in Jinja; anything
        else (a refused name, any name of an object that shows nothing) raises at once."""
        kind = type(obj)
        if isinstance(obj, runtime.Undefined):
            obj._fail_with_undefined_error()  # keeps its own error: a refusal stays one
        if isinstance(name, str) and name.startswith("_"):
            raise SecurityError(f"{name} is a private name: no template may use it")
        if kind in _PLAIN and not (isinstance(name, str) and hasattr(kind, name)):
            return self.undefined(obj=obj, name=name)
        if isinstance(obj, (utils.Namespace, runtime.TemplateReference)):
            return self.undefined(obj=obj, name=name)
        raise SecurityError(
            f"{kind.__name__}.{name} is not available to theme templates "
            f"(docs/themes.md lists what is)"
        )

    def _checked(self, obj: Any, attribute: str, value: Any) -> Any:
        """``value`` of an attribute :func:`attribute_allowed` allowed (which includes Jinja's
        own rule): a ``str.format`` method comes back sandboxed."""
        fmt = self.wrap_str_format(value)
        return value if fmt is None else fmt

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if not self.strict:
            return super().is_safe_attribute(obj, attr, value)
        return attribute_allowed(_unwrap(obj), attr) and super().is_safe_attribute(obj, attr, value)

    def wrap_str_format(self, value: Any):
        wrapper = super().wrap_str_format(value)
        if wrapper is not None:
            setattr(wrapper, _FORMAT_MARK, True)
        return wrapper

    # Calls ----------------------------------------------------------------------------

    def is_safe_callable(self, obj: Any) -> bool:
        if not super().is_safe_callable(obj):
            return False
        if not self.strict:
            return True
        known = self.__dict__.get("_known_globals")
        safe = self.__dict__.get("_safe_globals")
        if known and safe and known.get(id(obj)) is obj and safe.get(id(obj)) is obj:
            return True  # a current template global that callable_allowed allowed before
        allowed = self.callable_allowed(obj)
        if allowed and not isinstance(obj, LocalProxy):
            known = self.__dict__.get("_known_globals")
            if known is not None and known.get(id(obj)) is obj:
                # A page calls the same few globals (``_``, ``url_for``...) dozens of times;
                # for them the answer depends on nothing but being a global still.
                self.__dict__.setdefault("_safe_globals", {})[id(obj)] = obj
        return allowed

    def callable_allowed(self, obj: Any) -> bool:
        """May a theme template call ``obj``?"""
        if isinstance(obj, _JINJA_CALLABLES):
            return True
        if isinstance(obj, type):
            return obj in _CALLABLE_CLASSES
        if obj is safe_range:
            return True
        if isinstance(obj, (types.MethodType, types.BuiltinMethodType, types.MethodWrapperType)):
            owner = getattr(obj, "__self__", None)
            if owner is not None and not isinstance(owner, types.ModuleType):
                if attribute_allowed(owner, obj.__name__):
                    return True
        if isinstance(obj, types.FunctionType) and vars(obj).get(_FORMAT_MARK):
            return True
        return not isinstance(obj, LocalProxy) and self._is_global(obj)

    def _is_global(self, obj: Any) -> bool:
        """One of the app's template globals (url_for, csrf_token, gettext, the kernel's
        helpers)? Looked up by identity in a copy of the globals, renewed on a miss, so a
        global added later counts too."""
        known = self.__dict__.get("_known_globals")
        if known is not None and known.get(id(obj)) is obj:
            return True
        known = {id(value): value for value in self.globals.values()}
        self._known_globals = known
        return known.get(id(obj)) is obj


def json_dumps(value: Any, **kwargs: Any) -> str:
    """``|tojson`` in theme templates: plain values only. Flask's encoder would turn any
    dataclass into a dict of all its fields, declared or not."""
    kwargs.setdefault("default", _json_default)
    return json.dumps(value, **kwargs)


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime.date):
        return http_date(value)  # as Flask's encoder writes dates
    if isinstance(value, (decimal.Decimal, uuid.UUID)):
        return str(value)
    if type(value) in _PLAIN and hasattr(value, "__html__"):
        return str(value.__html__())
    if type(value) in _PLAIN:
        return str(value)  # a lazily translated string
    raise TypeError(f"{type(value).__name__} cannot be written as JSON in a theme template")
