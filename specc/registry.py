"""Registries for every nameable thing, filled from entry points.

Layer kinds, trainer regimes, datasets, backends, losses, metrics, optimizers, schedules,
initializers and activation functions: built-ins register through the same entry-point groups
third parties use (``specc.<group>``, see :data:`GROUPS`). Discovery is lazy and isolated: one
scan of the installed metadata maps each entry-point name to its entry point, an entry's module
is imported the first time its name is looked up (an alias, a listing or an unknown name loads
the whole group), and a plugin that fails to import, or that registers a name already taken,
is recorded as broken with the reason and never breaks the others. Tests get a fresh registry
with :func:`isolated`. A base class that is not itself an entry is marked with
:func:`abstract`.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import os
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import SpecError, did_you_mean

if TYPE_CHECKING:
    from importlib import metadata

_SINGULAR = {"layers": "layer", "trainers": "trainer", "datasets": "dataset", "backends": "backend",
             "losses": "loss", "metrics": "metric", "optimizers": "optimizer",
             "schedules": "schedule", "initializers": "initializer",
             "activations": "activation"}
GROUPS = {group: f"specc.{group}" for group in _SINGULAR}
#: Groups whose entries are :class:`specc.entries.Entry` classes (checked when registered).
ENTRY_GROUPS = ("losses", "metrics", "optimizers", "schedules", "initializers", "activations")


def abstract(cls: type) -> type:
    """Mark ``cls`` as a base class, not an entry (subclasses are not marked)."""
    cls._specc_abstract = cls  # type: ignore[attr-defined]
    return cls


def is_abstract(cls: Any) -> bool:
    """Whether ``cls`` itself (not a parent) was marked with :func:`abstract`."""
    return isinstance(cls, type) and cls.__dict__.get("_specc_abstract") is cls


class RegistryError(Exception):
    """A registration conflict (duplicate name). Reported per plugin, never fatal to others."""


@dataclass
class PluginInfo:
    """One distribution (or module) that provided entries, and whether it loaded."""

    name: str
    version: str | None
    provides: dict[str, list[str]] = field(default_factory=dict)  # group -> names
    errors: list[str] = field(default_factory=list)  # each reason once
    broken: dict[str, list[str]] = field(default_factory=dict)  # group -> names not loaded

    @property
    def ok(self) -> bool:
        return not self.errors

    def fail(self, kind: str, name: str, reason: str) -> None:
        """Record that entry ``name`` of ``kind`` did not load, keeping each reason once."""
        self.broken.setdefault(kind, []).append(name)
        if reason not in self.errors:
            self.errors.append(reason)


class Registry:
    """Named entries of one kind (e.g. layer kinds), with aliases and their origins."""

    def __init__(self, kind: str) -> None:
        self.kind = kind  # "layers", "trainers", ...
        self.what = _SINGULAR[kind]  # "layer", "trainer", ... (for messages)
        self._entries: dict[str, Any] = {}
        self._origin: dict[str, str] = {}
        self._aliases: dict[str, str] = {}
        self._provider: dict[str, str] = {}  # name -> distribution that provides it
        self._broken_names: dict[str, str] = {}  # entry-point name -> plugin that failed
        # entry-point name -> (rank, load) of entries not imported yet; rank is the load order
        # of the whole group (built-ins first), so loading by name or all at once agree
        self._pending: dict[str, list[tuple[int, Callable[[], None]]]] = {}

    def defer(self, name: str, rank: int, load: Callable[[], None]) -> None:
        """Remember an entry point named ``name``; ``load()`` imports and registers it."""
        self._pending.setdefault(name, []).append((rank, load))

    def load_pending(self, name: str | None = None) -> None:
        """Import the deferred entries named ``name`` (``None``: all of them), in rank order."""
        if name is None:
            todo = [item for items in self._pending.values() for item in items]
            self._pending.clear()
        else:
            todo = self._pending.pop(name, [])
        for _, load in sorted(todo, key=lambda item: item[0]):
            load()

    def register(self, obj: Any, name: str | None = None, *, origin: str | None = None,
                 provider: str | None = None) -> Any:
        """Register ``obj`` under ``name`` (default ``obj.name``) and its ``aliases``."""
        name = name or getattr(obj, "name", None)
        if not name or not isinstance(name, str):
            raise RegistryError(f"{self.kind} entry {obj!r} has no 'name'")
        origin = origin or getattr(obj, "__module__", "?")
        existing = self._entries.get(name)
        if existing is not None and existing is not obj:
            raise RegistryError(
                f"duplicate {_SINGULAR[self.kind]} name '{name}': registered by "
                f"{self._origin[name]} and again by {origin}"
            )
        aliases = tuple(getattr(obj, "aliases", ()) or ())
        for alias in aliases:
            owner = self._aliases.get(alias) or (alias if alias in self._entries else None)
            if owner is not None and owner != name:
                raise RegistryError(
                    f"duplicate {_SINGULAR[self.kind]} alias '{alias}': used by '{owner}' "
                    f"({self._origin[owner]}) and by '{name}' ({origin})"
                )
        self._entries[name] = obj
        self._origin[name] = origin
        if provider:
            self._provider[name] = provider
        for alias in aliases:
            self._aliases[alias] = name
        return obj

    def canonical(self, name: str) -> str | None:
        """The registered name for ``name`` or one of its aliases (case-sensitive), else None.

        Loads the entry points named ``name`` first; when that finds nothing (an alias, or an
        entry that names itself differently), every deferred entry of the group."""
        for load in (name, None):
            if name in self._entries:
                return name
            if name in self._aliases:
                return self._aliases[name]
            if not self._pending:
                break
            self.load_pending(load)
        return self._aliases.get(name)

    def is_name(self, name: str) -> bool:
        """Whether ``name`` names an entry, imported or not (aliases excluded; imports nothing,
        so the answer does not grow with the installed entries)."""
        return name in self._entries or name in self._pending

    def get(self, name: str) -> Any:
        """The entry named ``name``; an unknown name is a SpecError with suggestions."""
        canon = self.canonical(name)
        if canon is not None:
            return self._entries[canon]
        raise self.unknown(name)

    def unknown(self, name: str) -> SpecError:
        self.load_pending()
        what = _SINGULAR[self.kind]
        if name in self._broken_names:
            plugin = self._broken_names[name]
            return SpecError(
                f"{what} '{name}' comes from plugin '{plugin}', which failed to load",
                hint="run 'specc plugins' to see why",
            )
        if any(c in name for c in ".:/"):
            return SpecError(f"unknown {what} '{name}'", hint="a spec cannot import code; "
                             "install the plugin that provides it, or pass --plugin MODULE")
        hint = did_you_mean(name, self._entries) or did_you_mean(name, self._aliases)
        if hint is None:
            hint = f"is the plugin that provides it installed? see 'specc plugins' and 'specc {self.kind}'"
        return SpecError(f"unknown {what} '{name}'", hint=hint)

    def names(self) -> list[str]:
        self.load_pending()
        return sorted(self._entries)

    def aliases_of(self, name: str) -> list[str]:
        self.load_pending()
        return sorted(a for a, n in self._aliases.items() if n == name)

    def origin(self, name: str) -> str:
        self.canonical(name)
        return self._origin[name]

    def provider(self, name: str) -> str | None:
        self.canonical(name)
        return self._provider.get(name)

    def items(self) -> list[tuple[str, Any]]:
        self.load_pending()
        return sorted(self._entries.items())

    def __contains__(self, name: str) -> bool:
        return self.canonical(name) is not None


class Registries:
    """One registry per group plus the plugin table; discovery happens on first use."""

    def __init__(self, discover: bool = True) -> None:
        self._regs = {kind: Registry(kind) for kind in GROUPS}
        self.plugins: dict[str, PluginInfo] = {}
        self._failed_modules: dict[str, str] = {}  # module -> why it failed to import
        self._loaded_modules: set[str] = set()  # --plugin / SPECC_PLUGINS modules imported here
        self._scanned: set[str] = set() if discover else set(GROUPS)
        self._env_loaded = not discover
        self._entry_points: metadata.EntryPoints | None = None  # one metadata scan, on first use
        self._dists: dict[int, tuple[str, str | None]] = {}  # METADATA is slow to read: once each

    def __getitem__(self, kind: str) -> Registry:
        if kind not in self._scanned:
            self._scan(kind)
        return self._regs[kind]

    @property
    def layers(self) -> Registry:
        return self["layers"]

    @property
    def trainers(self) -> Registry:
        return self["trainers"]

    @property
    def datasets(self) -> Registry:
        return self["datasets"]

    @property
    def backends(self) -> Registry:
        return self["backends"]

    @property
    def losses(self) -> Registry:
        return self["losses"]

    @property
    def metrics(self) -> Registry:
        return self["metrics"]

    @property
    def optimizers(self) -> Registry:
        return self["optimizers"]

    @property
    def schedules(self) -> Registry:
        return self["schedules"]

    @property
    def initializers(self) -> Registry:
        return self["initializers"]

    @property
    def activations(self) -> Registry:
        return self["activations"]

    # -- discovery ------------------------------------------------------------------------
    def ensure_discovered(self, *kinds: str) -> None:
        """Import every entry of ``kinds`` (default: every group) not imported yet.

        Lookups need no call to this: a group's entry points are listed on first use and each
        entry is imported when its name is first looked up, so validating a spec imports the
        modules of the kinds it uses only (and no dataset, trainer, loss or metric module, nor
        numpy with them, without a ``train:`` section)."""
        for kind in kinds or GROUPS:
            self[kind].load_pending()

    def _scan(self, kind: str) -> None:
        """List the entry points of ``kind``, deferring each import to its first lookup."""
        self._scanned.add(kind)
        if self._entry_points is None:
            from importlib import metadata  # 30 ms and more: not for 'import specc' alone

            self._entry_points = metadata.entry_points()  # one scan of the installed dists
            _no_pydantic_plugins(self._entry_points)
        found = []
        for ep in self._entry_points.select(group=GROUPS[kind]):
            if ep.dist is None:
                found.append((ep, ep.module, None))
                continue
            if id(ep.dist) not in self._dists:
                meta = ep.dist.metadata
                self._dists[id(ep.dist)] = (meta["Name"], meta["Version"])
            found.append((ep, *self._dists[id(ep.dist)]))
        # Built-ins first, then plugins by name: a plugin never shadows a built-in, and which
        # of two plugins claiming one name wins does not depend on sys.path order.
        found.sort(key=lambda f: (f[1] != "specc", f[1].lower()))
        reg = self._regs[kind]
        for rank, (ep, dist, version) in enumerate(found):
            reg.defer(ep.name, rank, functools.partial(self._load_entry, kind, ep.name,
                                                       ep.load, dist, version, ep.value))
        if not self._env_loaded:
            self._env_loaded = True
            for module in _env_plugins():
                self.load_module(module, "SPECC_PLUGINS")

    def _plugin(self, name: str, version: str | None) -> PluginInfo:
        info = self.plugins.get(name)
        if info is None:
            info = self.plugins[name] = PluginInfo(name, version)
        return info

    def _load_entry(self, kind: str, name: str, loader: Any, dist: str, version: str | None,
                    value: str) -> None:
        with _using(self):  # entries that register more names at import land here
            self._import_entry(kind, name, loader, dist, version, value)

    def _import_entry(self, kind: str, name: str, loader: Any, dist: str, version: str | None,
                      value: str) -> None:
        info = self._plugin(dist, version)
        reg = self._regs[kind]
        module = value.split(":")[0].strip()
        if module in self._failed_modules:  # one import failure, one report
            reg._broken_names.setdefault(name, dist)
            info.fail(kind, name, self._failed_modules[module])
            return
        try:
            obj = loader()
        except (Exception, SystemExit) as exc:  # a broken plugin must not break the others
            reason = f"cannot import {value}: {type(exc).__name__}: {exc}"
            if module not in sys.modules:
                self._failed_modules[module] = reason
            reg._broken_names.setdefault(name, dist)
            info.fail(kind, name, reason)
            return
        own = getattr(obj, "name", None)
        own = own if isinstance(own, str) and own else name
        try:
            _check(kind, obj, value)
            reg.register(obj, own, origin=f"{module} ({dist})", provider=dist)
        except RegistryError as exc:
            reg._broken_names.setdefault(name, dist)
            info.fail(kind, own, str(exc))
            return
        info.provides.setdefault(kind, []).append(own)

    def load_module(self, module: str, source: str | None = None) -> None:
        """Import a user-named plugin module (``--plugin`` / ``SPECC_PLUGINS``).

        The module registers its entries with :func:`register_layer` and friends while this
        registry is current. ``source`` names where the name came from (``SPECC_PLUGINS``) for
        the error location. specc's own modules are refused: importing one again would make
        a second copy of its classes (``SpecError`` among them).
        """
        where = {"path": (source,)} if source else {}
        if not _MODULE.fullmatch(module):
            raise SpecError("a plugin is an importable module name (dotted identifiers, such "
                            "as my_layers or pkg.layers)", received=module, **where,
                            hint="--plugin and SPECC_PLUGINS take importable module names; "
                            "SPECC_PLUGINS separates them with commas")
        if module.split(".")[0] == "specc":
            raise SpecError("specc's own modules are not plugins", received=module, **where,
                            hint="name the module of a plugin; built-in kinds are always "
                            "loaded")
        with _using(self):
            try:
                if module in sys.modules and module not in self._loaded_modules and \
                        module in _PLUGIN_MODULES and not self._has_entries_from(module):
                    importlib.reload(sys.modules[module])  # imported before, into another registry
                else:
                    importlib.import_module(module)
                self._loaded_modules.add(module)
                _PLUGIN_MODULES.add(module)
            except ModuleNotFoundError as exc:
                if exc.name and (module == exc.name or module.startswith(exc.name + ".")):
                    raise SpecError(f"plugin module '{module}' was not found", received=module,
                                    **where, hint="--plugin and SPECC_PLUGINS take an "
                                    "importable module name") from None
                raise SpecError(f"plugin module '{module}' failed to import: {exc}",
                                **where) from None
            except RegistryError as exc:
                raise SpecError(f"plugin module '{module}': {exc}", **where) from None
            except Exception as exc:  # the module the user named is broken: their error
                raise SpecError(f"plugin module '{module}' failed to import: "
                                f"{type(exc).__name__}: {exc}", **where) from None

    def _has_entries_from(self, module: str) -> bool:
        return any(origin.split(" ")[0] == module
                   for reg in self._regs.values() for origin in reg._origin.values())


def _check(kind: str, obj: Any, value: str, name: str | None = None) -> None:
    """Refuse an entry that cannot be one of ``kind`` (an abstract base included)."""
    if is_abstract(obj):
        raise RegistryError(f"{value} is an abstract base, not {_a(_SINGULAR[kind])}")
    if kind == "layers":
        _check_layer_kind(obj, value, name)
    elif kind in ENTRY_GROUPS:
        _check_entry(kind, obj, value, name)


def _check_entry(kind: str, obj: Any, value: str, name: str | None) -> None:
    """A loss, metric, ... entry: a subclass of the group's base in :mod:`specc.entries`."""
    from pydantic import BaseModel

    from .entries import BASES

    base = BASES[kind]
    name = name or getattr(obj, "name", None)
    problems = []
    params = getattr(obj, "Params", None)
    if not (isinstance(obj, type) and issubclass(obj, base)):
        problems.append(f"it must subclass {base.__module__}.{base.__qualname__}")
    elif not (isinstance(params, type) and issubclass(params, BaseModel)
              and params.model_config.get("extra") == "forbid"):
        problems.append("'Params' must be a pydantic model that forbids unknown fields "
                        "(derive from specc.entries.NoParams)")
    if not isinstance(name, str) or not _SNAKE.match(name):
        problems.append(f"'name' must be a snake_case string (received {name!r})")
    if problems:
        raise RegistryError(f"{value} is not {_a(_SINGULAR[kind])}: " + "; ".join(problems))


