"""Deterministic simulators of every catalog tool (fcray.synth.catalog), so that "the call executes" means
more than "the call fits its schema", and two calls can be compared by what they return (the ``result``
reward, fcray.toolcall.reward).

A small world is built once, at import, from its own seed (:data:`WORLD_SEED`, independent of the data
seed, so every dataset describes the same world): weather and forecasts per city, exchange rates, share
and coin prices, airports and flights, hotels, restaurants, products, parcels, headlines, showtimes,
scores, contacts, files, rooms. "Now" is a fixed instant (:data:`NOW`), never the wall clock, and no call
changes the world, so a result never depends on the order of calls.

Each tool is one function that takes the tool's arguments as keyword arguments and returns a small JSON
dict. A name that refers to something in the world (a city, airport, ticker, currency, contact, product,
file, ...) must be in its table, looked up ignoring case, spaces and punctuation (as the match check
compares strings); free text (messages, titles, search terms) is taken as it is. Arguments that pass the
JSON schema but make no sense raise :class:`ToolError` with a message that names the argument:

>>> get_weather(city="oslo")["city"]
'Oslo'
>>> book_flight(origin="JFK", destination="JFK", date="2025-01-15")
Traceback (most recent call last):
...
fcray.toolcall.execute.ToolError: destination: same as origin ('JFK')
>>> convert_units(value=3, from_unit="km", to_unit="kg")
Traceback (most recent call last):
...
fcray.toolcall.execute.ToolError: to_unit: cannot convert km (length) into kg (mass)

Every value the generator can produce is accepted (tests/synth/test_tools.py executes the reference calls
of generated data). :func:`register` is the ``fcray.tools`` entry point (pyproject.toml) that plugs these
into fcray.toolcall's default registry, each for its catalog tool's exact schema.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import random
import re
from collections.abc import Callable
from typing import Any

from fcray.synth.catalog import (
    AIRPORTS,
    CATALOG,
    CITIES,
    CUISINES,
    CURRENCIES,
    FILES,
    GENRES,
    LANGUAGES,
    PACKAGES,
    PEOPLE,
    PRODUCTS,
    SYMBOLS,
    TEAMS,
    TICKERS,
    TIMEZONES,
    TOPICS,
)
from fcray.toolcall.execute import ToolError, ToolRegistry
from fcray.toolcall.match import standardize
from fcray.toolcall.names import name_aliases

WORLD_SEED = 1729
NOW = dt.datetime(2025, 6, 1, 12, 0, tzinfo=dt.timezone.utc)
TODAY = NOW.date()


class Table(dict):
    """Rows by name. :meth:`find` looks a name up the way the match check compares strings (case, spaces and
    punctuation ignored) and returns the table's spelling, so "paris" and "Paris" give the same result."""

    def __init__(self, what: str, rows: dict[str, Any]) -> None:
        super().__init__(rows)
        self.what = what
        self._names = {standardize(name): name for name in rows}

    def lookup(self, value: str) -> str | None:
        return self._names.get(standardize(value))

    def find(self, value: str, argument: str) -> str:
        name = self.lookup(value)
        if name is None:
            raise ToolError(f"{argument}: unknown {self.what} '{value}'")
        return name


def _pool(tool: str, param: str) -> tuple[Any, ...]:
    """A parameter's values in the catalog: the world knows exactly the things the task talks about."""
    spec = next(t for t in CATALOG if t.name == tool)
    return next(p for p in spec.params if p.name == param).pool


# ---- the world: fixed facts, then tables drawn in this order from one seeded generator ---------------------

_CONDITIONS = ("sunny", "partly cloudy", "cloudy", "rain", "showers", "windy", "fog", "snow")
# Real coordinates, so distances (flights, directions) are plausible.
_CITY_AT = {"Paris": (48.86, 2.35), "London": (51.51, -0.13), "Tokyo": (35.68, 139.69), "Berlin": (52.52, 13.40),
            "Madrid": (40.42, -3.70), "Rome": (41.90, 12.50), "Lisbon": (38.72, -9.14), "Oslo": (59.91, 10.75),
            "Cairo": (30.04, 31.24), "Lima": (-12.05, -77.04), "Denver": (39.74, -104.99), "Toronto": (43.65, -79.38),
            "Sydney": (-33.87, 151.21), "Seoul": (37.57, 126.98), "Mumbai": (19.08, 72.88), "Nairobi": (-1.29, 36.82),
            "Boston": (42.36, -71.06), "Dublin": (53.35, -6.26), "Vienna": (48.21, 16.37), "Prague": (50.08, 14.44),
            "Austin": (30.27, -97.74), "Chicago": (41.88, -87.63), "Munich": (48.14, 11.58), "Zurich": (47.38, 8.54),
            "Athens": (37.98, 23.73), "Bangkok": (13.76, 100.50), "Hanoi": (21.03, 105.85), "Quito": (-0.18, -78.47),
            "Santiago": (-33.45, -70.67), "Helsinki": (60.17, 24.94)}
