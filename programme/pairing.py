"""Pairing rounds: mutual peers on similar weekly hours, never repeated, probation members receive only.

An exact minimum-cost matching is cubic, far too slow for 20,000 staff. Without constraints, pairing
neighbours in hours order is optimal, so we sweep people in that order taking the nearest valid free
partner; Edmonds' augmenting paths then place anyone the sweep left out who can be placed; chains of
exchanges between nearby pairs (Lin-Kernighan style) repair the cost that history and probation
added; finally anyone still loose joins a pair as a trio.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from datetime import date

from programme.model import Pair, PairRound, Person, Unplaced
from programme.settings import ProgrammeSettings

# Hours are floats: a change must gain more than this, so rounding noise never loops.
_EPS = 1e-9
# Local exchanges look this many positions either side (in hours order) for new partners.
_REACH = 6
_STEPS = tuple(step for distance in range(1, _REACH + 1) for step in (-distance, distance))
# Lin-Kernighan breadth per level of an exchange chain: wide near the start, narrow deep down.
_BREADTH = (12, 6, 4, 3, 2, 2)
# Bounds the augmenting searches (in person-steps) so hopeless cases cannot take quadratic time.
_SEARCH_BUDGET = 2_000_000
# Every exchange strictly lowers the cost, so passes end on their own. The pass limit and the budget
# of chain steps (a floor plus a share per person) only bound the time on rosters unlike any
# workplace's (most staff in probation, or history pairing nearly everyone).
_MAX_PASSES = 8
_CHAIN_STEPS = 300_000
_CHAIN_STEPS_PER_PERSON = 20
_ALONE = -1
_NOBODY: frozenset[int] = frozenset()


def _root(parent: list[int], i: int) -> int:
    """Union-find root with path compression."""
    root = i
    while parent[root] != root:
        root = parent[root]
    while parent[i] != root:
        parent[i], i = root, parent[i]
    return root


class _FreeGivers:
    """The nearest still-free giver above or below a position, in near-constant amortised time."""

    def __init__(self, gives: list[bool]) -> None:
        n = len(gives)
        # _up[i] leads to the first free position >= i (n if none); _down[i + 1] leads to one past
        # the last free position <= i (0 if none). Taking a position links it to its neighbour.
        self._up = [i if g else i + 1 for i, g in enumerate(gives)] + [n]
        self._down = [0] + [i + 1 if g else i for i, g in enumerate(gives)]

    def above(self, i: int) -> int:
        return _root(self._up, i)

    def below(self, i: int) -> int:
        return _root(self._down, i + 1) - 1

    def take(self, i: int) -> None:
        self._up[i] = i + 1
        self._down[i + 1] = i


class _Matcher:
    """People by position in (hours, email) order; `mate` holds each one's partner or _ALONE."""

    def __init__(self, hours: list[float], gives: list[bool], forbidden: dict[int, set[int]]) -> None:
        self.hours = hours
        self.gives = gives
        self.forbidden = forbidden
        self.n = len(hours)
        self.mate = [_ALONE] * self.n
        self.trio_extra: dict[int, int] = {}  # lower member of a pair -> the third person
        self.chain_steps_left = _CHAIN_STEPS + _CHAIN_STEPS_PER_PERSON * self.n
        self.maximum = True  # whether the matching is known to be maximum (augment ran to the end)

    def allowed(self, a: int, b: int) -> bool:
        return b not in self.forbidden.get(a, _NOBODY)

    def valid(self, a: int, b: int) -> bool:
        return (self.gives[a] or self.gives[b]) and b not in self.forbidden.get(a, _NOBODY)

    def cost(self, a: int, b: int) -> float:
        return abs(self.hours[a] - self.hours[b])

    def join(self, a: int, b: int) -> None:
        self.mate[a] = b
        self.mate[b] = a

    def sweep(self) -> None:
        """Greedy pass: receivers first (only givers will do for them), then givers, in hours order."""
        free = _FreeGivers(self.gives)
        order = [i for i in range(self.n) if not self.gives[i]] + [i for i in range(self.n) if self.gives[i]]
        for i in order:
            if self.gives[i]:
                if self.mate[i] != _ALONE:
                    continue
                free.take(i)
            partner = self._nearest_free_giver(i, free)
            if partner != _ALONE:
                free.take(partner)
                self.join(i, partner)

    def _nearest_free_giver(self, i: int, free: _FreeGivers) -> int:
        up = free.above(i + 1)
        while up < self.n and not self.allowed(i, up):
            up = free.above(up + 1)
        down = free.below(i - 1)
        while down >= 0 and not self.allowed(i, down):
            down = free.below(down - 1)
        candidates = [j for j in (down, up) if 0 <= j < self.n]
        return min(candidates, key=lambda j: self.cost(i, j)) if candidates else _ALONE

    def augment(self) -> None:
        """Edmonds' blossom search from each loose person: re-pair along a path that places two more."""
        budget = _SEARCH_BUDGET
        loose = [i for i in range(self.n) if self.mate[i] == _ALONE]
        # A person with no augmenting path now never gets one later (Edmonds), so one pass will do.
        for root in list(loose):
            if len(loose) < 2 or not self._could_augment(loose):
                return
            if budget <= 0:
                self.maximum = False
                return
            if self.mate[root] == _ALONE:
                budget -= self._augment_from(root, loose, budget)
                loose = [i for i in loose if self.mate[i] == _ALONE]
        self.maximum = budget > 0

    def _could_augment(self, loose: list[int]) -> bool:
        # When everyone loose is in probation, a path between two of them must pass through a
        # giver+giver pair; with every pair giver+receiver it would end receiver-receiver.
        return any(self.gives[i] for i in loose) or any(
            self.gives[a] and self.gives[b] for a, b in enumerate(self.mate) if b != _ALONE
        )

    def _augment_from(self, root: int, loose: list[int], budget: int) -> int:
        """One search (as in e-maxx's Edmonds), given up past the budget; returns the work done."""
        n, mate = self.n, self.mate
        base = list(range(n))
        parent = [_ALONE] * n  # for inner vertices: the outer vertex that reached them
        outer = [False] * n
        outer[root] = True
        queue = deque([root])
        work = n
        while queue and work < budget:
            v = queue.popleft()
            work += n + len(loose)
            if self._reach_loose(v, root, loose, parent):
                return work
            for to in range(n):
                # Loose people other than the root were all tried by _reach_loose.
                if base[v] == base[to] or mate[v] == to or (mate[to] == _ALONE and to != root):
                    continue
                if not self.valid(v, to):
                    continue
                if to == root or parent[mate[to]] != _ALONE:
                    work += n
                    self._contract(base, parent, outer, queue, v, to)
                elif parent[to] == _ALONE:
                    parent[to] = v
                    outer[mate[to]] = True
                    queue.append(mate[to])
                    # Looking ahead from each new outer vertex finds the short paths of a dense graph
                    # before its many odd cycles cost a contraction each.
                    if self._reach_loose(mate[to], root, loose, parent):
                        return work
        return work

    def _reach_loose(self, v: int, root: int, loose: list[int], parent: list[int]) -> bool:
        """Augment if outer vertex v can pair with a loose person other than the root."""
        end = next((w for w in loose if w != root and self.valid(v, w)), _ALONE)
        if end == _ALONE:
            return False
        parent[end] = v
        while end != _ALONE:
            inner, following = parent[end], self.mate[parent[end]]
            self.join(end, inner)
            end = following
        return True

    def _contract(
        self, base: list[int], parent: list[int], outer: list[bool], queue: deque[int], v: int, to: int
    ) -> None:
        """Shrink the odd cycle closed by edge (v, to) into one outer vertex."""
        mate = self.mate
        seen = [False] * self.n
        a = v
        while True:
            a = base[a]
            seen[a] = True
            if mate[a] == _ALONE:
                break
            a = parent[mate[a]]
        b = to
        while not seen[base[b]]:
            b = parent[mate[base[b]]]
        top = base[b]
        blossom = [False] * self.n
        for x, child in ((v, to), (to, v)):
            while base[x] != top:
                blossom[base[x]] = blossom[base[mate[x]]] = True
                parent[x] = child
                child = mate[x]
                x = parent[mate[x]]
        for i in range(self.n):
            if blossom[base[i]]:
                base[i] = top
                if not outer[i]:
                    outer[i] = True
                    queue.append(i)

    def improve(self) -> None:
        """Local exchanges between nearby pairs while they lower the total hours difference."""
        # Don't-look bits: after the first pass only pairs near a change can have a new improvement.
        dirty = set(range(self.n))
        for _ in range(_MAX_PASSES):
            touched: set[int] = set()
            for a in sorted(dirty):
                b = self.mate[a]
                # Pairs of hours-order neighbours are locally optimal: any improving exchange also
                # breaks a costly pair of non-neighbours, so chains start only from those.
                if b <= a + 1 or self.cost(a, b) <= _EPS:
                    continue
                chain = self._chain(b, a, self.cost(a, b), 0, [a, b]) or self._chain(
                    a, b, self.cost(a, b), 0, [a, b]
                )
                for x, y in chain or ():
                    self.join(x, y)
                    touched.update((x, y))
            touched.update(self._swap_in_loose())
            if not touched:
                return
            dirty = {j for i in touched for j in self._near(i)} | touched
            dirty |= {self.mate[i] for i in dirty if self.mate[i] != _ALONE}

    def _swap_in_loose(self) -> list[int]:
        """A loose person takes the place of a pair member when that brings the pair closer in hours.

        Returns the people whose partner changed."""
        changed: list[int] = []
        loose = [i for i in range(self.n) if self.mate[i] == _ALONE]
        for u in loose:
            best: tuple[float, int, int] | None = None
            for b in self._near(u):
                a = self.mate[b]
                if a == _ALONE or not self.valid(u, b):
                    continue
                # In a maximum matching the swapped-out a cannot pair with anyone loose (that would be
                # an augmenting path); only a search cut short by its budget needs the check.
                if not self.maximum and any(self.valid(a, w) for w in loose if w != u):
                    continue
                gain = self.cost(a, b) - self.cost(u, b)
                if gain > _EPS and (best is None or gain > best[0]):
                    best = (gain, a, b)
            if best is not None:
                _, a, b = best
                self.mate[a] = _ALONE
                self.join(u, b)
                loose[loose.index(u)] = a  # in u's slot, so this pass does not revisit a
                changed += [a, b, u]
        return changed

    def _near(self, i: int) -> list[int]:
        """Positions around i, nearest first."""
        return [i + step for step in _STEPS if 0 <= i + step < self.n]

    def _chain(
        self, anchor: int, walker: int, gain: float, level: int, touched: list[int]
    ) -> list[tuple[int, int]] | None:
        """Alternating chain (Lin-Kernighan style): walker takes c, c's old mate walks on, until someone
        pairs with the anchor at a net gain. Each partial chain must keep a positive gain, and deeper
        levels try fewer candidates, nearest in hours first."""
        hours, mate, gives = self.hours, self.mate, self.gives
        barred = self.forbidden.get(walker, _NOBODY)
        tries = _BREADTH[level]
        self.chain_steps_left -= 1
        if self.chain_steps_left < 0:
            return None
        for step in _STEPS:
            c = walker + step
            if not 0 <= c < self.n:
                continue
            d = mate[c]
            if d == _ALONE or c in touched or c in barred or not (gives[walker] or gives[c]):
                continue
            g = gain + abs(hours[c] - hours[d]) - abs(hours[walker] - hours[c])
            if g <= _EPS:
                continue
            if g - abs(hours[d] - hours[anchor]) > _EPS and self.valid(d, anchor):
                return [(walker, c), (d, anchor)]
            if level + 1 < len(_BREADTH):
                rest = self._chain(anchor, d, g, level + 1, [*touched, c, d])
                if rest is not None:
                    return [(walker, c), *rest]
            tries -= 1
            if tries == 0:
                break
        return None

    def make_trios(self) -> None:
        """Each person still loose joins the pair it adds least cost to, one extra per pair."""
        open_pairs = [a for a in range(self.n) if self.mate[a] > a]
        # Extras keep mate == _ALONE; the loop only moves forward, so each loose person is seen once.
        for u in range(self.n):
            if self.mate[u] != _ALONE or not open_pairs:
                continue
            best: tuple[float, int] | None = None
            # Pairs nearest in hours first, so a costless trio usually ends the search at once.
            for k in _outward(bisect_left(open_pairs, u), len(open_pairs)):
                a = open_pairs[k]
                b = self.mate[a]
                if not (self.allowed(u, a) and self.allowed(u, b)):
                    continue
                # Positions follow hours, so hours[a] <= hours[b].
                added = max(0.0, self.hours[a] - self.hours[u]) + max(0.0, self.hours[u] - self.hours[b])
                if best is None or added < best[0]:
                    best = (added, k)
                    if added <= _EPS:
                        break
            if best is not None:
                self.trio_extra[open_pairs.pop(best[1])] = u


