"""The kernel's own rules for dynamic code, read from a plugin's source with ``ast``.

bandit rates these patterns MEDIUM or not at all, yet each one lets code run that
was never reviewable source, or hides what runs from the scan: the verified loader
guarantees only verified *files* are imported, so code built at run time is the
remaining way around it. Each rule has an id; :mod:`kernel.security.policy`
(``AST_RULES``) gives its severity, at least HIGH, and docs/security.md its
rationale. Benign spellings (``re.compile``, ``importlib.import_module("literal")``,
SQLAlchemy expressions, bound parameters) raise nothing.

Rules:
``dynamic-exec``        ``exec``, ``eval`` or ``compile`` (the builtins) on anything
``builtins-reflection`` ``getattr``/``setattr``/``delattr`` on ``builtins``/``__builtins__``
                        or on a module found by a computed name; any use of ``__builtins__``
``dynamic-import``      ``__import__``/``importlib.import_module`` with a non-literal name
``import-machinery``    importlib loaders and finders, ``spec_from_file_location``,
                        ``module_from_spec``, ``zipimport``, ``runpy``, ``imp``,
                        ``sys.meta_path``/``sys.path_hooks``/``sys.path_importer_cache``
``code-objects``        ``types.FunctionType``/``CodeType``/``LambdaType``, ``marshal``,
                        assigning ``__code__``
``native-ffi``          ``ctypes``, ``cffi``
``file-to-code``        bytes or text read from a file passed to any of the above
``sql-string-building`` SQL built with an f-string, ``%``, ``+`` or ``.format`` passed to
                        ``execute``/``executemany``/``exec_driver_sql``/``text``
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from kernel.security import policy
from kernel.security.findings import Finding
from kernel.security.sources import ParsedSources

CHECK = "ast"

EXEC_NAMES = frozenset({"exec", "eval", "compile"})
REFLECTION = frozenset({"getattr", "setattr", "delattr"})
IMPORT_CALLS = frozenset(
    {"__import__", "builtins.__import__", "importlib.import_module", "importlib.__import__"}
)
MACHINERY_EXACT = frozenset(
    {
        "importlib.util.spec_from_file_location",
        "importlib.util.spec_from_loader",
        "importlib.util.module_from_spec",
        "importlib._bootstrap",
        "importlib._bootstrap_external",
        "sys.meta_path",
        "sys.path_hooks",
        "sys.path_importer_cache",
        "pkgutil.ImpImporter",
        "pkgutil.get_importer",
    }
)
MACHINERY_MODULES = ("zipimport", "runpy", "imp")
CODE_OBJECTS = frozenset({"types.FunctionType", "types.CodeType", "types.LambdaType"})
FFI_MODULES = ("ctypes", "_ctypes", "cffi")
SQL_METHODS = frozenset({"execute", "executemany", "executescript", "exec_driver_sql"})
READ_METHODS = frozenset(
    {"read", "read_text", "read_bytes", "readlines", "get_data", "read_binary"}
)
SINK_NAMES = (
    EXEC_NAMES
    | {"builtins." + n for n in EXEC_NAMES}
    | CODE_OBJECTS
    | {"marshal.loads", "marshal.load", "runpy.run_path", "runpy.run_module"}
)


@dataclass(frozen=True)
class RuleHit:
    rule: str
    line: int
    message: str


def _under(name: str, modules: tuple[str, ...]) -> bool:
    return any(name == m or name.startswith(m + ".") for m in modules)


class _Names:
    """Local names -> what they stand for (``import x as y``, ``from x import y``), per module."""

    def __init__(self, nodes: list[ast.AST]):
        self.aliases: dict[str, str] = {}
        for node in nodes:  # in ast.walk order: a later binding of a name wins
            if isinstance(node, ast.Import):
                for a in node.names:
                    if a.asname:
                        self.aliases[a.asname] = a.name
                    else:
                        top = a.name.split(".")[0]
                        self.aliases[top] = top
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                for a in node.names:
                    self.aliases[a.asname or a.name] = f"{node.module}.{a.name}"

    def qualify(self, node: ast.expr) -> str | None:
        """``importlib.util.module_from_spec`` for that expression, as far as we can see."""
        if isinstance(node, ast.Name):
            return self.aliases.get(node.id, node.id)
        if isinstance(node, ast.Attribute):
            base = self.qualify(node.value)
            return f"{base}.{node.attr}" if base else None
        return None

    def builtin(self, node: ast.expr) -> str | None:
        """The builtin an expression names (``exec``, ``builtins.eval`` -> ``eval``), if any.

        A bare name counts as the builtin unless it was imported from elsewhere
        (``from re import compile``); a local function of that name is not told apart,
        on purpose: shadowing must not be a way to hide the real one.
        """
        if isinstance(node, ast.Name):
            target = self.aliases.get(node.id)
            if target is None:
                return node.id
            return target.partition(".")[2] if target.startswith("builtins.") else None
        name = self.qualify(node)
        if name and name.startswith("builtins.") and name.count(".") == 1:
            return name.partition(".")[2]
        return None


def _literal(node: ast.expr | None) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str)


def _first_arg(call: ast.Call, keyword: str) -> ast.expr | None:
    if call.args:
        return call.args[0]
    return next((k.value for k in call.keywords if k.arg == keyword), None)


class _Scope:
    """Names assigned, in one function or module body, from file reads or built SQL text."""

    def __init__(self):
        self.from_file: set[str] = set()
        self.built_sql: set[str] = set()


PASSED_AROUND = EXEC_NAMES | {"__import__"}


class _Visitor(ast.NodeVisitor):
    def __init__(self, names: _Names):
        self.names = names
        self.hits: list[RuleHit] = []
        self.scopes = [_Scope()]

    def hit(self, rule: str, node: ast.AST, message: str) -> None:
        self.hits.append(RuleHit(rule, getattr(node, "lineno", 0) or 0, message))

    # --- the walk: ast.NodeVisitor's, with each node type's method looked up once ---------------

    def visit(self, node):
        cls = node.__class__
        try:
            method = _METHODS[cls]
        except KeyError:
            method = _METHODS[cls] = getattr(_Visitor, "visit_" + cls.__name__, None)
        if method is None:
            self.generic_visit(node)
        else:
            method(self, node)

    def generic_visit(self, node):
        visit = self.visit
        for name in node._fields:
            value = getattr(node, name, None)
            if isinstance(value, list):
                for item in value:
                    if isinstance(item, ast.AST):
                        visit(item)
            elif isinstance(value, ast.AST):
                visit(value)

    # --- scopes and taint --------------------------------------------------------------------

    def visit_FunctionDef(self, node):
        self.scopes.append(_Scope())
        self.generic_visit(node)
        self.scopes.pop()

    visit_AsyncFunctionDef = visit_FunctionDef
    visit_Lambda = visit_FunctionDef

    def _reads_file(self, node: ast.AST) -> bool:
        for sub in ast.walk(node):
            if isinstance(sub, ast.Name) and sub.id in self.scopes[-1].from_file:
                return True
            if isinstance(sub, ast.Call):
                func = sub.func
                if isinstance(func, ast.Attribute) and func.attr in READ_METHODS:
                    return True
                name = self.names.qualify(func) or ""
                if name in (
                    "pkgutil.get_data",
                    "importlib.resources.read_text",
                    "importlib.resources.read_binary",
                ):
                    return True
        return False

    def _built_string(self, node: ast.AST | None) -> bool:
        if node is None:
            return False
        if isinstance(node, ast.JoinedStr):
            return any(isinstance(v, ast.FormattedValue) for v in node.values)
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Mod, ast.Add)):
            sides = (node.left, node.right)
            return any(_literal(s) or self._built_string(s) for s in sides) and not all(
                _literal(s) for s in sides
            )
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "format"
            and (_literal(node.func.value) or self._built_string(node.func.value))
        ):
            return True
        return isinstance(node, ast.Name) and node.id in self.scopes[-1].built_sql

    def _assign(self, targets: list[ast.expr], value: ast.expr | None) -> None:
        if value is None:
            return
        scope = self.scopes[-1]
        from_file, built = self._reads_file(value), self._built_string(value)
        for target in targets:
            for sub in ast.walk(target):
                if isinstance(sub, ast.Name):
                    (scope.from_file.add if from_file else scope.from_file.discard)(sub.id)
                    (scope.built_sql.add if built else scope.built_sql.discard)(sub.id)

    def visit_Assign(self, node):
        self.generic_visit(node)
        self._assign(node.targets, node.value)

    def visit_AnnAssign(self, node):
        self.generic_visit(node)
        self._assign([node.target], node.value)

    def visit_AugAssign(self, node):
        self.generic_visit(node)
        if not isinstance(node.target, ast.Name):
            return
        scope = self.scopes[-1]
        if isinstance(node.op, (ast.Add, ast.Mod)) and not isinstance(node.value, ast.Constant):
            scope.built_sql.add(node.target.id)  # sql += " WHERE id = " + value
        if self._reads_file(node.value):
            scope.from_file.add(node.target.id)

    def visit_With(self, node):
        for item in node.items:
            if item.optional_vars is not None and isinstance(item.context_expr, ast.Call):
                func = self.names.qualify(item.context_expr.func) or ""
                if func in ("open", "io.open", "builtins.open") or func.endswith(".open"):
                    for sub in ast.walk(item.optional_vars):
                        if isinstance(sub, ast.Name):
                            self.scopes[-1].from_file.add(sub.id)
        self.generic_visit(node)

    visit_AsyncWith = visit_With

    # --- imports and names ---------------------------------------------------------------------

    def _imported(self, module: str, node: ast.AST) -> None:
        if _under(module, FFI_MODULES):
            self.hit("native-ffi", node, f"imports {module}: calls native code no scan reads")
        elif _under(module, ("marshal",)):
            self.hit("code-objects", node, "imports marshal: loads code objects from bytes")
        elif _under(module, MACHINERY_MODULES):
            self.hit(
                "import-machinery", node, f"imports {module}: runs code outside the verified loader"
            )

    def visit_Import(self, node):
        for alias in node.names:
            self._imported(alias.name, node)

    def visit_ImportFrom(self, node):
        if not node.module or node.level:
            return
        self._imported(node.module, node)
        for alias in node.names:
            self._check_name(f"{node.module}.{alias.name}", node)

    def _check_name(self, name: str, node: ast.AST) -> None:
        head, _, tail = name.rpartition(".")
        if name in MACHINERY_EXACT or (
            head in ("importlib.machinery", "importlib.abc")
            and tail.endswith(("Loader", "Finder", "Importer"))
        ):
            self.hit(
                "import-machinery",
                node,
                f"{name}: loads or finds modules outside the verified loader",
            )
        elif name in CODE_OBJECTS:
            self.hit("code-objects", node, f"{name}: builds functions from code objects")

    def visit_Attribute(self, node):
        name = self.names.qualify(node)
        if name is not None:
            self._check_name(name, node)
            if name == "builtins.__dict__":
                self.hit(
                    "builtins-reflection",
                    node,
                    "builtins.__dict__: reaches eval, exec and __import__ by name",
                )
        if node.attr == "__code__" and isinstance(node.ctx, ast.Store):
            self.hit("code-objects", node, "assigns __code__: swaps a function's code")
        self.generic_visit(node)

    def visit_Name(self, node):
        if node.id == "__builtins__":
            self.hit(
                "builtins-reflection",
                node,
                "__builtins__: reaches eval, exec and __import__ by name",
            )
        elif node.id in self.names.aliases:
            self._check_name(self.names.aliases[node.id], node)
        elif (
            node.id in PASSED_AROUND
            and isinstance(node.ctx, ast.Load)
            and not getattr(node, "_called", False)
        ):
            self.hit(
                "dynamic-exec" if node.id in EXEC_NAMES else "dynamic-import",
                node,
                f"{node.id} passed around as a value: calls to it cannot be checked",
            )

    def visit_Constant(self, node):
        if node.value == "__builtins__":
            self.hit(
                "builtins-reflection",
                node,
                "'__builtins__' by name: reaches eval, exec and __import__",
            )

    # --- calls --------------------------------------------------------------------------------

    def visit_Call(self, node):
        node.func._called = True  # type: ignore[attr-defined]
        builtin = self.names.builtin(node.func)
        qualified = self.names.qualify(node.func) or ""
        if builtin in EXEC_NAMES:
            self.hit(
                "dynamic-exec",
                node,
                f"{builtin}(): runs code built at run time, which no scan has read",
            )
        if builtin == "vars" and node.args and self._reflective_target(node.args[0]):
            self.hit(
                "builtins-reflection",
                node,
                "vars() of builtins or of a module found by "
                "a computed name: reaches any function by a string",
            )
        if builtin in REFLECTION and node.args and self._reflective_target(node.args[0]):
            self.hit(
                "builtins-reflection",
                node,
                f"{builtin}() on builtins or a module found "
                "by a computed name: reaches any function by a string",
            )
        if (builtin == "__import__" or qualified in IMPORT_CALLS) and not _literal(
            _first_arg(node, "name")
        ):
            self.hit(
                "dynamic-import",
                node,
                f"{qualified or builtin}() with a computed name: "
                "what it imports cannot be read from the source",
            )
        sink = ("builtins." + builtin) if builtin in EXEC_NAMES else qualified
        if (sink in SINK_NAMES or self._is_machinery(qualified)) and any(
            self._reads_file(arg) for arg in [*node.args, *(k.value for k in node.keywords)]
        ):
            self.hit(
                "file-to-code",
                node,
                f"{sink}() on data read from a file: runs code the verified loader never checked",
            )
        self._check_sql(node, qualified)
        self.generic_visit(node)

    def _is_machinery(self, name: str) -> bool:
        head, _, tail = name.rpartition(".")
        return name in MACHINERY_EXACT or (
            head.startswith("importlib.") and tail.endswith(("Loader", "Finder"))
        )

    def _reflective_target(self, node: ast.expr) -> bool:
        """builtins itself, or a module whose name is computed at run time."""
        name = self.names.qualify(node)
        if name in ("builtins", "__builtins__"):
            return True
        if isinstance(node, ast.Subscript) and self.names.qualify(node.value) == "sys.modules":
            return not _literal(node.slice)
        if isinstance(node, ast.Call):
            callee = self.names.builtin(node.func) or self.names.qualify(node.func) or ""
            first = _first_arg(node, "name")
            if callee in IMPORT_CALLS or callee == "__import__":
                return not _literal(first) or first.value == "builtins"
            if callee == "sys.modules.get":
                return not _literal(first)
            if callee == "vars" and node.args:
                return self._reflective_target(node.args[0])
        return False

    def _check_sql(self, node: ast.Call, qualified: str) -> None:
        func = node.func
        is_text = (
            qualified.endswith(".text")
            and qualified.split(".")[0] in ("sqlalchemy", "db", "sa")
            or qualified in ("sqlalchemy.text", "sqlalchemy.sql.text")
        )
        is_exec = isinstance(func, ast.Attribute) and func.attr in SQL_METHODS
        if not (is_text or is_exec):
            return
        statement = _first_arg(node, "statement" if is_exec else "text")
        if self._built_string(statement):
            what = "text()" if is_text else f"{func.attr}()"
            self.hit(
                "sql-string-building",
                node,
                f"SQL built with string formatting passed "
                f"to {what}: injectable; use bound parameters",
            )


# node class -> the _Visitor method for it (None: just walk into it)
_METHODS: dict[type, Callable | None] = {}


def check_source(source: bytes | str, filename: str = "<plugin>") -> list[RuleHit]:
    """Rule hits in one module (a module that does not parse has none: bandit reports it)."""
    try:
        tree = ast.parse(source, filename=filename)
    except (SyntaxError, ValueError):
        return []
    return check_tree(tree)


def check_tree(tree: ast.Module, nodes: list[ast.AST] | None = None) -> list[RuleHit]:
    """Rule hits in one parsed module; ``nodes``: its nodes in :func:`ast.walk` order, if known."""
    visitor = _Visitor(_Names(list(ast.walk(tree)) if nodes is None else nodes))
    visitor.visit(tree)
    seen: set[tuple[str, int, str]] = set()
    unique = []
    for hit in visitor.hits:
        key = (hit.rule, hit.line, hit.message)
        if key not in seen:
            seen.add(key)
            unique.append(hit)
    return unique


def iter_hits(parsed: ParsedSources) -> Iterator[tuple[str, RuleHit]]:
    """(relative path, hit) for every Python source of a snapshot that parses."""
    for rel, tree in parsed.trees().items():
        for hit in check_tree(tree, parsed.nodes(rel)):
            yield rel, hit


def run_dynamic_code_checks(parsed: ParsedSources) -> list[Finding]:
    return [
        Finding(
            check=CHECK,
            rule=hit.rule,
            severity=policy.ast_severity(hit.rule),
            file=rel,
            line=hit.line or None,
            message=hit.message,
        )
        for rel, hit in iter_hits(parsed)
    ]