_AIRPORT_AT = {"JFK": ("New York", 40.64, -73.78), "LAX": ("Los Angeles", 33.94, -118.41),
               "SFO": ("San Francisco", 37.62, -122.38), "ORD": ("Chicago", 41.97, -87.91),
               "LHR": ("London", 51.47, -0.45), "CDG": ("Paris", 49.01, 2.55), "FRA": ("Frankfurt", 50.03, 8.56),
               "AMS": ("Amsterdam", 52.31, 4.76), "NRT": ("Tokyo", 35.77, 140.39), "SYD": ("Sydney", -33.94, 151.18),
               "DXB": ("Dubai", 25.25, 55.36), "MAD": ("Madrid", 40.47, -3.56), "FCO": ("Rome", 41.80, 12.25),
               "BOS": ("Boston", 42.36, -71.01)}
# Approximate units per US dollar; the world adds a little noise of its own.
_PER_USD = {"USD": 1.0, "EUR": 0.92, "GBP": 0.79, "JPY": 156.0, "CHF": 0.9, "CAD": 1.37, "AUD": 1.5, "SEK": 10.5,
            "NOK": 10.6, "INR": 83.0}
_COIN_USD = {"BTC": 67000.0, "ETH": 3500.0, "SOL": 150.0, "ADA": 0.45, "DOT": 7.0}
_UTC_OFFSET_MIN = {"UTC": 0, "Europe/Paris": 120, "America/New_York": -240, "Asia/Tokyo": 540,
                   "Australia/Sydney": 600}  # at NOW (June: summer time in Paris and New York)
UNITS = Table("unit", {"km": ("length", 1000.0), "miles": ("length", 1609.344), "kg": ("mass", 1.0),
                       "pounds": ("mass", 0.45359237), "liters": ("volume", 1.0), "gallons": ("volume", 3.785411784)})
_MET = {"running": 9.8, "cycling": 7.5, "swimming": 8.0, "yoga": 3.0, "rowing": 7.0}  # energy per activity
_CUISINE_WORD = {"italian": "Trattoria", "thai": "Thai Kitchen", "mexican": "Cantina", "indian": "Curry House",
                 "japanese": "Sushi Bar", "greek": "Taverna", "vietnamese": "Pho House", "french": "Bistro",
                 "korean": "Korean Grill"}
DICTIONARY = Table("word", {
    "serendipity": ("the occurrence of fortunate events by chance", "Finding the cafe was pure serendipity."),
    "ephemeral": ("lasting for a very short time", "Internet fame is often ephemeral."),
    "ubiquitous": ("present or found everywhere", "Smartphones have become ubiquitous."),
    "resilient": ("able to recover quickly from difficulties", "Children are remarkably resilient."),
    "meticulous": ("showing great attention to detail", "She kept meticulous records."),
    "eloquent": ("fluent and persuasive in speaking or writing", "He gave an eloquent speech."),
    "pragmatic": ("dealing with things sensibly and realistically", "We need a pragmatic solution."),
    "candid": ("truthful and straightforward; frank", "She was candid about her mistakes."),
})
# The catalog's phrases in each of its languages (in the order of catalog.LANGUAGES); other text is marked.
_PHRASEBOOK = {
    "good morning": ("bonjour", "guten Morgen", "buenos días", "buongiorno", "おはようございます", "좋은 아침입니다",
                     "bom dia", "goedemorgen", "god morgon"),
    "where is the station": ("où est la gare", "wo ist der Bahnhof", "dónde está la estación", "dov'è la stazione",
                             "駅はどこですか", "역이 어디예요", "onde fica a estação", "waar is het station",
                             "var ligger stationen"),
    "thank you": ("merci", "danke", "gracias", "grazie", "ありがとう", "감사합니다", "obrigado", "dank je", "tack"),
    "I am hungry": ("j'ai faim", "ich habe Hunger", "tengo hambre", "ho fame", "お腹が空きました", "배고파요",
                    "estou com fome", "ik heb honger", "jag är hungrig"),
    "how much is it": ("c'est combien", "wie viel kostet das", "cuánto cuesta", "quanto costa", "いくらですか",
                       "얼마예요", "quanto custa", "hoeveel kost het", "hur mycket kostar det"),
    "see you tomorrow": ("à demain", "bis morgen", "hasta mañana", "a domani", "また明日", "내일 봐요", "até amanhã",
                         "tot morgen", "vi ses i morgon"),
}
_PHRASES = Table("phrase", {text: dict(zip(LANGUAGES, row, strict=True)) for text, row in _PHRASEBOOK.items()})
LANGUAGE_NAMES = Table("language", {name: None for name in ("English", *LANGUAGES)})


def _condition(temperature_c: int, rng: random.Random) -> str:
    return rng.choice(_CONDITIONS if temperature_c <= 1 else _CONDITIONS[:-1])  # snow only near freezing


def _weather(city: str, rng: random.Random) -> dict[str, Any]:
    # June: warmest near 20°N, colder towards the poles (winter in the south), plus the day's own noise
    temperature = round(32 - 0.35 * abs(_CITY_AT[city][0] - 20)) + rng.randint(-4, 4)
    return {"temperature_c": temperature, "condition": _condition(temperature, rng), "humidity": rng.randint(20, 95),
            "wind_kph": rng.randint(0, 45)}


def _day_ahead(now: dict[str, Any], day: int, rng: random.Random) -> dict[str, Any]:
    high = now["temperature_c"] + rng.randint(-3, 5)
    return {"date": str(TODAY + dt.timedelta(days=day)), "high_c": high, "low_c": high - rng.randint(4, 10),
            "condition": _condition(high, rng)}


