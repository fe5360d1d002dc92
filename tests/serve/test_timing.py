"""fcray.serve.timing: a stream passes through unchanged and its first and last items are timed once each."""

import asyncio

import pytest

from fcray.serve import timing


@pytest.fixture
def recorded(monkeypatch):
    calls = []
    monkeypatch.setattr(timing, "record", lambda stage, seconds: calls.append((stage, seconds)))
    return calls


async def _items(values, fail_after=None):
    for i, value in enumerate(values):
        if fail_after is not None and i == fail_after:
            raise ConnectionError("replica died")
        await asyncio.sleep(0.01)
        yield value


async def _collect(stream):
    return [item async for item in stream]


@pytest.mark.parametrize("values, fail_after, stages", [
    (["a", "b", "c"], None, ["server_first", "server_last"]),  # both ends, in order
    (["a"], None, ["server_first", "server_last"]),            # one item: first and last
    ([], None, ["server_last"]),                               # nothing streamed: only the end
    (["a", "b"], 1, ["server_first"]),                         # broken stream: no end recorded
])
def test_timed_stream(recorded, values, fail_after, stages):
    import time

    stream = timing.timed_stream(_items(values, fail_after), time.perf_counter(), "server")
    if fail_after is None:
        assert asyncio.run(_collect(stream)) == values
    else:
        with pytest.raises(ConnectionError):
            asyncio.run(_collect(stream))
    assert [stage for stage, _ in recorded] == stages
    seconds = [s for _, s in recorded]
    assert seconds == sorted(seconds) and all(s >= 0 for s in seconds)
