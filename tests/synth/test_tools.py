"""The catalog's simulators: one per tool, registered through the entry point, accepting everything the generator
produces and rejecting what fits the schema but makes no sense."""

from __future__ import annotations

import inspect
import json
import os
import random
import subprocess
import sys

import pytest

from fcray.config import AugmentConfig
from fcray.data.augment import augment_split
from fcray.synth import tools as sim
from fcray.synth.catalog import CATALOG
from fcray.synth.generator import _pool, compose_call, generate_examples
from fcray.toolcall import DEFAULT_REGISTRY, Call, ToolRegistry, format_message, reference_calls
from fcray.toolcall.reward import result_score

SPECS = {t.name: t for t in CATALOG}
TOOLS = {t.name: [t.openai_tool()] for t in CATALOG}


def run(name, **arguments):
    return DEFAULT_REGISTRY.execute(Call(name, arguments), TOOLS[name])


def test_every_catalog_tool_has_an_implementation_for_its_schema():
    assert sorted(sim.IMPLEMENTATIONS) == sorted(SPECS)
    for spec in CATALOG:
        assert DEFAULT_REGISTRY.implementation(spec.name, spec.json_schema()) is sim.IMPLEMENTATIONS[spec.name]
        # keyword arguments are the schema's properties; a schema default is the function's default
        parameters = inspect.signature(sim.IMPLEMENTATIONS[spec.name]).parameters
        assert list(parameters) == [p.name for p in spec.params], spec.name
        for param in spec.params:
            default = parameters[param.name].default
            assert (default is inspect.Parameter.empty) == param.required, (spec.name, param.name)
            if param.default is not None:
                assert default == param.default, (spec.name, param.name)


def _examples():
    examples = generate_examples(3000, seed=5, holdout_share=0.1)
    added, stats = augment_split(examples, AugmentConfig(irrelevance_ratio=0.0, slot_filling_ratio=0.0,
                                                         multi_turn_ratio=0.1, chat_ratio=0.0), "t")
    assert stats["multi_turn"]["made"] == stats["multi_turn"]["requested"] == 300
    return examples + added


def test_reference_calls_of_generated_data_execute_and_earn_the_full_result_score():
    examples = _examples()
    assert {t for e in examples for t in (c["name"] for c in e["ground_truth"]["calls"])} == set(SPECS)
    for example in examples:
        for call in reference_calls(example["ground_truth"]):
            execution = DEFAULT_REGISTRY.execute(call, example["tools"])
            assert execution.ok and execution.simulated, (example["id"], call, execution)
        score = result_score(format_message(example["messages"][-1]), example)
        assert score.value == 1.0 and "compared calls" not in score.reason, (example["id"], score)


def test_every_value_of_every_pool_is_accepted():
    rng, checked = random.Random(0), 0
    for spec in CATALOG:
        base, _, _ = compose_call(spec, rng)
        for param in spec.params:
            if param.kind not in ("string", "enum", "array"):
                continue
            earlier = {p.name: base["arguments"][p.name] for p in spec.params[:spec.params.index(param)]
                       if p.name in base["arguments"]}
            for value in _pool(param, earlier):
                arguments = {**base["arguments"], param.name: [value] if param.kind == "array" else value}
                for later in spec.params:  # an argument chosen to fit the old value is chosen again
                    if later.name in arguments and param.name in (later.unlike, *later.given[:1]):
                        arguments[later.name] = _pool(later, arguments)[0]
                execution = run(spec.name, **arguments)
                assert execution.ok, (spec.name, param.name, value, execution)
                checked += 1
    assert checked > 400


