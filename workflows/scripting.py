"""Restricted, time-limited evaluation of the Python snippets embedded in BPMN and DMN models.

An uploaded model is code: gateway conditions, script tasks, pre/post scripts, timer
expressions and DMN rule cells are all Python run by SpiffWorkflow's script engine.  Spiff's
default environment runs them with full builtins, so a model could import ``os``, walk
``object.__subclasses__()`` or pin a worker with ``9**9**7``.  ``create_script_engine()`` builds
the engine every workflow must use instead:

* code is compiled through RestrictedPython (no names or attributes starting with ``_``, no
  imports, guarded attribute/item/iteration access) with a stricter policy on top, and only a
  vetted set of builtins is visible;
* operators and builtins that can produce a huge value in one C call (``**``, ``<<``, ``*``,
  ``pow``, ``range``, ``int``, ``round``, ...) refuse oversized results before computing them,
  because the time limit cannot interrupt a running C call;
* a wall-clock limit is enforced by an in-process tracer, which works in any thread (web
  requests run in worker threads, so ``signal.alarm`` is not an option), and scripts cannot
  catch their way past it.

Known limits, deliberately not handled here: C-level work on large data that aliases itself
(e.g. sorting a list that holds the same million-item list a million times) is not interrupted,
and memory use is not capped.  Run workers under OS limits (cgroup memory, RLIMIT_AS/RLIMIT_CPU)
for those.
"""

from __future__ import annotations

import ast
import datetime as _datetime
import decimal
import functools
import importlib
import math
import operator
import re
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import CodeType, FrameType, ModuleType
from typing import Any, Literal, NoReturn

from RestrictedPython import compile_restricted_eval, compile_restricted_exec, limited_builtins, safe_builtins
from RestrictedPython.Guards import guarded_iter_unpack_sequence, guarded_unpack_sequence
from RestrictedPython.transformer import (
    INSPECT_ATTRIBUTES,
    IOPERATOR_TO_STR,
    RestrictingNodeTransformer,
    copy_locations,
)
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment
from SpiffWorkflow.exceptions import SpiffWorkflowException

from workflows.errors import N_

__all__ = [
    "FORBIDDEN_BUILTINS",
    "MAX_DECIMAL_DIGITS",
    "MAX_INT_BITS",
    "MAX_RANGE_LENGTH",
    "MAX_SEQUENCE_LENGTH",
    "SANDBOX_MESSAGES",
    "SCRIPT_FILENAME",
    "Refusal",
    "RestrictedEnvironment",
    "RestrictedScriptEngine",
    "ScriptTimeout",
    "ScriptViolation",
    "create_script_engine",
    "refusal_in",
    "refusals_in",
]

# Spiff's PythonScriptEngine locates the failing line of a script by looking for this filename
# in the traceback, so reusing it gives users line numbers in error messages for free.
SCRIPT_FILENAME = "<string>"

# No business rule needs integers anywhere near this size (10 000 bits is ~3 000 decimal
# digits), while multiplying or exponentiating values much larger than this can take seconds
# inside a single C call that the tracer cannot interrupt.
MAX_INT_BITS = 10_000
MAX_SEQUENCE_LENGTH = 1_000_000
MAX_RANGE_LENGTH = 1_000_000
# Converting a Decimal to int costs time quadratic in its number of digits (1e999999 takes
# ~30 s); this mirrors CPython's own default cap on int/str conversions.
MAX_DECIMAL_DIGITS = 4_300

# Reading the clock on every opcode would double the tracing overhead; a few hundred opcodes
# take microseconds, which is far below the granularity a time limit needs.
_OPCODES_PER_CLOCK_CHECK = 256


class ScriptViolation(Exception):
    """The script tried something a model script may not do (import, private attribute, ...)."""


class ScriptTimeout(Exception):
    """The script exceeded its time limit, or an operation was refused as a resource bomb."""


def _refuse(what: str) -> NoReturn:
    raise ScriptTimeout(f"refused: {what}")


# --- resource guards -------------------------------------------------------------------------

_SEQUENCE_TYPES = (str, bytes, list, tuple)


def _check_repeat(length: int, times: int) -> None:
    if times > 0 and length * times > MAX_SEQUENCE_LENGTH:
        _refuse(f"result of * would be a sequence longer than {MAX_SEQUENCE_LENGTH:,} items")


