"""The tool catalog of the embedded default task.

Each :class:`ToolSpec` is a function with typed parameters (string, enum, integer, number, boolean,
array, nested object; required and optional), several *intent* phrasings ("check the weather") and,
per parameter, *mention* phrasings ("in {v}") that put a value into a query. The generator composes
queries from these, so every argument value stated in a query is known exactly.

Tools marked ``holdout`` never appear in training data (not even as distractors): validation measures
whether the model reads a schema it has never seen.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

CITIES = ("Paris", "London", "Tokyo", "Berlin", "Madrid", "Rome", "Lisbon", "Oslo", "Cairo", "Lima", "Denver",
          "Toronto", "Sydney", "Seoul", "Mumbai", "Nairobi", "Boston", "Dublin", "Vienna", "Prague", "Austin",
          "Chicago", "Munich", "Zurich", "Athens", "Bangkok", "Hanoi", "Quito", "Santiago", "Helsinki")
PEOPLE = ("Alice", "Bob", "Carla", "David", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jonas", "Kemal", "Lena",
          "Marco", "Nadia", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tara", "Umar", "Vera", "Wen", "Yusuf")
TICKERS = ("AAPL", "MSFT", "GOOG", "AMZN", "TSLA", "NVDA", "META", "IBM", "ORCL", "INTC", "SAP", "SONY")
PRODUCTS = ("laptop", "headphones", "coffee maker", "running shoes", "desk lamp", "backpack", "keyboard",
            "water bottle", "monitor", "phone case", "yoga mat", "blender", "tent", "camera", "umbrella")
LANGUAGES = ("French", "German", "Spanish", "Italian", "Japanese", "Korean", "Portuguese", "Dutch", "Swedish")
CURRENCIES = ("USD", "EUR", "GBP", "JPY", "CHF", "CAD", "AUD", "SEK", "NOK", "INR")
DATES = ("2025-01-15", "2025-02-03", "2025-03-21", "2025-04-09", "2025-05-30", "2025-06-12", "2025-07-04",
         "2025-08-18", "2025-09-26", "2025-10-31", "2025-11-11", "2025-12-24")
TIMES = ("08:00", "09:30", "11:15", "13:00", "14:45", "16:30", "18:00", "19:15", "20:30")
AIRPORTS = ("JFK", "LAX", "SFO", "ORD", "LHR", "CDG", "FRA", "AMS", "NRT", "SYD", "DXB", "MAD", "FCO", "BOS")
GENRES = ("jazz", "rock", "classical", "hip hop", "pop", "blues", "folk", "electronic", "reggae", "country")
CUISINES = ("italian", "thai", "mexican", "indian", "japanese", "greek", "vietnamese", "french", "korean")
WORDS = ("serendipity", "ephemeral", "ubiquitous", "resilient", "meticulous", "eloquent", "pragmatic", "candid")
TOPICS = ("climate", "elections", "football", "space", "markets", "health", "technology", "art", "travel")
TAGS = ("urgent", "work", "family", "finance", "travel", "health", "ideas", "shopping", "later")
FILES = ("report.pdf", "notes.txt", "budget.xlsx", "photo.png", "slides.pptx", "data.csv", "draft.docx")
EMAIL_USERS = ("alice", "bob", "carla", "dev", "team", "sales", "hr", "support", "ops")
DOMAINS = ("example.com", "mail.org", "corp.net", "acme.io")
STREETS = ("12 Main St", "48 Oak Ave", "7 Elm Rd", "301 Pine Blvd", "95 Lake Dr", "5 River Ln")
ZIPS = ("10001", "94103", "60601", "02139", "73301", "30301")
TEAMS = ("Lions", "Tigers", "Eagles", "Sharks", "Wolves", "Bears", "Falcons", "Hawks")
TIMEZONES = ("UTC", "Europe/Paris", "America/New_York", "Asia/Tokyo", "Australia/Sydney")
SYMBOLS = ("BTC", "ETH", "SOL", "ADA", "DOT")
EMAILS = tuple(f"{u}@{d}" for u in EMAIL_USERS for d in DOMAINS)
# Each tracking number belongs to one carrier (a package the carrier never shipped cannot be tracked with it).
PACKAGES = (("1Z999AA10123456784", "ups"), ("9400110200881234567890", "usps"), ("JD014600006281234567", "dhl"),
            ("LX123456789DE", "dhl"), ("RA987654321CN", "usps"), ("CP445566778US", "usps"))
# Units convert only into a unit of the same quantity (km -> miles, never km -> kg).
UNIT_PAIRS = (("km", "miles"), ("miles", "km"), ("kg", "pounds"), ("pounds", "kg"), ("liters", "gallons"),
              ("gallons", "liters"))


@dataclass(frozen=True)
class ParamSpec:
    name: str
    kind: str                  # string | enum | integer | number | boolean | array | object
    description: str
    mentions: tuple[str, ...]  # phrasings with {v}; for booleans, mentions[0] says True, mentions[1] False
    required: bool = True
    pool: tuple[Any, ...] = ()  # values for string/enum, element values for array
    low: float = 0
    high: float = 100
    decimals: int = 2          # number: digits after the point
    item_kind: str = "string"  # array: element type
    fields: tuple["ParamSpec", ...] = ()  # object: nested fields
    default: Any = None
    # Values that pass the schema can still make no sense together, and the tools' simulators
    # (fcray.synth.tools) reject them; the generator samples around them, so every reference call executes.
    unlike: str = ""           # string/enum: an earlier parameter whose value this one never repeats (JFK -> JFK)
    given: tuple[str, tuple[tuple[Any, Any], ...]] = ()  # (earlier parameter, allowed (its value, this value) pairs)

    def json_schema(self) -> dict[str, Any]:
        schema: dict[str, Any]
        if self.kind == "enum":
            schema = {"type": "string", "enum": list(self.pool)}
        elif self.kind == "array":
            schema = {"type": "array", "items": {"type": self.item_kind}}
        elif self.kind == "object":
            schema = {
                "type": "object",
                "properties": {f.name: f.json_schema() for f in self.fields},
                "required": [f.name for f in self.fields if f.required],
            }
        else:
            schema = {"type": self.kind}
        schema["description"] = self.description
        if self.default is not None:
            schema["default"] = self.default
        return schema


@dataclass(frozen=True)
class ToolSpec:
    name: str
    description: str
    intents: tuple[str, ...]
    params: tuple[ParamSpec, ...]
    holdout: bool = False
    tags: tuple[str, ...] = field(default=())

    def json_schema(self) -> dict[str, Any]:
        return {
            "type": "object",
            "properties": {p.name: p.json_schema() for p in self.params},
            "required": [p.name for p in self.params if p.required],
        }

    def openai_tool(self) -> dict[str, Any]:
        return {"type": "function",
                "function": {"name": self.name, "description": self.description, "parameters": self.json_schema()}}


def S(name, description, mentions, pool, required=True, default=None, unlike="", given=()):  # noqa: N802 - a tiny DSL
    return ParamSpec(name, "string", description, tuple(mentions), required, tuple(pool), default=default,
                     unlike=unlike, given=given)


def E(name, description, mentions, options, required=False, default=None, unlike="", given=()):  # noqa: N802
    return ParamSpec(name, "enum", description, tuple(mentions), required, tuple(options), default=default,
                     unlike=unlike, given=given)


def I(name, description, mentions, low, high, required=True, default=None):  # noqa: N802, E741
    return ParamSpec(name, "integer", description, tuple(mentions), required, low=low, high=high, default=default)


def F(name, description, mentions, low, high, decimals=2, required=True):  # noqa: N802
    return ParamSpec(name, "number", description, tuple(mentions), required, low=low, high=high, decimals=decimals)


def B(name, description, true_phrase, false_phrase, required=False, default=None):  # noqa: N802
    return ParamSpec(name, "boolean", description, (true_phrase, false_phrase), required, default=default)


def A(name, description, mentions, pool, item_kind="string", required=True):  # noqa: N802
    return ParamSpec(name, "array", description, tuple(mentions), required, tuple(pool), item_kind=item_kind)


def O(name, description, mentions, fields, required=True):  # noqa: N802, E741
    return ParamSpec(name, "object", description, tuple(mentions), required, fields=tuple(fields))


CATALOG: tuple[ToolSpec, ...] = (
    ToolSpec("get_weather", "Get the current weather for a city.",
             ("check the weather", "tell me the weather", "get the current weather"),
             (S("city", "City name.", ("in {v}", "for {v}"), CITIES),
              E("unit", "Temperature unit.", ("in {v}", "using {v} degrees"), ("celsius", "fahrenheit")))),
    ToolSpec("get_forecast", "Get a multi-day weather forecast for a city.",
             ("get the forecast", "show the weather forecast", "give me a forecast"),
             (S("city", "City name.", ("for {v}", "in {v}"), CITIES),
              I("days", "Number of days to forecast.", ("for the next {v} days", "covering {v} days"), 1, 14))),
    ToolSpec("convert_currency", "Convert an amount of money from one currency to another.",
             ("convert", "change", "exchange"),
             (F("amount", "Amount to convert.", ("{v}",), 1, 5000),
              S("from_currency", "Currency code to convert from.", ("{v}", "in {v}"), CURRENCIES),
              S("to_currency", "Currency code to convert to.", ("to {v}", "into {v}"), CURRENCIES,
                unlike="from_currency"))),
    ToolSpec("get_stock_price", "Get the latest stock price for a ticker symbol.",
             ("get the stock price", "look up the share price", "check the stock quote"),
             (S("symbol", "Ticker symbol.", ("of {v}", "for {v}"), TICKERS),
              E("exchange", "Stock exchange.", ("on the {v}", "listed on {v}"), ("NYSE", "NASDAQ", "LSE")))),
    ToolSpec("book_flight", "Book a flight between two airports.",
             ("book a flight", "reserve a plane ticket", "get me a flight"),
             (S("origin", "Departure airport code.", ("from {v}", "departing {v}"), AIRPORTS),
              S("destination", "Arrival airport code.", ("to {v}", "arriving at {v}"), AIRPORTS, unlike="origin"),
              S("date", "Travel date (YYYY-MM-DD).", ("on {v}", "for {v}"), DATES),
              I("passengers", "Number of passengers.", ("for {v} passengers", "with {v} travellers"), 1, 6,
                required=False, default=1),
              E("cabin", "Cabin class.", ("in {v} class", "flying {v}"), ("economy", "business", "first")))),
    ToolSpec("book_hotel", "Reserve a hotel room.",
             ("book a hotel", "reserve a room", "find me a hotel room"),
             (S("city", "City of the hotel.", ("in {v}", "at {v}"), CITIES),
              S("check_in", "Check-in date (YYYY-MM-DD).", ("checking in {v}", "from {v}"), DATES),
              I("nights", "Number of nights.", ("for {v} nights", "staying {v} nights"), 1, 10),
              B("breakfast", "Include breakfast.", "with breakfast", "without breakfast"))),
    ToolSpec("send_email", "Send an email message.",
             ("send an email", "email", "write an email"),
             (S("to", "Recipient email address.", ("to {v}",), EMAILS),
              S("subject", "Subject line.", ("with the subject {v}", "titled {v}"),
                ("Meeting notes", "Invoice", "Weekly update", "Lunch plans", "Project status", "Welcome")),
              A("cc", "Addresses to copy.", ("copying {v}", "with cc {v}"), EMAILS, required=False))),
    ToolSpec("send_sms", "Send a text message to a phone contact.",
             ("text", "send a text message to", "send an SMS to"),
             (S("contact", "Contact name.", ("{v}",), PEOPLE),
              S("message", "Message body.", ("saying {v}", "with the message {v}"),
                ("running late", "call me back", "see you soon", "happy birthday", "on my way", "thanks")))),
    ToolSpec("create_calendar_event", "Create a calendar event.",
             ("schedule a meeting", "add an event to my calendar", "create a calendar event"),
             (S("title", "Event title.", ("called {v}", "named {v}"),
                ("Standup", "Design review", "Dentist", "Team lunch", "Planning", "Gym", "Interview")),
              S("date", "Date (YYYY-MM-DD).", ("on {v}",), DATES),
              S("start_time", "Start time (HH:MM).", ("at {v}", "starting {v}"), TIMES),
              I("duration_minutes", "Length in minutes.", ("for {v} minutes", "lasting {v} minutes"), 15, 180,
                required=False, default=30),
              A("attendees", "People invited.", ("with {v}", "inviting {v}"), PEOPLE, required=False))),
    ToolSpec("set_alarm", "Set an alarm.",
             ("set an alarm", "wake me up", "create an alarm"),
             (S("time", "Alarm time (HH:MM).", ("at {v}", "for {v}"), TIMES),
              S("label", "Alarm label.", ("labelled {v}", "named {v}"), ("work", "gym", "flight", "pills", "call"),
                required=False),
              B("repeat_daily", "Repeat every day.", "every day", "just once"))),
    ToolSpec("set_timer", "Start a countdown timer.",
             ("set a timer", "start a timer", "count down"),
             (I("minutes", "Duration in minutes.", ("for {v} minutes", "of {v} minutes"), 1, 90),)),
    ToolSpec("translate_text", "Translate text into another language.",
             ("translate", "say in another language", "give the translation of"),
             (S("text", "Text to translate.", ("{v}",), ("good morning", "where is the station", "thank you",
                                                        "I am hungry", "how much is it", "see you tomorrow")),
              S("target_language", "Language to translate into.", ("into {v}", "to {v}"), LANGUAGES),
              S("source_language", "Language of the text.", ("from {v}",), LANGUAGES, required=False,
                unlike="target_language"))),
    ToolSpec("define_word", "Look up the definition of an English word.",
             ("define", "look up the meaning of", "what does it mean:"),
             (S("word", "The word.", ("{v}",), WORDS),
              B("include_examples", "Add example sentences.", "with examples", "without examples"))),
    ToolSpec("search_restaurants", "Search for restaurants near a location.",
             ("find restaurants", "search for a place to eat", "look for restaurants"),
             (S("location", "City or neighbourhood.", ("in {v}", "near {v}"), CITIES),
              S("cuisine", "Type of food.", ("serving {v} food", "with {v} cuisine"), CUISINES, required=False),
              I("max_price", "Maximum price level from 1 to 4.", ("at price level {v} or below",), 1, 4,
                required=False),
              B("open_now", "Only places open now.", "that are open now", "open or closed"))),
    ToolSpec("order_food", "Order food for delivery.",
             ("order food", "get food delivered", "place a delivery order"),
             (A("items", "Dishes to order.", ("{v}",), ("pizza", "sushi", "salad", "burger", "soup", "noodles",
                                                         "tacos", "curry")),
              O("address", "Delivery address.", ("to {v}",),
                (S("street", "Street and number.", ("{v}",), STREETS),
                 S("zip", "Postal code.", ("{v}",), ZIPS))),
              B("contactless", "Leave at the door.", "contactless", "handed over in person"))),
    ToolSpec("search_products", "Search an online store for products.",
             ("search the store for", "find products matching", "shop for"),
             (S("query", "Search terms.", ("{v}",), PRODUCTS),
              O("price_range", "Price bounds.", ("priced {v}",),
                (F("min", "Lowest price.", ("between {v}",), 5, 50, decimals=0),
                 F("max", "Highest price.", ("and {v}",), 60, 900, decimals=0)), required=False),
              E("sort_by", "Sort order.", ("sorted by {v}",), ("price", "rating", "newest")))),
    ToolSpec("add_to_cart", "Add a product to the shopping cart.",
             ("add to my cart", "put in the basket", "add to the cart"),
             (S("product", "Product name.", ("{v}",), PRODUCTS),
              I("quantity", "How many.", ("{v} of them", "quantity {v}"), 1, 9))),
    ToolSpec("track_package", "Track a shipped package.",
             ("track my package", "where is my parcel", "check the delivery status"),
             (S("tracking_number", "Carrier tracking number.", ("number {v}", "with tracking code {v}"),
                tuple(number for number, _ in PACKAGES)),
              E("carrier", "Shipping carrier.", ("sent with {v}", "via {v}"), ("ups", "usps", "dhl", "fedex"),
                given=("tracking_number", PACKAGES)))),
    ToolSpec("get_news", "Get the latest news headlines.",
             ("get the news", "show me headlines", "find the latest news"),
             (S("topic", "News topic.", ("about {v}", "on {v}"), TOPICS),
              I("limit", "Number of headlines.", ("top {v}", "{v} headlines"), 1, 20, required=False, default=5),
              S("language", "Language of the articles.", ("in {v}",), LANGUAGES, required=False))),
    ToolSpec("play_music", "Play music on the speaker.",
             ("play some music", "put on music", "start playing"),
             (E("genre", "Music genre.", ("{v}", "in the {v} genre"), GENRES, required=True),
              I("volume", "Volume from 0 to 100.", ("at volume {v}",), 0, 100, required=False),
              B("shuffle", "Shuffle the songs.", "on shuffle", "in order"))),
    ToolSpec("set_thermostat", "Set the thermostat temperature.",
             ("set the thermostat", "change the heating", "adjust the temperature"),
             (F("temperature", "Target temperature.", ("to {v} degrees", "at {v}"), 15, 28, decimals=1),
              S("room", "Room name.", ("in the {v}",), ("kitchen", "bedroom", "living room", "office", "hall"),
                required=False),
              E("mode", "Mode.", ("in {v} mode",), ("heat", "cool", "auto")))),
    ToolSpec("turn_on_lights", "Turn on lights in a room.",
             ("turn on the lights", "switch on the lights", "light up"),
             (S("room", "Room name.", ("in the {v}", "the {v}"), ("kitchen", "bedroom", "living room", "office",
                                                                 "garage", "hall")),
              I("brightness", "Brightness percent.", ("at {v} percent", "to {v}% brightness"), 10, 100,
                required=False, default=100))),
    ToolSpec("calculate_tip", "Calculate the tip for a bill.",
             ("calculate the tip", "work out the tip", "figure out the tip"),
             (F("bill_amount", "Bill total.", ("on a {v} bill", "for a bill of {v}"), 10, 400),
              I("percentage", "Tip percent.", ("at {v} percent", "with a {v}% tip"), 5, 30),
              I("split", "Number of people sharing.", ("split {v} ways", "between {v} people"), 1, 8,
                required=False, default=1))),
    ToolSpec("calculate_loan_payment", "Compute a monthly loan payment.",
             ("calculate my loan payment", "work out the monthly payment", "estimate the loan installment"),
             (F("principal", "Loan amount.", ("for a loan of {v}", "borrowing {v}"), 1000, 500000, decimals=0),
              F("annual_rate", "Annual interest rate in percent.", ("at {v} percent interest", "at a rate of {v}%"),
                1, 12, decimals=2),
              I("years", "Loan term in years.", ("over {v} years", "for {v} years"), 1, 30))),
    ToolSpec("get_exchange_rate", "Get the exchange rate between two currencies.",
             ("get the exchange rate", "what is the rate", "check the FX rate"),
             (S("base", "Base currency.", ("from {v}", "of {v}"), CURRENCIES),
              S("quote", "Quote currency.", ("to {v}", "against {v}"), CURRENCIES, unlike="base"))),
    ToolSpec("get_crypto_price", "Get the price of a cryptocurrency.",
             ("get the crypto price", "check the coin price", "look up the price"),
             (S("symbol", "Coin symbol.", ("of {v}", "for {v}"), SYMBOLS),
              S("currency", "Quote currency.", ("in {v}",), CURRENCIES, required=False, default="USD"))),
    ToolSpec("create_todo", "Add an item to the to-do list.",
             ("add a to-do", "remind me to", "put on my task list"),
             (S("task", "What to do.", ("{v}",), ("buy milk", "call the bank", "renew passport", "water plants",
                                                  "pay rent", "book dentist", "fix the bike")),
              S("due_date", "Due date (YYYY-MM-DD).", ("by {v}", "due {v}"), DATES, required=False),
              E("priority", "Priority.", ("with {v} priority", "as {v} priority"), ("low", "medium", "high")),
              A("tags", "Labels.", ("tagged {v}",), TAGS, required=False))),
    ToolSpec("get_directions", "Get directions between two places.",
             ("get directions", "how do I get", "find a route"),
             (S("origin", "Start.", ("from {v}",), CITIES),
              S("destination", "End.", ("to {v}",), CITIES, unlike="origin"),
              E("mode", "Travel mode.", ("by {v}", "travelling by {v}"), ("car", "train", "bike", "foot")))),
    ToolSpec("find_movie_showtimes", "Find cinema showtimes for a movie.",
             ("find showtimes", "when is it playing", "look up cinema times"),
             (S("movie", "Movie title.", ("for {v}", "of {v}"), ("Dune", "Arrival", "Up", "Heat", "Alien", "Coco")),
              S("city", "City.", ("in {v}",), CITIES),
              S("date", "Date (YYYY-MM-DD).", ("on {v}",), DATES, required=False))),
    ToolSpec("get_sports_score", "Get the latest score of a team.",
             ("get the score", "how did they do", "check the result"),
             (S("team", "Team name.", ("for the {v}", "of the {v}"), TEAMS),
              E("sport", "Sport.", ("in {v}",), ("football", "basketball", "hockey", "baseball"), required=True))),
    ToolSpec("convert_units", "Convert a value between measurement units.",
             ("convert", "change the units of", "express"),
             (F("value", "Value to convert.", ("{v}",), 1, 1000, decimals=1),
              E("from_unit", "Unit of the value.", ("{v}",), ("km", "miles", "kg", "pounds", "liters", "gallons"),
                required=True),
              E("to_unit", "Unit to convert into.", ("into {v}", "to {v}"),
                ("km", "miles", "kg", "pounds", "liters", "gallons"), required=True, given=("from_unit", UNIT_PAIRS)))),
    ToolSpec("get_time", "Get the current time in a time zone.",
             ("what time is it", "tell me the time", "get the local time"),
             (S("timezone", "IANA time zone.", ("in {v}", "for {v}"), TIMEZONES),
              B("include_date", "Include the date.", "with the date", "without the date"))),
    ToolSpec("upload_file", "Upload a file to cloud storage.",
             ("upload", "back up", "store in the cloud"),
             (S("filename", "File to upload.", ("{v}",), FILES),
              S("folder", "Destination folder.", ("into the {v} folder", "to {v}"),
                ("work", "archive", "photos", "shared", "backup")),
              B("public", "Make it public.", "publicly", "privately"))),
    ToolSpec("share_document", "Share a document with people.",
             ("share", "give access to", "send a link to"),
             (S("filename", "Document.", ("{v}",), FILES),
              A("recipients", "People to share with.", ("with {v}",), EMAILS),
              E("permission", "Access level.", ("as {v}", "with {v} rights"), ("view", "comment", "edit")))),
    ToolSpec("search_recipes", "Search for cooking recipes.",
             ("find a recipe", "search recipes", "look up how to cook"),
             (A("ingredients", "Ingredients to use.", ("with {v}", "using {v}"),
                ("chicken", "rice", "tomato", "egg", "spinach", "tofu", "garlic", "lemon", "beans")),
              E("diet", "Diet restriction.", ("that is {v}", "for a {v} diet"), ("vegan", "vegetarian", "keto",
                                                                                  "gluten-free")),
              I("max_minutes", "Max cooking time.", ("under {v} minutes", "in at most {v} minutes"), 10, 120,
                required=False))),
    ToolSpec("log_workout", "Log a workout session.",
             ("log a workout", "record my exercise", "track my training"),
             (E("activity", "Activity.", ("{v}",), ("running", "cycling", "swimming", "yoga", "rowing"),
                required=True),
              I("duration_minutes", "Length in minutes.", ("for {v} minutes", "of {v} minutes"), 10, 180),
              F("distance_km", "Distance in km.", ("covering {v} km", "over {v} km"), 1, 50, decimals=1,
                required=False))),
    ToolSpec("reserve_table", "Reserve a table at a restaurant.",
             ("reserve a table", "book a table", "make a dinner reservation"),
             (S("restaurant", "Restaurant name.", ("at {v}",), ("Luigi's", "Blue Fin", "Casa Sol", "Green Leaf",
                                                               "The Oak", "Saffron")),
              I("party_size", "Number of guests.", ("for {v} people", "for a party of {v}"), 1, 12),
              S("time", "Time (HH:MM).", ("at {v}",), TIMES),
              O("contact", "Who booked.", ("under {v}",),
                (S("name", "Guest name.", ("{v}",), PEOPLE),
                 S("phone", "Phone number.", ("phone {v}",), ("555-0101", "555-0142", "555-0199", "555-0123")))))),
    # ---- held out: validation only ----
    ToolSpec("rent_car", "Rent a car for some days.",
             ("rent a car", "hire a car", "get a rental car"),
             (S("city", "Pick-up city.", ("in {v}", "at {v}"), CITIES),
              S("pickup_date", "Pick-up date (YYYY-MM-DD).", ("from {v}", "starting {v}"), DATES),
              I("days", "Rental length in days.", ("for {v} days",), 1, 21),
              E("car_type", "Car class.", ("a {v}", "a {v} model"), ("compact", "suv", "van", "convertible"))),
             holdout=True),
    ToolSpec("get_air_quality", "Get the air quality index for a city.",
             ("check the air quality", "get the pollution level", "how clean is the air"),
             (S("city", "City name.", ("in {v}", "for {v}"), CITIES),
              B("include_pollen", "Add pollen levels.", "including pollen", "without pollen")),
             holdout=True),
    ToolSpec("schedule_call", "Schedule a phone call with a contact.",
             ("schedule a call", "set up a phone call", "arrange a call"),
             (S("contact", "Who to call.", ("with {v}",), PEOPLE),
              S("time", "Time (HH:MM).", ("at {v}",), TIMES),
              I("duration_minutes", "Length in minutes.", ("for {v} minutes",), 5, 90, required=False)),
             holdout=True),
    ToolSpec("find_parking", "Find parking spots near a place.",
             ("find parking", "look for a parking spot", "where can I park"),
             (S("location", "Where to park.", ("near {v}", "in {v}"), CITIES),
              F("max_hourly_rate", "Max price per hour.", ("under {v} per hour",), 1, 15, decimals=1,
                required=False),
              B("covered", "Covered parking only.", "that is covered", "covered or open")),
             holdout=True),
)