# (tool, arguments that fit its schema, text the reason's detail must contain)
BAD = [
    ("get_weather", {"city": "Atlantis"}, "city: unknown city 'Atlantis'"),
    ("get_forecast", {"city": "Paris", "days": 0}, "days: 0 is outside 1-14"),
    ("get_forecast", {"city": "Paris", "days": 30}, "days: 30 is outside 1-14"),
    ("convert_currency", {"amount": 10, "from_currency": "USD", "to_currency": "XYZ"}, "to_currency: unknown currency 'XYZ'"),
    ("convert_currency", {"amount": -5, "from_currency": "USD", "to_currency": "EUR"}, "amount: must be positive"),
    ("convert_currency", {"amount": 5, "from_currency": "EUR", "to_currency": "eur"}, "to_currency: same as from_currency"),
    ("get_exchange_rate", {"base": "USD", "quote": "USD"}, "quote: same as base ('USD')"),
    ("get_stock_price", {"symbol": "ZZZZ"}, "symbol: unknown ticker 'ZZZZ'"),
    ("get_crypto_price", {"symbol": "DOGE"}, "symbol: unknown coin 'DOGE'"),
    ("book_flight", {"origin": "JFK", "destination": "jfk", "date": "2025-01-15"}, "destination: same as origin ('JFK')"),
    ("book_flight", {"origin": "JFK", "destination": "XXX", "date": "2025-01-15"}, "destination: unknown airport 'XXX'"),
    ("book_flight", {"origin": "JFK", "destination": "LHR", "date": "15/01/2025"}, "date: '15/01/2025' is not a date (YYYY-MM-DD)"),
    ("book_flight", {"origin": "JFK", "destination": "LHR", "date": "2025-02-30"}, "date: '2025-02-30' is not a date"),
    ("book_flight", {"origin": "JFK", "destination": "LHR", "date": "2025-01-15", "passengers": 0}, "passengers: 0 is outside"),
    ("book_hotel", {"city": "Oslo", "check_in": "tomorrow", "nights": 2}, "check_in: 'tomorrow' is not a date"),
    ("book_hotel", {"city": "Oslo", "check_in": "2025-01-15", "nights": 0}, "nights: 0 is outside 1-30"),
    ("send_email", {"to": "bob", "subject": "Hi"}, "to: 'bob' is not an email address"),
    ("send_email", {"to": "bob@corp.net", "subject": "Hi", "cc": ["x@"]}, "cc: 'x@' is not an email address"),
    ("send_email", {"to": "bob@corp.net", "subject": "  "}, "subject: must not be empty"),
    ("send_sms", {"contact": "Zed", "message": "hi"}, "contact: unknown contact 'Zed'"),
    ("create_calendar_event", {"title": "Gym", "date": "2025-01-15", "start_time": "25:00"}, "start_time: '25:00' is not a time (HH:MM)"),
    ("create_calendar_event", {"title": "Gym", "date": "2025-01-15", "start_time": "9am"}, "start_time: '9am' is not a time"),
    ("create_calendar_event", {"title": "Gym", "date": "2025-01-15", "start_time": "09:00", "attendees": ["Zed"]},
     "attendees: unknown contact 'Zed'"),
    ("set_alarm", {"time": "7:5"}, "time: '7:5' is not a time (HH:MM)"),
    ("set_timer", {"minutes": 0}, "minutes: 0 is outside"),
    ("translate_text", {"text": "thank you", "target_language": "Klingon"}, "target_language: unknown language 'Klingon'"),
    ("translate_text", {"text": "thank you", "target_language": "French", "source_language": "French"},
     "source_language: same as target_language ('French')"),
    ("define_word", {"word": "florp"}, "word: unknown word 'florp'"),
    ("search_restaurants", {"location": "Oslo", "cuisine": "martian"}, "cuisine: unknown cuisine 'martian'"),
    ("search_restaurants", {"location": "Oslo", "max_price": 9}, "max_price: 9 is outside 1-4"),
    ("order_food", {"items": ["caviar"], "address": {"street": "1 A St", "zip": "10001"}}, "items: unknown dish 'caviar'"),
    ("order_food", {"items": [], "address": {"street": "1 A St", "zip": "10001"}}, "items: must name at least one"),
    ("order_food", {"items": ["pizza"], "address": {"street": "1 A St", "zip": "1001"}}, "address/zip: '1001' is not a 5-digit"),
    ("search_products", {"query": "laptop", "price_range": {"min": 500, "max": 60}}, "price_range: min 500 is above max 60"),
    ("search_products", {"query": "laptop", "price_range": {"min": -1, "max": 60}}, "price_range/min: must not be negative"),
    ("add_to_cart", {"product": "spaceship", "quantity": 1}, "product: unknown product 'spaceship'"),
    ("add_to_cart", {"product": "laptop", "quantity": 0}, "quantity: 0 is outside 1-99"),
    ("track_package", {"tracking_number": "NOPE123"}, "tracking_number: unknown tracking number 'NOPE123'"),
    ("track_package", {"tracking_number": "1Z999AA10123456784", "carrier": "dhl"}, "carrier: dhl has no package '1Z999AA10123456784'"),
    ("get_news", {"topic": "gossip"}, "topic: unknown topic 'gossip'"),
    ("get_news", {"topic": "space", "limit": 50}, "limit: 50 is outside 1-20"),
    ("play_music", {"genre": "jazz", "volume": 150}, "volume: 150 is outside 0-100"),
    ("set_thermostat", {"temperature": 60}, "temperature: 60 is outside 5-35"),
    ("set_thermostat", {"temperature": 20, "room": "attic"}, "room: unknown room 'attic'"),
    ("turn_on_lights", {"room": "kitchen", "brightness": 0}, "brightness: 0 is outside 1-100"),
    ("calculate_tip", {"bill_amount": 0, "percentage": 10}, "bill_amount: must be positive"),
    ("calculate_tip", {"bill_amount": 50, "percentage": 10, "split": 0}, "split: 0 is outside 1-50"),
    ("calculate_loan_payment", {"principal": 1000, "annual_rate": 5, "years": 0}, "years: 0 is outside 1-50"),
    ("create_todo", {"task": "pay rent", "due_date": "2025-13-01"}, "due_date: '2025-13-01' is not a date"),
    ("get_directions", {"origin": "Paris", "destination": "paris"}, "destination: same as origin ('Paris')"),
    ("find_movie_showtimes", {"movie": "Jaws", "city": "Paris"}, "movie: unknown movie 'Jaws'"),
    ("get_sports_score", {"team": "Dragons", "sport": "hockey"}, "team: unknown team 'Dragons'"),
    ("convert_units", {"value": 3, "from_unit": "km", "to_unit": "kg"}, "to_unit: cannot convert km (length) into kg (mass)"),
    ("convert_units", {"value": -3, "from_unit": "km", "to_unit": "miles"}, "value: must not be negative"),
    ("get_time", {"timezone": "Mars/Olympus"}, "timezone: unknown time zone 'Mars/Olympus'"),
    ("upload_file", {"filename": "secret.key", "folder": "work"}, "filename: unknown file 'secret.key'"),
    ("upload_file", {"filename": "notes.txt", "folder": "nowhere"}, "folder: unknown folder 'nowhere'"),
    ("share_document", {"filename": "notes.txt", "recipients": []}, "recipients: must name at least one"),
    ("search_recipes", {"ingredients": []}, "ingredients: must name at least one"),
    ("log_workout", {"activity": "yoga", "duration_minutes": 0}, "duration_minutes: 0 is outside"),
    ("reserve_table", {"restaurant": "Nowhere", "party_size": 2, "time": "19:15",
                       "contact": {"name": "Alice", "phone": "555-0101"}}, "restaurant: unknown restaurant 'Nowhere'"),
    ("reserve_table", {"restaurant": "Saffron", "party_size": 2, "time": "19:15",
                       "contact": {"name": "Alice", "phone": "call me"}}, "contact/phone: 'call me' is not a phone number"),
    ("rent_car", {"city": "Lima", "pickup_date": "2025-01-15", "days": 0}, "days: 0 is outside 1-60"),
    ("get_air_quality", {"city": "Gotham"}, "city: unknown city 'Gotham'"),
    ("schedule_call", {"contact": "Bob", "time": "noon"}, "time: 'noon' is not a time (HH:MM)"),
    ("find_parking", {"location": "Oslo", "max_hourly_rate": 0}, "max_hourly_rate: must be positive"),
]