def _diets(ingredients: list[str]) -> list[str]:
    """The diets a recipe suits, from its ingredients."""
    return [diet for diet, ok in (("vegan", not {"chicken", "egg"} & set(ingredients)),
                                  ("vegetarian", "chicken" not in ingredients),
                                  ("keto", not {"rice", "beans"} & set(ingredients)), ("gluten-free", True)) if ok]


def _recipe(main: str, pantry: tuple[str, ...], rng: random.Random) -> dict[str, Any]:
    name = (f"{rng.choice(('Quick', 'Roasted', 'Spicy', 'Lemony', 'Garlic', 'Sunday'))} {main} "
            f"{rng.choice(('bowl', 'stew', 'salad', 'stir-fry', 'bake'))}")
    ingredients = [main, *rng.sample([i for i in pantry if i != main], 2)]
    return {"name": name, "ingredients": ingredients, "diets": _diets(ingredients), "minutes": rng.randint(10, 120)}


_rng = random.Random(WORLD_SEED)
WEATHER = Table("city", {city: _weather(city, _rng) for city in CITIES})
FORECAST = {city: [_day_ahead(WEATHER[city], day, _rng) for day in range(1, 15)] for city in CITIES}
AIR = {city: {"aqi": _rng.randint(10, 180), "pollen": _rng.choice(("low", "moderate", "high"))} for city in CITIES}
RATES = Table("currency", {c: 1.0 if c == "USD" else round(_PER_USD[c] * _rng.uniform(0.98, 1.02), 4)
                           for c in CURRENCIES})
STOCKS = Table("ticker", {t: {"price_usd": round(_rng.uniform(20, 900), 2),
                              "change_percent": round(_rng.uniform(-4, 4), 2),
                              "listed_on": _rng.choice(("NYSE", "NASDAQ"))} for t in TICKERS})
COINS = Table("coin", {s: round(_COIN_USD[s] * _rng.uniform(0.95, 1.05), 4) for s in SYMBOLS})
AIRPORT_INFO = Table("airport", {code: _AIRPORT_AT[code] for code in AIRPORTS})
FLIGHTS = {(a, b): {"flight": f"FC{_rng.randint(100, 999)}",
                    "departs": f"{_rng.randint(6, 22):02d}:{_rng.choice((0, 15, 30, 45)):02d}"}
           for a in AIRPORTS for b in AIRPORTS if a != b}
CITY_INFO = Table("city", {city: _CITY_AT[city] for city in CITIES})
_HOTEL_NAMES = ("Grand Hotel", "Plaza", "Harbour Inn", "Central Suites", "Garden Hotel")
HOTELS = {city: {"hotel": f"{city} {_rng.choice(_HOTEL_NAMES)}", "nightly_rate": _rng.randint(70, 380),
                 "breakfast_rate": _rng.randint(12, 30)} for city in CITIES}
RESTAURANTS = {city: [{"name": f"{_rng.choice(('Little', 'Golden', 'Old Town', 'Blue', 'Royal', 'Corner'))} "
                               f"{_CUISINE_WORD[cuisine]}",
                       "cuisine": cuisine, "price_level": _rng.randint(1, 4),
                       "rating": round(_rng.uniform(3.0, 5.0), 1), "open_now": _rng.random() < 0.7}
                      for cuisine in CUISINES for _ in range(2)] for city in CITIES}
CUISINE_NAMES = Table("cuisine", {c: None for c in CUISINES})
BOOKABLE = Table("restaurant", {name: {"city": _rng.choice(CITIES)} for name in _pool("reserve_table", "restaurant")})
CATALOGUE = Table("product", {p: [{"name": f"{brand} {p}", "price": round(base * _rng.uniform(0.6, 1.6), 2),
                                   "rating": round(_rng.uniform(3.0, 5.0), 1),
                                   "released": str(TODAY - dt.timedelta(days=_rng.randint(10, 900)))}
                                  for brand in _rng.sample(("Acme", "Nordic", "Zenith", "Orbit", "Pioneer"), 3)]
                              for p, base in ((p, _rng.uniform(10, 600)) for p in PRODUCTS)})
PARCELS = Table("tracking number", {number: {"carrier": carrier, "location": _rng.choice(CITIES),
                                             "status": _rng.choice(("in transit", "out for delivery", "delivered",
                                                                    "at customs")),
                                             "estimated_delivery": str(TODAY + dt.timedelta(days=_rng.randint(0, 6)))}
                                    for number, carrier in PACKAGES})
_HEADLINES = ("{T}: what changed this week", "Experts weigh in on {t}", "New report on {t} surprises analysts",
              "{T} in numbers", "Five things to know about {t} today", "Why {t} is making headlines",
              "The week ahead in {t}", "{T}: readers' questions answered")
_OUTLETS = ("Daily Ledger", "Morning Post", "Global Wire", "City Times")
NEWS = Table("topic", {topic: [f"{h.format(t=topic, T=topic.capitalize())} ({outlet})" for h, outlet in
                               _rng.sample([(h, o) for h in _HEADLINES for o in _OUTLETS], 20)] for topic in TOPICS})
