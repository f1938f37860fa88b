"""The rules' registry: each rule function registers the lists it produces, its scope and the named
inputs it takes; the registry runs them in the order the lists' dependencies declare
(``schemas.lists``: ``depends_on``), computing each shared input once per run.

A rule registers with ``@rule(code, ..., scope=MEMBER or TREE, parameter="input name", ...)``:
every parameter it is called with is named, and each is bound to one input:

- a table of the run: ``central.<table>`` (``CentralData``), ``submissions.<table>``
  (``SubmissionData``); the run's ``as_of`` (normalized), ``period``, ``mode``;
- an intermediate that a function registered with ``provides`` computes from other inputs
  (``screened``, ``period.roster``, ``roster_match``, ``paired_in``, ...; see ``rules.inputs``);
- ``DEPENDENCIES``: the findings of the lists its lists depend on, in their declared order.

Scope "member" rules see one partition's members and their tables (``member_rules``, once per
partition); "tree" rules see every member and no big member table (``tree_rules``, once). A rule
may only depend on lists of its own scope: the other scope's findings do not exist where it runs.

Nothing here imports a rule module (they import this one); ``rules.reconcile`` imports them all,
so the registry is complete wherever ``rules`` has been imported.
"""

from __future__ import annotations

import heapq
import inspect
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, fields
from typing import Any, Literal

import pandas as pd

from rules.common import none
from schemas.datasets import CentralData, RunContext, SubmissionData
from schemas.lists import LISTS, ListSpec

Scope = Literal["member", "tree"]
MEMBER: Scope = "member"  # per partition: the partition's members and their ratings, documents, ...
TREE: Scope = "tree"  # once over the whole tree: every member, the transfers, rosters, candidates
SCOPES: tuple[Scope, ...] = (MEMBER, TREE)

# The input that holds the findings of the lists the rule's lists depend on.
DEPENDENCIES = "dependencies"

# The run's own values (``RunContext``); the tables are named after ``CentralData``/``SubmissionData``.
CONTEXT_INPUTS = ("as_of", "period", "mode")
BASE_INPUTS: frozenset[str] = frozenset(
    [f"central.{f.name}" for f in fields(CentralData)]
    + [f"submissions.{f.name}" for f in fields(SubmissionData)]
    + list(CONTEXT_INPUTS)
)


class PlanError(ValueError):
    """The rules cannot be planned: a list without a rule (or with two), an unknown list or input,
    a dependency across scopes, or lists that depend on each other in a circle."""


@dataclass(frozen=True, eq=False)
class Rule:
    fn: Callable[..., pd.DataFrame]
    codes: tuple[str, ...]  # the lists it produces (its findings carry these list codes only)
    scope: Scope
    inputs: Mapping[str, str]  # parameter -> input name

    @property
    def name(self) -> str:
        return f"{self.fn.__module__}.{self.fn.__qualname__}"

    def __repr__(self) -> str:
        return f"Rule({self.name}: {', '.join(self.codes)})"


@dataclass(frozen=True, eq=False)
class Provider:
    name: str
    fn: Callable[..., Any]
    inputs: Mapping[str, str]  # parameter -> input name


def _bind(fn: Callable[..., Any], inputs: Mapping[str, str], what: str) -> None:
    """Every bound parameter exists, and every parameter without a default is bound."""
    params = inspect.signature(fn).parameters
    unknown = sorted(set(inputs) - set(params))
    if unknown:
        raise PlanError(f"{what}: {fn.__qualname__} has no parameter {', '.join(unknown)}")
    unbound = [
        p.name
        for p in params.values()
        if p.default is inspect.Parameter.empty
        and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        and p.name not in inputs
    ]
    if unbound:
        raise PlanError(f"{what}: parameter {', '.join(unbound)} of {fn.__qualname__} is bound to no input")