@pytest.mark.parametrize(("name", "arguments", "detail"), BAD, ids=[f"{b[0]}-{i}" for i, b in enumerate(BAD)])
def test_arguments_that_fit_the_schema_but_make_no_sense_are_rejected(name, arguments, detail):
    from fcray.toolcall import check_calls

    assert check_calls([Call(name, arguments)], TOOLS[name]) == [[]]  # the schema accepts them
    execution = run(name, **arguments)
    assert not execution.ok and execution.reason == "rejected" and execution.simulated
    assert detail in execution.detail, execution.detail


def test_results_are_deterministic_and_ignore_case_and_number_spelling():
    first = run("convert_currency", amount=100, from_currency="usd", to_currency="EUR")
    again = run("convert_currency", amount=100.0, from_currency="USD", to_currency="eur")
    assert first.ok and first.result == again.result and first.result["from"] == "USD"
    assert run("get_weather", city="paris").result == run("get_weather", city="Paris").result
    # ids come from the request: the same booking gets the same reference, another booking another one
    flight = dict(origin="JFK", destination="LHR", date="2025-01-15")
    assert run("book_flight", **flight).result == run("book_flight", **flight).result
    assert run("book_flight", **flight).result["booking"] != run("book_flight", **flight, passengers=2).result["booking"]
    # an omitted optional argument behaves as its schema default
    assert run("book_flight", **flight).result == run("book_flight", **flight, passengers=1).result