MOVIES = Table("movie", {m: {"runtime_minutes": _rng.randint(90, 165)} for m in _pool("find_movie_showtimes", "movie")})
CINEMAS = {city: f"{_rng.choice(('Odeon', 'Rex', 'Lumiere', 'Starlight', 'Palace'))} {city}" for city in CITIES}
SHOWTIMES = {(m, city): sorted(_rng.sample(("12:30", "15:00", "17:45", "20:15", "22:30"), 3))
             for m in MOVIES for city in CITIES}
_POINTS = {"football": (0, 5), "basketball": (80, 130), "hockey": (0, 6), "baseball": (0, 10)}
TEAM_NAMES = Table("team", {t: None for t in TEAMS})
SCORES = {(team, sport): {"opponent": _rng.choice([t for t in TEAMS if t != team]),
                          "score": [_rng.randint(*_POINTS[sport]), _rng.randint(*_POINTS[sport])],
                          "date": str(TODAY - dt.timedelta(days=_rng.randint(1, 6)))}
          for team in TEAMS for sport in _pool("get_sports_score", "sport")}
CONTACTS = Table("contact", {p: f"+1 555 {_rng.randint(1000, 9999)}" for p in PEOPLE})
FILE_SIZES_KB = Table("file", {f: _rng.randint(12, 9000) for f in FILES})
FOLDERS = Table("folder", {f: None for f in _pool("upload_file", "folder")})
ROOMS = Table("room", {r: round(_rng.uniform(17, 24), 1) for r in dict.fromkeys(
    _pool("set_thermostat", "room") + _pool("turn_on_lights", "room"))})  # each room's current temperature
MENU = Table("dish", {d: round(_rng.uniform(6, 18), 2) for d in _pool("order_food", "items")})
_INGREDIENTS = _pool("search_recipes", "ingredients")
RECIPES = [_recipe(main, _INGREDIENTS, _rng) for main in _INGREDIENTS for _ in range(3)]
GARAGES = {city: [{"name": f"{city} {word} Parking", "hourly_rate": round(_rng.uniform(1.5, 12), 1),
                   "covered": _rng.random() < 0.5} for word in _rng.sample(("Central", "Station", "Market", "Harbour",
                                                                            "Plaza"), 3)] for city in CITIES}
AGENCIES = {city: _rng.choice(("Swift Rentals", "CityCar", "Roadway", "EasyDrive")) for city in CITIES}
CAR_RATES = {car: _rng.randint(30, 140) for car in _pool("rent_car", "car_type")}  # per day
PLAYLISTS = {genre: [f"{_rng.choice(('Midnight', 'Golden', 'Blue', 'Electric', 'Quiet', 'Wild'))} "
                     f"{_rng.choice(('River', 'Road', 'Heart', 'City', 'Sky', 'Dance'))}" for _ in range(5)]
             for genre in GENRES}
TIME_ZONES = Table("time zone", {tz: _UTC_OFFSET_MIN[tz] for tz in TIMEZONES})
del _rng  # the world is complete: nothing below draws from it

# ---- argument checks ----------------------------------------------------------------------------------------

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_CLOCK = re.compile(r"([01]\d|2[0-3]):[0-5]\d")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}")
_PHONE = re.compile(r"\+?[\d ()-]{7,}")
_ZIP = re.compile(r"\d{5}")


def _date(value: str, argument: str) -> dt.date:
    if _DATE.fullmatch(value):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:  # 2025-02-30
            pass
    raise ToolError(f"{argument}: '{value}' is not a date (YYYY-MM-DD)")


def _clock(value: str, argument: str) -> str:
    if not _CLOCK.fullmatch(value):
        raise ToolError(f"{argument}: '{value}' is not a time (HH:MM)")
    return value


def _within(value: float, argument: str, low: float, high: float) -> float:
    if not low <= value <= high:
        raise ToolError(f"{argument}: {value:g} is outside {low:g}-{high:g}")
    return value


def _positive(value: float, argument: str) -> float:
    if value <= 0:
        raise ToolError(f"{argument}: must be positive (got {value:g})")
    return float(value)


def _text(value: str, argument: str) -> str:
    if not value.strip():
        raise ToolError(f"{argument}: must not be empty")
    return value


def _email(value: str, argument: str) -> str:
    if not _EMAIL.fullmatch(value):
        raise ToolError(f"{argument}: '{value}' is not an email address")
    return value


def _some(values: list[Any], argument: str) -> list[Any]:
    if not values:
        raise ToolError(f"{argument}: must name at least one")
    return values


def _different(a: str, b: str, argument: str, other: str) -> None:
    if a == b:
        raise ToolError(f"{argument}: same as {other} ('{a}')")


def _with_id(key: str, prefix: str, result: dict[str, Any]) -> dict[str, Any]:
    """``result`` with a reference (booking, message, ...) derived from its own content: the same request
    always gets the same reference, a different one another."""
    digest = hashlib.sha256(json.dumps(result, sort_keys=True).encode()).hexdigest()[:8].upper()
    return {key: f"{prefix}-{digest}", **result}