def _check_mul(left: Any, right: Any) -> None:
    if isinstance(left, int) and isinstance(right, int):
        if left.bit_length() + right.bit_length() > MAX_INT_BITS:
            _refuse("result of * would be too large")
    elif isinstance(left, _SEQUENCE_TYPES) and isinstance(right, int):
        _check_repeat(len(left), right)
    elif isinstance(right, _SEQUENCE_TYPES) and isinstance(left, int):
        _check_repeat(len(right), left)


def _check_pow(base: Any, exponent: Any, modulus: Any = None) -> None:
    if not (isinstance(base, int) and isinstance(exponent, int)):
        # Floats overflow and Decimals are bounded by their context, both quickly.
        return
    if modulus is None:
        magnitude = abs(base)
        # Testing the exponent alone first keeps math.log2 away from absurd exponents.
        if (
            exponent > 0
            and magnitude > 1
            and (exponent > MAX_INT_BITS or exponent * math.log2(magnitude) > MAX_INT_BITS)
        ):
            _refuse("result of ** would be too large")
    elif isinstance(modulus, int) and (exponent.bit_length() > MAX_INT_BITS or modulus.bit_length() > MAX_INT_BITS):
        _refuse("pow() with a modulus on numbers this large")


def _check_lshift(value: Any, shift: Any) -> None:
    if (
        isinstance(value, int)
        and isinstance(shift, int)
        and value
        and shift > 0
        and value.bit_length() + shift > MAX_INT_BITS
    ):
        _refuse("result of << would be too large")


def _check_decimal_to_int(value: decimal.Decimal) -> None:
    if value.is_finite() and value.adjusted() > MAX_DECIMAL_DIGITS:
        _refuse(f"converting a Decimal of more than {MAX_DECIMAL_DIGITS:,} digits to an integer")


def _check_format_args(args: Any) -> None:
    # '%d' % huge_decimal converts it to int behind the scenes.
    if isinstance(args, tuple):
        values: Iterable[Any] = args
    elif isinstance(args, Mapping):
        values = args.values()
    else:
        values = (args,)
    for value in values:
        if isinstance(value, decimal.Decimal):
            _check_decimal_to_int(value)


def _guarded_mul(left: Any, right: Any) -> Any:
    _check_mul(left, right)
    return left * right


def _guarded_imul(left: Any, right: Any) -> Any:
    _check_mul(left, right)
    return operator.imul(left, right)


def _guarded_pow(base: Any, exponent: Any, modulus: Any = None) -> Any:
    _check_pow(base, exponent, modulus)
    if modulus is None:
        return base**exponent
    return pow(base, exponent, modulus)


def _guarded_ipow(base: Any, exponent: Any) -> Any:
    _check_pow(base, exponent)
    return operator.ipow(base, exponent)


def _guarded_lshift(value: Any, shift: Any) -> Any:
    _check_lshift(value, shift)
    return value << shift


def _guarded_ilshift(value: Any, shift: Any) -> Any:
    _check_lshift(value, shift)
    return operator.ilshift(value, shift)


def _guarded_mod(left: Any, right: Any) -> Any:
    if isinstance(left, (str, bytes)):
        _check_format_args(right)
    return left % right


def _guarded_imod(left: Any, right: Any) -> Any:
    if isinstance(left, (str, bytes)):
        _check_format_args(right)
    return operator.imod(left, right)


_INPLACE_OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    "+=": operator.iadd,
    "-=": operator.isub,
    "*=": _guarded_imul,
    "/=": operator.itruediv,
    "//=": operator.ifloordiv,
    "%=": _guarded_imod,
    "**=": _guarded_ipow,
    "<<=": _guarded_ilshift,
    ">>=": operator.irshift,
    "&=": operator.iand,
    "|=": operator.ior,
    "^=": operator.ixor,
    "@=": operator.imatmul,
}


def _guarded_inplacevar(op: str, target: Any, value: Any) -> Any:
    try:
        function = _INPLACE_OPERATORS[op]
    except KeyError:
        raise ScriptViolation(f"forbidden: operator {op} is not supported") from None
    return function(target, value)


def _guarded_range(*args: int) -> range:
    # The range object itself is lazy; the bomb is what consumes it (sum() runs in C and cannot
    # be interrupted), so refuse at creation.
    result = range(*args)
    try:
        length = len(result)
    except OverflowError:
        length = MAX_RANGE_LENGTH + 1
    if length > MAX_RANGE_LENGTH:
        _refuse(f"range() of more than {MAX_RANGE_LENGTH:,} items")
    return result