def _a(word: str) -> str:
    return ("an " if word[0] in "aeiou" else "a ") + word


def _check_layer_kind(obj: Any, value: str, name: str | None = None) -> None:
    """Refuse an entry that cannot be a layer kind, so it fails here and not in every command."""
    from pydantic import BaseModel

    name = name or getattr(obj, "name", None)
    params = getattr(obj, "Params", None)
    problems = []
    if not isinstance(name, str) or not _SNAKE.match(name):
        problems.append(f"'name' must be a snake_case string (received {name!r})")
    if not (isinstance(params, type) and issubclass(params, BaseModel)):
        problems.append("'Params' must be a pydantic model class")
    for method in ("infer", "build"):
        if not callable(getattr(obj, method, None)):
            problems.append(f"'{method}' is missing")
    if problems:
        raise RegistryError(f"{value} is not a layer kind: " + "; ".join(problems))


_SNAKE = re.compile(r"^[a-z][a-z0-9_]*$")
_MODULE = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$", re.ASCII)
_PLUGIN_MODULES: set[str] = set()  # modules imported as --plugin / SPECC_PLUGINS (any registry)


def _no_pydantic_plugins(eps: metadata.EntryPoints) -> None:
    """Tell pydantic that no pydantic plugin is installed when this scan found none.

    pydantic looks for its plugins with a scan of every installed distribution of its own (10 ms
    and more) the first time it builds a validator; its answer would be this empty table. With
    any plugin installed, or a pydantic without that cache, pydantic looks as usual."""
    if eps.select(group="pydantic"):
        return
    try:
        from pydantic.plugin import _loader
    except ImportError:
        return
    if getattr(_loader, "_plugins", False) is None:
        _loader._plugins = {}