def _km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance (haversine)."""
    (lat1, lon1), (lat2, lon2) = (map(math.radians, a)), (map(math.radians, b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371 * math.asin(math.sqrt(h))


def _clock_after(day: dt.date, start: str, minutes: int) -> str:
    end = dt.datetime.combine(day, dt.time.fromisoformat(start)) + dt.timedelta(minutes=minutes)
    return f"{end:%Y-%m-%d %H:%M}"


# ---- one function per catalog tool --------------------------------------------------------------------------

IMPLEMENTATIONS: dict[str, Callable[..., dict[str, Any]]] = {}


def _tool(fn: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
    IMPLEMENTATIONS[fn.__name__] = fn
    return fn


@_tool
def get_weather(city: str, unit: str = "celsius") -> dict[str, Any]:
    city = WEATHER.find(city, "city")
    w = WEATHER[city]
    temperature = w["temperature_c"] if unit == "celsius" else round(w["temperature_c"] * 9 / 5 + 32, 1)
    return {"city": city, "temperature": temperature, "unit": unit, "condition": w["condition"],
            "humidity": w["humidity"], "wind_kph": w["wind_kph"]}


@_tool
def get_forecast(city: str, days: int) -> dict[str, Any]:
    city = WEATHER.find(city, "city")
    days = int(_within(days, "days", 1, 14))
    return {"city": city, "days": FORECAST[city][:days]}


@_tool
def convert_currency(amount: float, from_currency: str, to_currency: str) -> dict[str, Any]:
    amount = _positive(amount, "amount")
    base, quote = RATES.find(from_currency, "from_currency"), RATES.find(to_currency, "to_currency")
    _different(quote, base, "to_currency", "from_currency")
    rate = RATES[quote] / RATES[base]
    return {"amount": amount, "from": base, "to": quote, "rate": round(rate, 6), "converted": round(amount * rate, 2)}


@_tool
def get_exchange_rate(base: str, quote: str) -> dict[str, Any]:
    base, quote = RATES.find(base, "base"), RATES.find(quote, "quote")
    _different(quote, base, "quote", "base")
    return {"base": base, "quote": quote, "rate": round(RATES[quote] / RATES[base], 6), "as_of": NOW.isoformat()}


@_tool
def get_stock_price(symbol: str, exchange: str | None = None) -> dict[str, Any]:
    symbol = STOCKS.find(symbol, "symbol")
    stock = STOCKS[symbol]
    exchange = exchange or stock["listed_on"]
    in_gbp = exchange == "LSE"  # every share also trades in London, in pounds
    price = stock["price_usd"] * RATES["GBP"] if in_gbp else stock["price_usd"]
    return {"symbol": symbol, "exchange": exchange, "price": round(price, 2), "currency": "GBP" if in_gbp else "USD",
            "change_percent": stock["change_percent"], "as_of": NOW.isoformat()}


@_tool
def get_crypto_price(symbol: str, currency: str = "USD") -> dict[str, Any]:
    symbol, currency = COINS.find(symbol, "symbol"), RATES.find(currency, "currency")
    return {"symbol": symbol, "currency": currency, "price": round(COINS[symbol] * RATES[currency], 4),
            "as_of": NOW.isoformat()}


_CABIN_FACTOR = {"economy": 1.0, "business": 3.2, "first": 5.5}


@_tool
def book_flight(origin: str, destination: str, date: str, passengers: int = 1,
                cabin: str = "economy") -> dict[str, Any]:
    origin, destination = AIRPORT_INFO.find(origin, "origin"), AIRPORT_INFO.find(destination, "destination")
    _different(destination, origin, "destination", "origin")
    day = _date(date, "date")
    passengers = int(_within(passengers, "passengers", 1, 9))
    distance = _km(AIRPORT_INFO[origin][1:], AIRPORT_INFO[destination][1:])
    fare = round((60 + 0.11 * distance) * _CABIN_FACTOR[cabin])
    return _with_id("booking", "FL", {"flight": FLIGHTS[origin, destination]["flight"], "origin": origin,
                                      "destination": destination, "date": str(day),
                                      "departs": FLIGHTS[origin, destination]["departs"], "cabin": cabin,
                                      "passengers": passengers, "total_usd": fare * passengers})


@_tool
def book_hotel(city: str, check_in: str, nights: int, breakfast: bool = False) -> dict[str, Any]:
    city = WEATHER.find(city, "city")
    day = _date(check_in, "check_in")
    nights = int(_within(nights, "nights", 1, 30))
    hotel = HOTELS[city]
    total = nights * (hotel["nightly_rate"] + (hotel["breakfast_rate"] if breakfast else 0))
    return _with_id("booking", "HT", {"hotel": hotel["hotel"], "city": city, "check_in": str(day),
                                      "check_out": str(day + dt.timedelta(days=nights)), "breakfast": breakfast,
                                      "total_usd": total})


@_tool
def rent_car(city: str, pickup_date: str, days: int, car_type: str = "compact") -> dict[str, Any]:
    city = WEATHER.find(city, "city")
    day = _date(pickup_date, "pickup_date")
    days = int(_within(days, "days", 1, 60))
    return _with_id("booking", "CR", {"agency": AGENCIES[city], "city": city, "car_type": car_type,
                                      "pickup_date": str(day), "return_date": str(day + dt.timedelta(days=days)),
                                      "daily_rate_usd": CAR_RATES[car_type], "total_usd": CAR_RATES[car_type] * days})


@_tool
def send_email(to: str, subject: str, cc: list[str] | None = None) -> dict[str, Any]:
    cc = [_email(address, "cc") for address in cc or []]
    return _with_id("message_id", "EM", {"status": "sent", "to": _email(to, "to"), "cc": cc,
                                         "subject": _text(subject, "subject")})


@_tool
def send_sms(contact: str, message: str) -> dict[str, Any]:
    contact = CONTACTS.find(contact, "contact")
    return _with_id("message_id", "SMS", {"status": "sent", "contact": contact, "phone": CONTACTS[contact],
                                          "message": _text(message, "message")})


@_tool
def schedule_call(contact: str, time: str, duration_minutes: int = 15) -> dict[str, Any]:
    contact = CONTACTS.find(contact, "contact")
    minutes = int(_within(duration_minutes, "duration_minutes", 1, 240))
    return _with_id("call_id", "CALL", {"contact": contact, "phone": CONTACTS[contact], "time": _clock(time, "time"),
                                        "duration_minutes": minutes})


@_tool
def create_calendar_event(title: str, date: str, start_time: str, duration_minutes: int = 30,
                          attendees: list[str] | None = None) -> dict[str, Any]:
    day, start = _date(date, "date"), _clock(start_time, "start_time")
    minutes = int(_within(duration_minutes, "duration_minutes", 1, 24 * 60))
    people = [CONTACTS.find(person, "attendees") for person in attendees or []]
    return _with_id("event_id", "EV", {"title": _text(title, "title"), "start": f"{day} {start}",
                                       "end": _clock_after(day, start, minutes), "attendees": people})


@_tool
def set_alarm(time: str, label: str | None = None, repeat_daily: bool = False) -> dict[str, Any]:
    return _with_id("alarm_id", "AL", {"time": _clock(time, "time"), "label": label,
                                       "repeat": "daily" if repeat_daily else "once"})


@_tool
def set_timer(minutes: int) -> dict[str, Any]:
    minutes = int(_within(minutes, "minutes", 1, 24 * 60))
    return _with_id("timer_id", "TM", {"minutes": minutes,
                                       "ends_at": (NOW + dt.timedelta(minutes=minutes)).isoformat()})


@_tool
def translate_text(text: str, target_language: str, source_language: str | None = None) -> dict[str, Any]:
    target = LANGUAGE_NAMES.find(target_language, "target_language")
    if source_language is None and target == "English":
        raise ToolError("target_language: the text is already in English (no source_language given)")
    source = LANGUAGE_NAMES.find(source_language, "source_language") if source_language else "English"
    _different(source, target, "source_language", "target_language")
    _text(text, "text")
    known = _PHRASES.lookup(text)
    translation = _PHRASES[known][target] if known and target != "English" else f"[{target}] {text}"
    return {"text": text, "source_language": source, "target_language": target, "translation": translation}


@_tool
def define_word(word: str, include_examples: bool = False) -> dict[str, Any]:
    word = DICTIONARY.find(word, "word")
    meaning, example = DICTIONARY[word]
    return {"word": word, "definition": meaning, **({"examples": [example]} if include_examples else {})}


@_tool
def search_restaurants(location: str, cuisine: str | None = None, max_price: int | None = None,
                       open_now: bool = False) -> dict[str, Any]:
    city = WEATHER.find(location, "location")
    cuisine = CUISINE_NAMES.find(cuisine, "cuisine") if cuisine else None
    if max_price is not None:
        max_price = int(_within(max_price, "max_price", 1, 4))
    found = [r for r in RESTAURANTS[city] if (cuisine is None or r["cuisine"] == cuisine)
             and (max_price is None or r["price_level"] <= max_price) and (r["open_now"] or not open_now)]
    return {"location": city, "results": sorted(found, key=lambda r: -r["rating"])[:5]}


@_tool
def reserve_table(restaurant: str, party_size: int, time: str, contact: dict[str, str]) -> dict[str, Any]:
    restaurant = BOOKABLE.find(restaurant, "restaurant")
    party = int(_within(party_size, "party_size", 1, 20))
    if not _PHONE.fullmatch(contact["phone"]):
        raise ToolError(f"contact/phone: '{contact['phone']}' is not a phone number")
    return _with_id("reservation_id", "RS", {"restaurant": restaurant, "city": BOOKABLE[restaurant]["city"],
                                             "time": _clock(time, "time"), "party_size": party,
                                             "name": _text(contact["name"], "contact/name")})


@_tool
def order_food(items: list[str], address: dict[str, str], contactless: bool = False) -> dict[str, Any]:
    dishes = [MENU.find(item, "items") for item in _some(items, "items")]
    if not _ZIP.fullmatch(address["zip"]):
        raise ToolError(f"address/zip: '{address['zip']}' is not a 5-digit postal code")
    street = _text(address["street"], "address/street")
    return _with_id("order_id", "OR", {"items": dishes, "total_usd": round(sum(MENU[d] for d in dishes), 2),
                                       "deliver_to": f"{street}, {address['zip']}", "contactless": contactless,
                                       "eta_minutes": 25 + int(address["zip"]) % 30})


@_tool
def search_products(query: str, price_range: dict[str, float] | None = None,
                    sort_by: str | None = None) -> dict[str, Any]:
    low, high = (float(price_range["min"]), float(price_range["max"])) if price_range else (0.0, math.inf)
    if low < 0:
        raise ToolError(f"price_range/min: must not be negative (got {low:g})")
    if low > high:
        raise ToolError(f"price_range: min {low:g} is above max {high:g}")
    words = [standardize(w) for w in _text(query, "query").split()]
    found = [item for product, items in CATALOGUE.items() for item in items
             if any(w and w in standardize(product) for w in words) and low <= item["price"] <= high]
    order = {"price": lambda i: i["price"], "rating": lambda i: -i["rating"],
             "newest": lambda i: i["released"]}.get(sort_by)
    if order is not None:
        found = sorted(found, key=order, reverse=sort_by == "newest")
    return {"query": query, "results": found[:5]}


@_tool
def add_to_cart(product: str, quantity: int) -> dict[str, Any]:
    product = CATALOGUE.find(product, "product")
    quantity = int(_within(quantity, "quantity", 1, 99))
    item = CATALOGUE[product][0]
    return {"added": item["name"], "quantity": quantity, "unit_price": item["price"],
            "subtotal": round(item["price"] * quantity, 2)}


@_tool
def track_package(tracking_number: str, carrier: str | None = None) -> dict[str, Any]:
    number = PARCELS.find(tracking_number, "tracking_number")
    parcel = PARCELS[number]
    if carrier is not None and carrier != parcel["carrier"]:
        raise ToolError(f"carrier: {carrier} has no package '{number}'")
    return {"tracking_number": number, **parcel}


@_tool
def get_news(topic: str, limit: int = 5, language: str | None = None) -> dict[str, Any]:
    topic = NEWS.find(topic, "topic")
    limit = int(_within(limit, "limit", 1, 20))
    language = LANGUAGE_NAMES.find(language, "language") if language else "English"
    return {"topic": topic, "language": language, "headlines": NEWS[topic][:limit]}


@_tool
def play_music(genre: str, volume: int | None = None, shuffle: bool = False) -> dict[str, Any]:
    volume = 50 if volume is None else int(_within(volume, "volume", 0, 100))
    tracks = PLAYLISTS[genre]
    if shuffle:  # a fixed shuffle: the same request plays the same order
        tracks = tracks[3:] + tracks[:3]
    return {"playing": f"{genre.title()} Mix", "tracks": tracks[:3], "volume": volume, "shuffle": shuffle}


@_tool
def set_thermostat(temperature: float, room: str | None = None, mode: str = "auto") -> dict[str, Any]:
    target = float(_within(temperature, "temperature", 5, 35))
    room = ROOMS.find(room, "room") if room else None
    current = ROOMS[room] if room else round(sum(ROOMS.values()) / len(ROOMS), 1)
    if target > current and mode != "cool":
        action = "heating"
    elif target < current and mode != "heat":
        action = "cooling"
    else:
        action = "holding"  # at the target, or the mode may not move towards it
    return {"room": room or "whole home", "target": target, "current": current, "mode": mode, "status": action}


@_tool
def turn_on_lights(room: str, brightness: int = 100) -> dict[str, Any]:
    return {"room": ROOMS.find(room, "room"), "on": True, "brightness": int(_within(brightness, "brightness", 1, 100))}


@_tool
def calculate_tip(bill_amount: float, percentage: int, split: int = 1) -> dict[str, Any]:
    bill = _positive(bill_amount, "bill_amount")
    tip = bill * _within(percentage, "percentage", 0, 100) / 100
    people = int(_within(split, "split", 1, 50))
    return {"tip": round(tip, 2), "total": round(bill + tip, 2), "per_person": round((bill + tip) / people, 2)}


@_tool
def calculate_loan_payment(principal: float, annual_rate: float, years: int) -> dict[str, Any]:
    principal = _positive(principal, "principal")
    rate = float(_within(annual_rate, "annual_rate", 0, 100)) / 1200
    months = 12 * int(_within(years, "years", 1, 50))
    payment = principal / months if rate == 0 else principal * rate / (1 - (1 + rate) ** -months)
    return {"monthly_payment": round(payment, 2), "total_paid": round(payment * months, 2),
            "total_interest": round(payment * months - principal, 2)}


@_tool
def create_todo(task: str, due_date: str | None = None, priority: str = "medium",
                tags: list[str] | None = None) -> dict[str, Any]:
    due = str(_date(due_date, "due_date")) if due_date else None
    return _with_id("todo_id", "TD", {"task": _text(task, "task"), "due_date": due, "priority": priority,
                                      "tags": [_text(t, "tags") for t in tags or []]})


_TRAVEL = {"car": (1.25, 80), "train": (1.15, 120), "bike": (1.3, 16), "foot": (1.3, 5)}  # detour factor, km/h


@_tool
def get_directions(origin: str, destination: str, mode: str = "car") -> dict[str, Any]:
    origin, destination = CITY_INFO.find(origin, "origin"), CITY_INFO.find(destination, "destination")
    _different(destination, origin, "destination", "origin")
    detour, speed = _TRAVEL[mode]
    km = _km(CITY_INFO[origin], CITY_INFO[destination]) * detour
    return {"origin": origin, "destination": destination, "mode": mode, "distance_km": round(km, 1),
            "duration_minutes": round(km / speed * 60)}


@_tool
def find_movie_showtimes(movie: str, city: str, date: str | None = None) -> dict[str, Any]:
    movie, city = MOVIES.find(movie, "movie"), WEATHER.find(city, "city")
    day = _date(date, "date") if date else TODAY
    return {"movie": movie, "city": city, "date": str(day), "cinema": CINEMAS[city],
            "showtimes": SHOWTIMES[movie, city], "runtime_minutes": MOVIES[movie]["runtime_minutes"]}


@_tool
def get_sports_score(team: str, sport: str) -> dict[str, Any]:
    team = TEAM_NAMES.find(team, "team")
    game = SCORES[team, sport]
    ours, theirs = game["score"]
    return {"team": team, "sport": sport, "opponent": game["opponent"], "score": f"{ours}-{theirs}",
            "date": game["date"]}


@_tool
def convert_units(value: float, from_unit: str, to_unit: str) -> dict[str, Any]:
    if value < 0:
        raise ToolError(f"value: must not be negative (got {value:g})")
    (kind_from, factor_from), (kind_to, factor_to) = UNITS[from_unit], UNITS[to_unit]
    if kind_from != kind_to:
        raise ToolError(f"to_unit: cannot convert {from_unit} ({kind_from}) into {to_unit} ({kind_to})")
    return {"value": float(value), "from_unit": from_unit, "to_unit": to_unit,
            "result": round(value * factor_from / factor_to, 4)}


@_tool
def get_time(timezone: str, include_date: bool = False) -> dict[str, Any]:
    zone = TIME_ZONES.find(timezone, "timezone")
    offset = TIME_ZONES[zone]
    local = NOW + dt.timedelta(minutes=offset)
    sign = "+" if offset >= 0 else "-"
    hours, minutes = divmod(abs(offset), 60)
    result = {"timezone": zone, "time": f"{local:%H:%M}", "utc_offset": f"{sign}{hours:02d}:{minutes:02d}"}
    return {**result, "date": str(local.date())} if include_date else result


@_tool
def upload_file(filename: str, folder: str, public: bool = False) -> dict[str, Any]:
    filename, folder = FILE_SIZES_KB.find(filename, "filename"), FOLDERS.find(folder, "folder")
    return {"file": filename, "folder": folder, "size_kb": FILE_SIZES_KB[filename], "public": public,
            "url": f"https://files.example.com/{folder}/{filename}" if public else None}


@_tool
def share_document(filename: str, recipients: list[str], permission: str = "view") -> dict[str, Any]:
    filename = FILE_SIZES_KB.find(filename, "filename")
    people = [_email(r, "recipients") for r in _some(recipients, "recipients")]
    return _with_id("share_id", "SH", {"file": filename, "shared_with": people, "permission": permission})


@_tool
def search_recipes(ingredients: list[str], diet: str | None = None, max_minutes: int | None = None) -> dict[str, Any]:
    wanted = [standardize(i) for i in _some(ingredients, "ingredients")]
    limit = math.inf if max_minutes is None else _within(max_minutes, "max_minutes", 1, 600)
    found = [r for r in RECIPES if any(standardize(i) in wanted for i in r["ingredients"])
             and (diet is None or diet in r["diets"]) and r["minutes"] <= limit]
    return {"results": sorted(found, key=lambda r: (r["minutes"], r["name"]))[:3]}


@_tool
def log_workout(activity: str, duration_minutes: int, distance_km: float | None = None) -> dict[str, Any]:
    minutes = int(_within(duration_minutes, "duration_minutes", 1, 24 * 60))
    result = {"activity": activity, "duration_minutes": minutes, "calories": round(_MET[activity] * 70 * minutes / 60)}
    if distance_km is not None:
        km = float(_within(distance_km, "distance_km", 0.1, 500))
        result.update(distance_km=km, pace_min_per_km=round(minutes / km, 2))
    return _with_id("workout_id", "WO", result)


_AQI = ((50, "good"), (100, "moderate"), (150, "unhealthy for sensitive groups"), (math.inf, "unhealthy"))


@_tool
def get_air_quality(city: str, include_pollen: bool = False) -> dict[str, Any]:
    city = WEATHER.find(city, "city")
    aqi = AIR[city]["aqi"]
    result = {"city": city, "aqi": aqi, "category": next(name for top, name in _AQI if aqi <= top)}
    return {**result, "pollen": AIR[city]["pollen"]} if include_pollen else result


@_tool
def find_parking(location: str, max_hourly_rate: float | None = None, covered: bool = False) -> dict[str, Any]:
    city = WEATHER.find(location, "location")
    limit = math.inf if max_hourly_rate is None else _positive(max_hourly_rate, "max_hourly_rate")
    found = [g for g in GARAGES[city] if g["hourly_rate"] <= limit and (g["covered"] or not covered)]
    return {"location": city, "results": sorted(found, key=lambda g: g["hourly_rate"])}


def register(registry: ToolRegistry) -> None:
    """The ``fcray.tools`` entry point ``catalog``: every catalog tool's simulator, registered for that tool's
    exact JSON schema (another dataset's tool of the same name keeps the stub), under its name and the names
    training rows may offer it under (fcray.toolcall.names, ``data.augment.rename_tools_ratio``)."""
    for spec in CATALOG:
        for name in (spec.name, *name_aliases(spec.name)):
            registry.register(name, IMPLEMENTATIONS[spec.name], parameters=spec.json_schema())