def _guarded_sum(iterable: Iterable[Any], /, start: Any = 0) -> Any:
    # Summing sequences concatenates repeatedly inside one C call: quadratic time and memory.
    if isinstance(start, _SEQUENCE_TYPES):
        _refuse("sum() of sequences; build the result with a comprehension instead")
    return sum(iterable, start)


def _guarded_round(number: Any, ndigits: Any = None) -> Any:
    if ndigits is None:
        if isinstance(number, decimal.Decimal):
            _check_decimal_to_int(number)
        return round(number)
    # round(1, -n) computes 10**n internally.
    if isinstance(ndigits, int) and abs(ndigits) > MAX_DECIMAL_DIGITS:
        _refuse("round() to that many digits")
    return round(number, ndigits)


class _ScriptIntType(type):
    """Metaclass that lets the script-visible ``int`` check its results yet still work in isinstance().

    ``int(text, 16)`` builds huge numbers in linear time, and ``int(Decimal('1e999999'))``
    takes ~30 s; a plain wrapper function would break ``isinstance(x, int)`` in scripts.
    """

    def __instancecheck__(cls, instance: object) -> bool:
        return isinstance(instance, int)

    def __subclasscheck__(cls, subclass: type) -> bool:
        return issubclass(subclass, int)

    def __call__(cls, *args: Any, **kwargs: Any) -> int:
        if args and isinstance(args[0], decimal.Decimal):
            _check_decimal_to_int(args[0])
        result = int(*args, **kwargs)
        if result.bit_length() > MAX_INT_BITS:
            _refuse("int() result would be too large")
        return result


class _ScriptInt(metaclass=_ScriptIntType):
    pass


_ScriptInt.__name__ = _ScriptInt.__qualname__ = "int"
_ScriptInt.__module__ = "builtins"


# --- access guards ---------------------------------------------------------------------------

# gi_frame, f_back, ... lead to frames and from there to real globals; mro() to object and its
# subclasses; from_bytes to arbitrarily large integers in one call.
_FORBIDDEN_ATTRIBUTES = frozenset(INSPECT_ATTRIBUTES | {"mro", "from_bytes"})


def _check_attribute_name(obj: Any, name: Any) -> None:
    if not isinstance(name, str):
        raise TypeError("attribute name must be a string")
    if name.startswith("_") or name in _FORBIDDEN_ATTRIBUTES:
        raise ScriptViolation(f"forbidden: access to {name!r} is not allowed")
    # Format strings can reach attributes ('{0.__class__}'), bypassing the checks above.
    if name in ("format", "format_map") and (isinstance(obj, str) or (isinstance(obj, type) and issubclass(obj, str))):
        raise ScriptViolation(f"forbidden: str.{name}() is not allowed; use an f-string instead")
    if name == "as_integer_ratio" and isinstance(obj, decimal.Decimal):
        _check_decimal_to_int(obj)


def _guarded_getattr(obj: Any, name: str, *default: Any) -> Any:
    _check_attribute_name(obj, name)
    return getattr(obj, name, *default)


def _guarded_hasattr(obj: Any, name: str) -> bool:
    _check_attribute_name(obj, name)
    return hasattr(obj, name)


def _guarded_write(obj: Any) -> Any:
    # Scripts legitimately fill dicts and lists (their own or task data); anything else could
    # be an object whose state the engine relies on.
    if isinstance(obj, (dict, list)):
        return obj
    raise ScriptViolation(f"forbidden: modifying a {type(obj).__name__} object is not allowed")


def _guarded_augitem(container: Any, key: Any, op: str, value: Any) -> None:
    # RestrictedPython refuses `totals[k] += v` outright, yet it is one of the most common lines
    # in model scripts; this performs it with the same write and operator guards as the long form.
    _guarded_write(container)[key] = _guarded_inplacevar(op, container[key], value)