def _env_plugins() -> list[str]:
    return [m.strip() for m in os.environ.get("SPECC_PLUGINS", "").split(",") if m.strip()]


_current: Registries | None = None


def current() -> Registries:
    """The registries in force (created and discovered on first use)."""
    global _current
    if _current is None:
        _current = Registries()
    return _current


@contextlib.contextmanager
def _using(regs: Registries) -> Iterator[Registries]:
    global _current
    previous, _current = _current, regs
    try:
        yield regs
    finally:
        _current = previous


@contextlib.contextmanager
def isolated(discover: bool = False) -> Iterator[Registries]:
    """A fresh registry for the duration of a ``with`` block (tests, sandboxes).

    With ``discover=False`` it starts empty; register what the test needs.
    """
    with _using(Registries(discover=discover)) as regs:
        yield regs


def _register(kind: str, obj: Any = None, *, name: str | None = None) -> Any:
    def deco(o: Any) -> Any:
        regs = current()
        regs.ensure_discovered(kind)  # a name or alias taken in this group is a duplicate
        info = regs._plugin(getattr(o, "__module__", "?"), None)
        _check(kind, o, f"{o.__module__}.{o.__qualname__}", name)
        regs._regs[kind].register(o, name)
        info.provides.setdefault(kind, []).append(name or o.name)
        return o

    return deco(obj) if obj is not None else deco