def test_the_world_does_not_depend_on_the_process():
    code = ("import json; from fcray.synth import tools as t; "
            "print(json.dumps([t.WEATHER, t.RATES, t.STOCKS, t.NEWS, t.RECIPES, t.SCORES['Lions', 'hockey']], "
            "sort_keys=True))")
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True).stdout
    here = json.dumps([sim.WEATHER, sim.RATES, sim.STOCKS, sim.NEWS, sim.RECIPES, sim.SCORES["Lions", "hockey"]],
                      sort_keys=True)
    assert json.loads(out) == json.loads(here)


def test_a_tool_that_shares_a_catalog_name_but_not_its_schema_falls_back_to_the_stub():
    other = [{"type": "function", "function": {"name": "get_weather", "description": "xlam's", "parameters": {
        "type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]}}}]
    execution = DEFAULT_REGISTRY.execute(Call("get_weather", {"location": "Atlantis"}), other)
    assert execution.ok and not execution.simulated and execution.result["function"] == "get_weather"
    example = {"tools": other, "messages": [{"role": "user", "content": "Weather in Atlantis?"}],
               "ground_truth": {"kind": "call", "calls": [{"name": "get_weather", "arguments": {"location": ["Atlantis"]}}]}}
    completion = '<tool_call>\n{"name": "get_weather", "arguments": {"location": "Atlantis"}}\n</tool_call>'
    score = result_score(completion, example)
    assert score.value == 1.0 and score.reason.startswith("no implementation for 'get_weather': compared calls")
    # the catalog's own schema still runs the simulator
    assert run("get_weather", city="Oslo").simulated


def test_register_is_the_catalog_entry_point():
    from importlib.metadata import entry_points

    (point,) = [p for p in entry_points(group="fcray.tools") if p.name == "catalog"]
    assert point.value == "fcray.synth.tools:register" and point.load() is sim.register
    registry = ToolRegistry()
    sim.register(registry)
    # every catalog tool, under its own name and the names renamed training rows offer it under
    from fcray.toolcall.names import name_aliases

    assert registry.names() == sorted({n for name in SPECS for n in (name, *name_aliases(name))})
    for name, spec in SPECS.items():
        for alias in name_aliases(name):
            assert registry.implementation(alias, spec.json_schema()) is sim.IMPLEMENTATIONS[name]
