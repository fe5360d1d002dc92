"""Other names a tool could have been given: its verb swapped for a synonym, or another casing.

Training rows that offer their tools under such names teach a model to take a function's name from the
offered schemas instead of from memory: the request says "what's the weather in Oslo", and whether the
answer calls ``get_weather``, ``fetch_weather`` or ``checkWeather`` depends only on what the prompt offers
(``data.augment.rename_tools_ratio``). The simulators of the embedded catalog answer to these names too
(fcray.synth.tools), so renamed rows execute and score like the originals.
"""

from __future__ import annotations

import re

# Verbs of tool names and what else they are commonly called (function-calling datasets' own variety).
VERB_SYNONYMS: dict[str, tuple[str, ...]] = {
    "get": ("fetch", "lookup", "retrieve", "query", "check"),
    "book": ("reserve", "schedule", "buy"),
    "reserve": ("book", "hold", "request"),
    "send": ("dispatch", "deliver", "post"),
    "create": ("add", "make", "new"),
    "add": ("insert", "put", "append"),
    "set": ("configure", "update", "adjust"),
    "search": ("find", "lookup", "browse"),
    "find": ("search", "locate", "lookup"),
    "calculate": ("compute", "calc", "estimate"),
    "convert": ("transform", "change", "exchange"),
    "translate": ("localize", "render", "convert"),
    "define": ("explain", "lookup", "describe"),
    "order": ("buy", "request", "purchase"),
    "track": ("trace", "locate", "follow"),
    "play": ("start", "stream", "queue"),
    "turn": ("switch", "toggle", "power"),
    "log": ("record", "save", "track"),
    "upload": ("store", "push", "save"),
    "share": ("grant", "send", "publish"),
    "rent": ("hire", "book", "lease"),
    "schedule": ("plan", "arrange", "book"),
}
_WORD = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")


def name_words(name: str) -> list[str]:
    """The lower-case words of a snake_case, kebab-case or camelCase name.

    >>> name_words("get_weather"), name_words("getStockPrice"), name_words("send-SMS")
    (['get', 'weather'], ['get', 'stock', 'price'], ['send', 'sms'])
    """
    return [w.lower() for w in _WORD.findall(name)]


def name_aliases(name: str) -> tuple[str, ...]:
    """Every other name for ``name``, in a fixed order: each verb (its own and its synonyms) in snake_case and
    camelCase, then the name in PascalCase. ``name`` itself is never among them.

    >>> name_aliases("get_weather")[:4]
    ('getWeather', 'fetch_weather', 'fetchWeather', 'lookup_weather')
    >>> "GetWeather" in name_aliases("get_weather"), "get_weather" in name_aliases("get_weather")
    (True, False)
    """
    words = name_words(name)
    if not words:
        return ()
    verbs = (words[0], *VERB_SYNONYMS.get(words[0], ()))
    out: list[str] = []
    for verb in verbs:
        parts = [verb, *words[1:]]
        out += ["_".join(parts), parts[0] + "".join(p.capitalize() for p in parts[1:])]
    out.append("".join(p.capitalize() for p in words))
    return tuple(dict.fromkeys(a for a in out if a != name))