def register_layer(obj: Any = None, *, name: str | None = None) -> Any:
    """Register a layer kind class in the current registry (decorator)."""
    return _register("layers", obj, name=name)


def register_trainer(obj: Any = None, *, name: str | None = None) -> Any:
    """Register a trainer regime in the current registry (decorator)."""
    return _register("trainers", obj, name=name)


def register_dataset(obj: Any = None, *, name: str | None = None) -> Any:
    """Register a dataset source in the current registry (decorator)."""
    return _register("datasets", obj, name=name)


def register_backend(obj: Any = None, *, name: str | None = None) -> Any:
    """Register a backend in the current registry (decorator)."""
    return _register("backends", obj, name=name)


def register_loss(obj: Any = None, *, name: str | None = None) -> Any:
    """Register a loss (a :class:`specc.entries.Loss` subclass) in the current registry."""
    return _register("losses", obj, name=name)


def register_metric(obj: Any = None, *, name: str | None = None) -> Any:
    """Register a metric (a :class:`specc.entries.Metric` subclass) in the current registry."""
    return _register("metrics", obj, name=name)


def register_optimizer(obj: Any = None, *, name: str | None = None) -> Any:
    """Register an optimizer (a :class:`specc.entries.Optimizer` subclass)."""
    return _register("optimizers", obj, name=name)


def register_schedule(obj: Any = None, *, name: str | None = None) -> Any:
    """Register a learning-rate schedule (a :class:`specc.entries.Schedule` subclass)."""
    return _register("schedules", obj, name=name)


def register_initializer(obj: Any = None, *, name: str | None = None) -> Any:
    """Register a weight initializer (a :class:`specc.entries.Initializer` subclass)."""
    return _register("initializers", obj, name=name)


def register_activation(obj: Any = None, *, name: str | None = None) -> Any:
    """Register an activation function (a :class:`specc.entries.Activation` subclass)."""
    return _register("activations", obj, name=name)


def layers() -> Registry:
    return current().layers