def _apply(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    return function(*args, **kwargs)


class _DiscardedPrints:
    """Stands in for RestrictedPython's print collector: model scripts have no console."""

    def __init__(self, _getattr: object = None) -> None:
        pass

    def _call_print(self, *args: object, **kwargs: object) -> None:
        pass

    def __call__(self) -> str:
        return ""


# Built-ins a model script may not call. The one list both the run-time sandbox (each becomes a stub that refuses)
# and the deploy-time check (`refusal_in`, a call to any of them refuses the upload) read, so they cannot drift.
FORBIDDEN_BUILTINS = frozenset(
    {
        "bytearray",
        "classmethod",
        "compile",
        "delattr",
        "dir",
        "eval",
        "exec",
        "exit",
        "globals",
        "help",
        "input",
        "locals",
        "memoryview",
        "object",
        "open",
        "property",
        "quit",
        "setattr",
        "staticmethod",
        "super",
        "type",
        "vars",
    }
)


def _forbidden_builtin(name: str) -> Callable[..., NoReturn]:
    # A stub instead of leaving the name undefined: "forbidden" is a clearer message than
    # NameError, and task data may still use these names as ordinary variables (globals shadow
    # builtins), e.g. a form field called "type".
    def forbidden(*args: object, **kwargs: object) -> NoReturn:
        raise ScriptViolation(f"forbidden: {name}() is not available in scripts")

    forbidden.__name__ = name
    return forbidden


# C functions such as date.today() and datetime.strptime() import these lazily, and CPython
# resolves that import through the __import__ of the *calling* frame's builtins, i.e. the
# script's.  Scripts themselves can never name __import__ (underscore names do not compile).
_MODULES_IMPORTED_BY_C_HELPERS = frozenset({"time", "_strptime"})


def _import_for_c_helpers(
    name: str,
    globals: Mapping[str, object] | None = None,
    locals: Mapping[str, object] | None = None,
    fromlist: Sequence[str] = (),
    level: int = 0,
) -> ModuleType:
    if level != 0 or name not in _MODULES_IMPORTED_BY_C_HELPERS:
        raise ScriptViolation(f"forbidden: importing {name!r} is not allowed")
    return importlib.import_module(name)


def _no_handler_guard() -> None:
    pass


def _build_builtins() -> dict[str, Any]:
    builtins: dict[str, Any] = {**safe_builtins, **limited_builtins}
    for name in (
        "__build_class__",  # class statements are refused anyway
        "_getattr_",  # a guard belongs in the globals, where task data cannot shadow it
        # Exceptions that bypass `except Exception` in Spiff and the web layer.
        "BaseException",
        "GeneratorExit",
        "KeyboardInterrupt",
        "SystemExit",
    ):
        builtins.pop(name, None)
    builtins.update(
        {
            "__import__": _import_for_c_helpers,
            "abs": abs,
            "all": all,
            "any": any,
            "bool": bool,
            "dict": dict,
            "enumerate": enumerate,
            "filter": filter,
            "float": float,
            "getattr": _guarded_getattr,
            "hasattr": _guarded_hasattr,
            "int": _ScriptInt,
            "isinstance": isinstance,
            "len": len,
            # limited_builtins' list()/tuple() reject strings, which only surprises authors.
            "list": list,
            "map": map,
            "max": max,
            "min": min,
            "pow": _guarded_pow,
            "range": _guarded_range,
            "reversed": reversed,
            "round": _guarded_round,
            "set": set,
            "sorted": sorted,
            "str": str,
            "sum": _guarded_sum,
            "tuple": tuple,
            "zip": zip,
            # Living in the builtins rather than the globals lets task data use these names
            # (a "date" field is common) without tripping the overwrite check.
            "Decimal": decimal.Decimal,
            "date": _datetime.date,
            "datetime": _datetime.datetime,
            "timedelta": _datetime.timedelta,
            "timezone": _datetime.timezone,
        }
    )
    for name in FORBIDDEN_BUILTINS:
        builtins[name] = _forbidden_builtin(name)
    return builtins


_SAFE_BUILTINS = _build_builtins()

# Placed after task data when building a namespace, so that no task variable can replace them.
_GUARDS: dict[str, Any] = {
    "__builtins__": _SAFE_BUILTINS,
    "_getattr_": _guarded_getattr,
    "_getitem_": operator.getitem,
    "_getiter_": iter,
    "_write_": _guarded_write,
    "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
    "_unpack_sequence_": guarded_unpack_sequence,
    "_inplacevar_": _guarded_inplacevar,
    "_apply_": _apply,
    "_print_": _DiscardedPrints,
    "_print": _DiscardedPrints(),
    "_pow_": _guarded_pow,
    "_mul_": _guarded_mul,
    "_lshift_": _guarded_lshift,
    "_mod_": _guarded_mod,
    "_augitem_": _guarded_augitem,
    "_handler_guard_": _no_handler_guard,
}


# --- compilation -----------------------------------------------------------------------------

_BINOP_GUARDS: dict[type[ast.operator], str] = {
    ast.Pow: "_pow_",
    ast.LShift: "_lshift_",
    ast.Mult: "_mul_",
    ast.Mod: "_mod_",
}

# Code without these nodes runs each instruction at most once, so it cannot outlast its time
# limit by itself and can skip tracing; that keeps typical gateway conditions cheap.
_REPEATING_NODES = (ast.For, ast.While, ast.comprehension, ast.Lambda, ast.FunctionDef)


class _ScriptPolicy(RestrictingNodeTransformer):
    """RestrictedPython's policy, tightened for model scripts."""

    def visit_Import(self, node: ast.Import) -> ast.AST:
        self.error(node, "import statements are not allowed")
        return node

    def visit_ImportFrom(self, node: ast.ImportFrom) -> ast.AST:
        self.error(node, "import statements are not allowed")
        return node

    def visit_ClassDef(self, node: ast.ClassDef) -> ast.AST:
        self.error(node, "class definitions are not allowed")
        return node

    def visit_Yield(self, node: ast.Yield) -> ast.AST:
        # A suspended generator can run code from the garbage collector, where a time-limit
        # exception would be swallowed and tracing silently switched off.
        self.error(node, "generator functions (yield) are not allowed")
        return node

    def visit_YieldFrom(self, node: ast.YieldFrom) -> ast.AST:
        self.error(node, "generator functions (yield) are not allowed")
        return node

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        node = self.node_contents_visit(node)
        guard = _BINOP_GUARDS.get(type(node.op))
        if guard is None:
            return node
        call = ast.Call(func=ast.Name(guard, ast.Load()), args=[node.left, node.right], keywords=[])
        copy_locations(call, node)
        return call

    def visit_AugAssign(self, node: ast.AugAssign) -> ast.AST:
        target = node.target
        if not isinstance(target, ast.Subscript) or isinstance(target.slice, ast.Slice):
            result = super().visit_AugAssign(node)
            assert isinstance(result, ast.AST)
            return result
        call = ast.Call(
            func=ast.Name("_augitem_", ast.Load()),
            args=[
                self.visit(target.value),
                self.visit(target.slice),
                ast.Constant(IOPERATOR_TO_STR[type(node.op)]),
                self.visit(node.value),
            ],
            keywords=[],
        )
        statement = ast.Expr(call)
        copy_locations(call, node)
        copy_locations(statement, node)
        return statement

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> ast.AST:
        result = super().visit_ExceptHandler(node)
        assert isinstance(result, ast.ExceptHandler)
        result.body.insert(0, self._handler_guard(result))
        return result

    def visit_Try(self, node: ast.Try) -> ast.AST:
        result = super().visit_Try(node)
        assert isinstance(result, ast.Try)
        if result.finalbody:
            result.finalbody.insert(0, self._handler_guard(result.finalbody[0]))
        return result

    @staticmethod
    def _handler_guard(location: ast.AST) -> ast.stmt:
        # CPython switches tracing off for the whole thread when a trace function raises, so a
        # script that catches the time-limit exception would otherwise continue unsupervised.
        # Every handler and finally block therefore starts by re-checking.
        statement = ast.Expr(ast.Call(func=ast.Name("_handler_guard_", ast.Load()), args=[], keywords=[]))
        ast.copy_location(statement, location)
        ast.fix_missing_locations(statement)
        return statement


@functools.lru_cache(maxsize=1024)
def _compile(mode: Literal["eval", "exec"], source: str) -> tuple[CodeType, bool]:
    """Return the restricted code object and whether it needs time-limit tracing.

    Syntax errors propagate as SyntaxError so that Spiff reports their line number.
    """
    tree = ast.parse(source, SCRIPT_FILENAME, mode)
    assert isinstance(tree, (ast.Expression, ast.Module))
    repeats = any(isinstance(node, _REPEATING_NODES) for node in ast.walk(tree))
    compiler = compile_restricted_eval if mode == "eval" else compile_restricted_exec
    result = compiler(tree, SCRIPT_FILENAME, policy=_ScriptPolicy)
    if result.errors:
        raise ScriptViolation("forbidden: " + "; ".join(result.errors))
    assert result.code is not None
    return result.code, repeats


# What the deploy-time check says, one message per kind of refusal (msgids: the web layer translates them, filling
# in `name`; `detail` keeps the sandbox's own English words for whoever debugs the model).
REFUSED_BUILTIN = N_("the code uses %(name)s(), which is not allowed in a procedure")
REFUSED_IMPORT = N_("the code imports %(name)s: importing modules is not allowed in a procedure")
REFUSED_PRIVATE_NAME = N_("the code uses the name %(name)s: names starting with “_” are not allowed in a procedure")
REFUSED_ATTRIBUTE = N_("the code reads the attribute %(name)s, which is not allowed in a procedure")
REFUSED_FORMAT = N_("the code calls str.%(name)s(), which is not allowed in a procedure: write an f-string instead")
REFUSED_CONSTRUCT = N_("the code uses %(name)s, which is not allowed in a procedure")
REFUSED_OTHER = N_("the code uses something the script sandbox refuses. Technical details: %(detail)s")

SANDBOX_MESSAGES = frozenset(
    {
        REFUSED_BUILTIN,
        REFUSED_IMPORT,
        REFUSED_PRIVATE_NAME,
        REFUSED_ATTRIBUTE,
        REFUSED_FORMAT,
        REFUSED_CONSTRUCT,
        REFUSED_OTHER,
    }
)


@dataclass(frozen=True)
class Refusal:
    """Why the sandbox would refuse a script or condition: `message` a msgid above, `name` what it names, `line` the
    line in the code (1-based), `detail` the technical words in English."""

    message: str
    name: str
    line: int
    detail: str


def _refused_attribute(name: str) -> bool:
    return name.startswith("_") or name in _FORBIDDEN_ATTRIBUTES


def _bound_names(tree: ast.AST) -> set[str]:
    """Names the code itself binds: a call to one of them is to the code's own value, not to the built-in."""
    bound: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            bound.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
    return bound


def _node_refusal(node: ast.AST, bound: set[str]) -> tuple[str, str, str] | None:
    """(message, name, detail) when this node alone is something the sandbox refuses at run time."""
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        names = [alias.name for alias in node.names]
        module = node.module if isinstance(node, ast.ImportFrom) and node.module else ", ".join(names)
        return REFUSED_IMPORT, module, "import statements are not allowed"
    if isinstance(node, ast.Name) and node.id.startswith("_") and node.id != "_":
        return REFUSED_PRIVATE_NAME, node.id, f"{node.id!r} starts with '_'"
    if isinstance(node, ast.Attribute):
        if _refused_attribute(node.attr):
            return REFUSED_ATTRIBUTE, node.attr, f"access to {node.attr!r} is not allowed"
        if (
            node.attr in ("format", "format_map")
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        ):
            return REFUSED_FORMAT, node.attr, f"str.{node.attr}() is not allowed"
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        called = node.func.id
        # A bare name may be task data (a form field called "type": globals shadow builtins); called, it is the
        # built-in (task data is JSON, never callable) unless the code defined it itself.
        if called in FORBIDDEN_BUILTINS and called not in bound:
            return REFUSED_BUILTIN, called, f"{called}() is not available in scripts"
        if called in ("getattr", "hasattr") and called not in bound and len(node.args) >= 2:
            attribute = node.args[1]
            if (
                isinstance(attribute, ast.Constant)
                and isinstance(attribute.value, str)
                and _refused_attribute(attribute.value)
            ):
                return REFUSED_ATTRIBUTE, attribute.value, f"access to {attribute.value!r} is not allowed"
    if isinstance(node, ast.ClassDef):
        return REFUSED_CONSTRUCT, "class", "class definitions are not allowed"
    if isinstance(node, (ast.Yield, ast.YieldFrom)):
        return REFUSED_CONSTRUCT, "yield", "generator functions (yield) are not allowed"
    return None


def _receivers(node: ast.AST) -> Iterator[ast.AST]:
    """What `node` reads from, link by link (`a.b().c` → `a.b()`, `a.b`, `a`): a refusal there already says it."""
    while True:
        if isinstance(node, (ast.Attribute, ast.Subscript)):
            node = node.value
        elif isinstance(node, ast.Call):
            node = node.func
        else:
            return
        yield node


def refusals_in(mode: Literal["eval", "exec"], source: str) -> list[Refusal]:
    """What the sandbox would refuse in this script or condition, found without running it (a deploy checks every
    one, so that a model is refused then rather than failing later in front of the person completing a step): every
    thing, in the order of the code (not what is read from a refused thing, as `.__base__` of `().__class__`, and once
    per name and line); none
    when there is nothing, or when the text is not even Python (the caller reports that).

    Reads the same lists the sandbox enforces (`FORBIDDEN_BUILTINS`, the forbidden attributes, RestrictedPython's
    policy), so what fails at run time for what the code is, rather than for the data it meets, fails here."""
    try:
        tree = ast.parse(source, SCRIPT_FILENAME, mode)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    bound = _bound_names(tree)
    refused: dict[ast.AST, tuple[str, str, str]] = {}
    for node in ast.walk(tree):
        refusal = _node_refusal(node, bound)
        if refusal is not None:
            refused[node] = refusal
    found: list[tuple[int, int, tuple[str, str, str]]] = [
        # Ordered by where the node ends: of nested attributes (`().__class__.__base__`) the first one read.
        (getattr(node, "lineno", 1), getattr(node, "end_col_offset", None) or 0, refusal)
        for node, refusal in refused.items()
        if not any(receiver in refused for receiver in _receivers(node))
    ]
    if found:
        refusals: dict[tuple[int, str], Refusal] = {}
        for line, _column, (message, name, detail) in sorted(found, key=lambda item: (item[0], item[1])):
            refusals.setdefault((line, name), Refusal(message, name, line, detail))
        return list(refusals.values())
    try:
        _compile(mode, source)
    except ScriptViolation as violation:
        # RestrictedPython's own list ("Line 1: …; Line 3: …"), one refusal per entry.
        return [
            Refusal(REFUSED_OTHER, "", int(match.group(1)) if match else 1, entry)
            for entry in str(violation).removeprefix("forbidden: ").split("; ")
            for match in [re.match(r"Line (\d+):", entry)]
        ]
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    return []


def refusal_in(mode: Literal["eval", "exec"], source: str) -> Refusal | None:
    """The first of `refusals_in`, or None."""
    return next(iter(refusals_in(mode, source)), None)


# --- environment -----------------------------------------------------------------------------

_TraceFunction = Callable[[FrameType, str, Any], Any]


class RestrictedEnvironment(BasePythonScriptEngineEnvironment):
    """Drop-in replacement for Spiff's TaskDataEnvironment that sandboxes and time-limits scripts."""

    def __init__(self, time_limit: float = 1.0, environment_globals: dict[str, Any] | None = None) -> None:
        if not time_limit > 0:
            raise ValueError("time_limit must be a positive number of seconds")
        super().__init__(environment_globals)
        self.time_limit = float(time_limit)

    def evaluate(self, expression: str, context: dict[str, Any], external_context: dict[str, Any] | None = None) -> Any:
        if not isinstance(expression, str):
            raise TypeError(f"expression must be a string, not {type(expression).__name__}")
        # eval() tolerates the surrounding whitespace that BPMN XML formatting leaves behind.
        code, repeats = _compile("eval", expression.strip())
        namespace = {**self.globals, **(external_context or {}), **context, **_GUARDS}
        return self._run(code, namespace, repeats)

    def execute(
        self, script: str | None, context: dict[str, Any], external_context: dict[str, Any] | None = None
    ) -> bool:
        external = external_context or {}
        self._check_for_overwrite(context, external)
        if script is None:  # an empty <bpmn:script/> element
            return True
        if not isinstance(script, str):
            raise TypeError(f"script must be a string, not {type(script).__name__}")
        code, repeats = _compile("exec", script)
        # Like Spiff's TaskDataEnvironment, the task data itself is the global namespace, so
        # whatever the script assigns becomes task data.
        preexisting_private = {key for key in context if isinstance(key, str) and key.startswith("_")}
        context.update(self.globals)
        context.update(external)
        context.update(_GUARDS)
        try:
            self._run(code, context, repeats)
        finally:
            self._remove_helpers(context, external, preexisting_private)
        return True

    def call_service(self, context: dict[str, Any], **kwargs: Any) -> NoReturn:
        raise ScriptViolation("service tasks are not enabled")

    def _run(self, code: CodeType, namespace: dict[str, Any], repeats: bool) -> Any:
        if not repeats:
            return eval(code, namespace)  # noqa: S307 - restricted code object, see _compile

        deadline = time.perf_counter() + self.time_limit
        message = f"time limit of {self.time_limit} s exceeded"
        previous: Any = sys.gettrace()
        countdown = _OPCODES_PER_CLOCK_CHECK

        def trace_script_frame(frame: FrameType, event: str, arg: Any) -> _TraceFunction:
            nonlocal countdown
            if event == "opcode":
                countdown -= 1
                if countdown <= 0:
                    countdown = _OPCODES_PER_CLOCK_CHECK
                    if time.perf_counter() > deadline:
                        raise ScriptTimeout(message)
            return trace_script_frame

        def trace_call(frame: FrameType, event: str, arg: Any) -> _TraceFunction | None:
            if frame.f_code.co_filename == SCRIPT_FILENAME:
                frame.f_trace_opcodes = True
                return trace_script_frame
            # Keep coverage tools and debuggers working for everything that is not the script.
            return previous(frame, event, arg) if previous is not None else None

        def handler_guard() -> None:
            if time.perf_counter() > deadline:
                raise ScriptTimeout(message)
            if sys.gettrace() is not trace_call:
                # Tracing was switched off because the tracer itself failed (deep recursion or
                # memory exhaustion) and the script caught that error.
                _refuse("the script can no longer be supervised after an error in its time-limit check")

        namespace["_handler_guard_"] = handler_guard
        sys.settrace(trace_call)
        try:
            return eval(code, namespace)  # noqa: S307 - restricted code object, see _compile
        finally:
            sys.settrace(previous)

    def _check_for_overwrite(self, context: Mapping[str, Any], external: Mapping[str, Any]) -> None:
        clashes = (set(self.globals) | set(external) | (set(_GUARDS) - {"__builtins__"})) & set(context)
        if clashes:
            raise ValueError(
                "Task data overwrites predefined script name(s); rename these variables or fields: "
                + ", ".join(sorted(map(str, clashes)))
            )

    def _remove_helpers(
        self, context: dict[str, Any], external: Mapping[str, Any], preexisting_private: set[str]
    ) -> None:
        # Same rule as Spiff (builtins, functions, injected globals go), plus the guards and any
        # private helper name RestrictedPython introduced.
        for key in list(context):
            if (
                key in _GUARDS
                or key in self.globals
                or key in external
                or callable(context[key])
                or (isinstance(key, str) and key.startswith("_") and key != "_" and key not in preexisting_private)
            ):
                del context[key]


class RestrictedScriptEngine(PythonScriptEngine):
    """PythonScriptEngine that keeps the reason a script failed attached to Spiff's error.

    Spiff wraps environment errors in WorkflowTaskException but, for expressions, drops the
    wrapped exception's message (only its class name survives as ``error_type``), so a refused
    gateway condition would read just "Error evaluating expression ...".  Here the reason is
    added as a note (which Spiff includes in ``str()``) and chained as ``__cause__``.
    """

    def evaluate(self, task: Any, expression: str, external_context: dict[str, Any] | None = None) -> Any:
        try:
            return super().evaluate(task, expression, external_context)
        except WorkflowTaskException as error:
            cause = _attach_cause(error)
            if cause is not None:
                reason = f"{type(cause).__name__}: {cause}"
                if reason not in error.notes:
                    error.add_note(reason)
            raise

    def execute(self, task: Any, script: str, external_context: dict[str, Any] | None = None) -> Any:
        try:
            return super().execute(task, script, external_context)
        except WorkflowTaskException as error:
            # The message already carries the reason; only the chaining is missing.
            _attach_cause(error)
            raise

    def call_service(self, task: Any, **kwargs: Any) -> NoReturn:
        # Spiff's default implementation refers to an undefined name on failure, which would
        # surface as a confusing NameError instead of the real reason.
        reason = ScriptViolation("service tasks are not enabled")
        raise WorkflowTaskException(str(reason), task=task, exception=reason) from reason


def _attach_cause(error: WorkflowTaskException) -> BaseException | None:
    """Chain the environment's exception explicitly; return it unless Spiff already reported it."""
    cause = error.__cause__ or error.__context__
    if cause is None or isinstance(cause, SpiffWorkflowException):
        return None
    if error.__cause__ is None:
        error.__cause__ = cause
    return cause


def create_script_engine(time_limit: float = 1.0) -> PythonScriptEngine:
    """Build the script engine every workflow in this application must use."""
    return RestrictedScriptEngine(environment=RestrictedEnvironment(time_limit=time_limit))
