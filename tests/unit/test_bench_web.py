"""`make bench-web --against`: the two commands' days alternate (`bench.web._interleaved`)."""

from pathlib import Path

from bench.web import _interleaved, _label


def test_two_commands_take_turns_day_by_day_and_each_keeps_its_own_days():
    before, after = Path("/checkouts/before/.venv/bin/newsdesk"), Path("/checkouts/after/.venv/bin/newsdesk")
    order: list[str] = []

    def day(command: Path) -> dict:
        order.append(command.parents[2].name)
        return {"run": len(order)}

    days = _interleaved([after, before], 3, day)
    assert order == ["after", "before", "after", "before", "after", "before"]
    assert days == {after: [{"run": 1}, {"run": 3}, {"run": 5}], before: [{"run": 2}, {"run": 4}, {"run": 6}]}
    assert _label(before, [after, before]) == "[before] "
    assert _label(after, [after]) == ""