def _outward(start: int, size: int) -> Iterator[int]:
    """Indexes start, start - 1, start + 1, start - 2, ... within range(size)."""
    above, below = start, start - 1
    while above < size or below >= 0:
        if above < size:
            yield above
            above += 1
        if below >= 0:
            yield below
            below -= 1


def rotate_pairs(
    people: Iterable[Person], history: Sequence[PairRound], today: date, settings: ProgrammeSettings
) -> PairRound:
    """The next pairing round: no repeats from any earlier round, similar hours, probation receives only."""
    ranked = sorted(
        (
            settings.default_hours_per_week if p.hours_per_week is None else p.hours_per_week,
            p.email,
            not p.in_probation(today),
        )
        for p in people
        if p.active
    )
    emails = [email for _, email, _ in ranked]
    position = {email: i for i, email in enumerate(emails)}
    forbidden: dict[int, set[int]] = {}
    for earlier in history:
        for pair in earlier.pairs:
            members = [position[e] for e in pair.peers if e in position]
            for a in members:
                forbidden.setdefault(a, set()).update(b for b in members if b != a)

    matcher = _Matcher([h for h, _, _ in ranked], [g for _, _, g in ranked], forbidden)
    matcher.sweep()
    matcher.augment()
    matcher.improve()
    matcher.make_trios()

    pairs: list[Pair] = []
    unpaired: list[Unplaced] = []
    extras = set(matcher.trio_extra.values())
    givers = sum(matcher.gives)
    for a, b in enumerate(matcher.mate):
        if b == _ALONE and a not in extras:
            unpaired.append(Unplaced(emails[a], _unpaired_reason(matcher, a, givers)))
        elif b > a:
            members = [a, b] + ([matcher.trio_extra[a]] if a in matcher.trio_extra else [])
            pairs.append(
                Pair(
                    peers=tuple(sorted(emails[i] for i in members)),
                    receives_only=tuple(sorted(emails[i] for i in members if not matcher.gives[i])),
                )
            )
    pairs.sort(key=lambda pair: pair.peers)
    number = 1 + max((earlier.number for earlier in history), default=0)
    return PairRound(number=number, started_on=today, pairs=tuple(pairs), unpaired=tuple(unpaired))


def _unpaired_reason(matcher: _Matcher, u: int, givers: int) -> str:
    """Why nobody could be paired with u, in words a coordinator can act on."""
    if matcher.n == 1:
        return "nobody else is taking part in this round"
    receives = not matcher.gives[u]
    candidates = givers if receives else matcher.n - 1
    if receives and candidates == 0:
        return "in probation, and nobody out of probation is taking part to be their peer"
    seen = matcher.forbidden.get(u, _NOBODY)
    if len([v for v in seen if matcher.gives[v] or not receives]) == candidates:
        who = "everyone out of probation" if receives else "everyone taking part"
        return f"already paired in earlier rounds with {who}"
    return "everyone they have not been paired with before is already in a pair or trio they cannot join"