def concat_findings(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Findings frames end to end (empty ones skipped: they may lack columns)."""
    frames = [f for f in frames if not f.empty]
    return pd.concat(frames, ignore_index=True) if frames else none()


class Registry:
    """Rules and providers of one set of lists (``schemas.lists.LISTS`` unless told otherwise)."""

    def __init__(self, lists: Mapping[str, ListSpec] | None = None) -> None:
        self.lists: Mapping[str, ListSpec] = LISTS if lists is None else lists
        self.rules: dict[str, Rule] = {}  # list code -> the rule that produces it
        self.providers: dict[str, Provider] = {}
        self._plans: dict[tuple, tuple[Rule, ...]] = {}
        self._rank = {code: i for i, code in enumerate(self.lists)}  # ties broken by list order

    # --- registration ----------------------------------------------------------------------------

    def rule(self, *codes: str, scope: Scope, **inputs: str) -> Callable[[Callable], Callable]:
        """Decorator: ``fn`` produces the lists ``codes`` over ``scope``; ``inputs`` binds each of
        its parameters to an input name. The function itself is returned unchanged."""

        def register(fn: Callable[..., pd.DataFrame]) -> Callable[..., pd.DataFrame]:
            self.add_rule(Rule(fn, tuple(codes), scope, dict(inputs)))
            return fn

        return register

    def add_rule(self, r: Rule) -> None:
        what = f"rule {r.name}"
        if not r.codes:
            raise PlanError(f"{what} names no list")
        unknown = [c for c in r.codes if c not in self.lists]
        if unknown:
            raise PlanError(f"{what}: {', '.join(unknown)} is not a list of schemas/lists.py")
        if r.scope not in SCOPES:
            raise PlanError(f"{what}: scope {r.scope!r} is not one of {', '.join(SCOPES)}")
        taken = [f"{c} (by {self.rules[c].name})" for c in r.codes if c in self.rules]
        if taken:
            raise PlanError(f"{what}: already produced: {', '.join(taken)}")
        _bind(r.fn, r.inputs, what)
        if DEPENDENCIES in r.inputs.values() and not any(self.lists[c].depends_on for c in r.codes):
            raise PlanError(f"{what} takes {DEPENDENCIES!r}, but its lists depend on none")
        for c in r.codes:
            self.rules[c] = r
        self._plans.clear()

    def provides(self, name: str, **inputs: str) -> Callable[[Callable], Callable]:
        """Decorator: ``fn`` computes the input ``name`` (once per run) from ``inputs``."""

        def register(fn: Callable[..., Any]) -> Callable[..., Any]:
            self.add_provider(Provider(name, fn, dict(inputs)))
            return fn

        return register

    def add_provider(self, p: Provider) -> None:
        what = f"input {p.name!r}"
        if p.name in BASE_INPUTS or p.name == DEPENDENCIES or p.name in self.providers:
            raise PlanError(f"{what} is provided twice")
        if DEPENDENCIES in p.inputs.values():
            raise PlanError(f"{what}: only a rule takes {DEPENDENCIES!r}")
        _bind(p.fn, p.inputs, what)
        self.providers[p.name] = p
        self._plans.clear()

    # --- planning ----------------------------------------------------------------------------------

    def dependencies(self, r: Rule) -> tuple[str, ...]:
        """The lists ``r``'s lists depend on (declared order, its own lists left out)."""
        deps = (d for c in r.codes for d in self.lists[c].depends_on)
        return tuple(dict.fromkeys(d for d in deps if d not in r.codes))

    def _check_lists(self) -> None:
        """Every dependency names a list; the lists' dependencies have no circle."""
        for code, spec in self.lists.items():
            unknown = [d for d in spec.depends_on if d not in self.lists]
            if unknown:
                raise PlanError(f"{code} depends on {', '.join(unknown)}: not a list of schemas/lists.py")
        state: dict[str, int] = {}  # 1 on the path, 2 done
        path: list[str] = []

        def visit(code: str) -> None:
            state[code] = 1
            path.append(code)
            for d in self.lists[code].depends_on:
                if state.get(d) == 1:
                    circle = " -> ".join([*path[path.index(d) :], d])
                    raise PlanError(f"lists depend on each other in a circle: {circle}")
                if d not in state:
                    visit(d)
            path.pop()
            state[code] = 2

        for code in self.lists:
            if code not in state:
                visit(code)

    def _check_inputs(self) -> None:
        """Every input a rule or provider takes is provided, and no provider needs itself."""
        known = BASE_INPUTS | set(self.providers)
        for r in dict.fromkeys(self.rules.values()):
            missing = sorted(n for n in r.inputs.values() if n not in known and n != DEPENDENCIES)
            if missing:
                raise PlanError(f"rule {r.name} takes {', '.join(missing)}, which nothing provides")
        state: dict[str, int] = {}

        def visit(name: str, path: tuple[str, ...]) -> None:
            p = self.providers.get(name)
            if p is None or state.get(name) == 2:
                return
            if state.get(name) == 1:
                raise PlanError(f"inputs computed from each other: {' -> '.join([*path, name])}")
            state[name] = 1
            missing = sorted(n for n in p.inputs.values() if n not in known)
            if missing:
                raise PlanError(f"input {name!r} takes {', '.join(missing)}, which nothing provides")
            for n in p.inputs.values():
                visit(n, (*path, name))
            state[name] = 2

        for name in self.providers:
            visit(name, ())

    def plan(self, scope: Scope | None = None, only: Iterable[str] | None = None) -> tuple[Rule, ...]:
        """The rules to run, each after the rules of the lists it depends on (ties: the lists'
        order). ``scope``: that scope's rules only; ``only``: the rules of these lists and of
        everything they depend on."""
        key = (scope, None if only is None else frozenset(only))
        if key not in self._plans:
            self._plans[key] = self._plan(scope, key[1])
        return self._plans[key]

    def _plan(self, scope: Scope | None, only: frozenset[str] | None) -> tuple[Rule, ...]:
        self._check_lists()
        missing = [c for c in self.lists if c not in self.rules]
        if missing:
            raise PlanError(f"no rule produces {', '.join(missing)}")
        self._check_inputs()
        rules = list(dict.fromkeys(self.rules[c] for c in self.lists))
        after: dict[Rule, set[Rule]] = {r: set() for r in rules}  # rule -> the rules it needs first
        for r in rules:
            for d in self.dependencies(r):
                dep = self.rules[d]
                if dep.scope != r.scope:
                    raise PlanError(
                        f"{', '.join(r.codes)} ({r.scope}) depends on {d} ({dep.scope}): "
                        "a rule sees only its own scope's findings"
                    )
                after[r].add(dep)
        # Kahn's algorithm; among the rules ready to run, the one whose first list comes first.
        rank = {r: min(self._rank[c] for c in r.codes) for r in rules}
        waiting = {r: len(after[r]) for r in rules}
        unlocks: dict[Rule, list[Rule]] = {r: [] for r in rules}
        for r, deps in after.items():
            for dep in deps:
                unlocks[dep].append(r)
        ready = [(rank[r], r) for r in rules if not waiting[r]]  # ranks differ: lists have one rule
        heapq.heapify(ready)
        order: list[Rule] = []
        while ready:
            _, r = heapq.heappop(ready)
            order.append(r)
            for nxt in unlocks[r]:
                waiting[nxt] -= 1
                if not waiting[nxt]:
                    heapq.heappush(ready, (rank[nxt], nxt))
        if len(order) < len(rules):  # a circle through a rule of several lists
            stuck = sorted({c for r in rules if waiting[r] for c in r.codes}, key=self._rank.get)
            raise PlanError(f"rules depend on each other in a circle: {', '.join(stuck)}")
        if only is not None:
            unknown = sorted(set(only) - set(self.lists))
            if unknown:
                raise PlanError(f"{', '.join(unknown)}: not a list of schemas/lists.py")
            wanted: set[Rule] = set()
            todo = [self.rules[c] for c in only]
            while todo:
                r = todo.pop()
                if r not in wanted:
                    wanted.add(r)
                    todo.extend(after[r])
            order = [r for r in order if r in wanted]
        return tuple(r for r in order if scope is None or r.scope == scope)

    # --- running -------------------------------------------------------------------------------------

    def run(
        self,
        central: CentralData,
        submissions: SubmissionData,
        ctx: RunContext,
        *,
        scope: Scope | None = None,
        only: Iterable[str] | None = None,
    ) -> dict[str, pd.DataFrame]:
        """Run the plan over one run's data: list code -> its raw findings (before ``finalize``),
        for every list the plan ran (with ``only``, the lists they depend on included)."""
        inputs = _Inputs(self.providers, central, submissions, ctx)
        found: dict[str, pd.DataFrame] = {}
        joined: dict[tuple[str, ...], pd.DataFrame] = {}  # both badge lists take the removal findings
        for r in self.plan(scope, only):
            args = {}
            for param, name in r.inputs.items():
                if name == DEPENDENCIES:
                    deps = self.dependencies(r)
                    if deps not in joined:
                        joined[deps] = concat_findings([found[d] for d in deps])
                    args[param] = joined[deps]
                else:
                    args[param] = inputs[name]
            out = r.fn(**args)
            if len(r.codes) == 1:
                found[r.codes[0]] = out
            else:
                for code in r.codes:
                    found[code] = out[(out["list_code"] == code).to_numpy()]
        return found


class _Inputs:
    """The named inputs of one run, each computed on first use and kept for the run."""

    def __init__(
        self,
        providers: Mapping[str, Provider],
        central: CentralData,
        submissions: SubmissionData,
        ctx: RunContext,
    ) -> None:
        self._providers = providers
        self._central, self._submissions = central, submissions
        self._values: dict[str, Any] = {
            "as_of": ctx.as_of,
            "period": ctx.period,
            "mode": ctx.mode,
        }

    def __getitem__(self, name: str) -> Any:
        if name not in self._values:
            source, _, table = name.partition(".")
            if name in self._providers:
                p = self._providers[name]
                self._values[name] = p.fn(**{param: self[n] for param, n in p.inputs.items()})
            elif source == "central":
                self._values[name] = getattr(self._central, table)
            elif source == "submissions":
                self._values[name] = getattr(self._submissions, table)
            else:
                raise KeyError(name)
        return self._values[name]


# The registry of the 27 lists: rules/*.py register here.
REGISTRY = Registry()
rule = REGISTRY.rule
provides = REGISTRY.provides
