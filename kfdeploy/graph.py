"""Application dependency graphs: one stable order and one cycle finder, shared by the spec
checks and the renderer. A graph maps a name to the names it depends on."""

from __future__ import annotations

from collections.abc import Mapping, Sequence


def find_cycle(graph: Mapping[str, Sequence[str]]) -> list[str]:
    """One dependency cycle as a path that returns to its start (``a -> b -> a``), or []."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done

    def visit(node: str, path: list[str]) -> list[str]:
        state[node] = 1
        for nxt in graph.get(node, []):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [node, nxt] if nxt in path else [node, nxt]
            if nxt not in state:
                found = visit(nxt, path + [node])
                if found:
                    return found
        state[node] = 2
        return []

    for start in sorted(graph):
        if start not in state:
            found = visit(start, [])
            if found:
                return found
    return []


def stable_order(graph: Mapping[str, Sequence[str]]) -> list[str]:
    """Dependencies first; among names that are ready, the one listed first wins, so the order
    follows the spec wherever the graph allows. Names outside the graph are ignored.
    Raises ValueError carrying the cycle path when there is one."""
    done: list[str] = []
    placed: set[str] = set()
    pending = list(graph)
    while pending:
        ready = next((n for n in pending if all(d in placed or d not in graph for d in graph[n])), None)
        if ready is None:
            raise ValueError(" -> ".join(find_cycle({n: graph[n] for n in pending})))
        done.append(ready)
        placed.add(ready)
        pending.remove(ready)
    return done
