"""Fixed word lists the synthetic world is made of: people, pages, devices, brands, plans and tickets.

Everything here is fictional. Domains use the reserved `.example` TLD or `example.com`, IP addresses come
from the documentation ranges (RFC 5737) and phone numbers from the 555 exchange, so nothing generated can
reach a real person if a demo sync is pointed at a live destination by mistake.
"""

from __future__ import annotations

PERSONAS = ("window_shopper", "bargain_hunter", "loyalist", "mobile_first", "b2b_buyer")
PERSONA_SHARE = (0.30, 0.22, 0.16, 0.20, 0.12)

GROUPS = ("churner", "big_spender", "brand_lover", "support_heavy", "trial_never_subscribed")
PLANS = ("trial", "basic", "pro")
SOURCES = ("web", "ios", "crm", "billing", "support")

SITE = "https://shop.example.com"

FIRST_NAMES = (
    "Jane", "John", "Maria", "Wei", "Aisha", "Liam", "Olivia", "Noah", "Emma", "Mateo", "Sofia", "Lucas",
    "Amara", "Hiroshi", "Priya", "Omar", "Chloe", "Ethan", "Zoe", "Diego", "Fatima", "Kai", "Lena", "Ravi",
    "Nora", "Samuel", "Ines", "Tomas", "Yara", "Felix", "Hana", "Jonas", "Leila", "Marco", "Nina", "Oscar",
    "Paula", "Quinn", "Rosa", "Sven", "Tara", "Umar", "Vera", "Wyatt", "Ximena", "Yusuf", "Zara", "Alma",
)  # fmt: skip
LAST_NAMES = (
    "Doe", "Smith", "Garcia", "Chen", "Khan", "Murphy", "Rossi", "Nguyen", "Kowalski", "Silva", "Müller",
    "Okafor", "Tanaka", "Patel", "Haddad", "Dubois", "Johansson", "Novak", "Costa", "Ivanova", "Larsen",
    "Moreau", "Fischer", "Santos", "Brennan", "Yilmaz", "Schmidt", "Lopez", "Wong", "Kim", "Ali", "Berg",
    "Castillo", "Dunn", "Eriksen", "Ferreira", "Grant", "Holm", "Ibarra", "Jensen", "Keller", "Lund",
)  # fmt: skip
EMAIL_DOMAINS = ("mail.example", "inbox.example", "post.example", "example.net", "example.org")
EMAIL_DOMAIN_SHARE = (0.34, 0.26, 0.16, 0.14, 0.10)

# US area codes used with the fictional 555 exchange.
AREA_CODES = (
    201, 202, 206, 212, 213, 214, 215, 303, 305, 310, 312, 313, 404, 408, 412, 415, 503, 512, 602, 614,
    617, 619, 646, 702, 704, 713, 718, 720, 773, 786, 801, 808, 818, 828, 832, 858, 917, 919, 925, 949,
)  # fmt: skip

# How people type a phone number into different systems; all normalise to the E.164 `+1AAAEEELLLL`.
PHONE_FORMATS = (
    "+1 {a} {e} {l}",
    "({a}) {e}-{l}",
    "{a}{e}{l}",
    "{a}-{e}-{l}",
    "+1{a}{e}{l}",
    "1-{a}-{e}-{l}",
)

# The values real pipelines receive from broken clients and QA; they belong to nobody.
JUNK_EMAILS = ("test@example.com",)
JUNK_EMAIL_VARIANTS = ("test@example.com", "Test@Example.com", " test@example.com", "TEST@EXAMPLE.COM")
JUNK_USER_IDS = ("0", "null", "undefined", "anonymous")

# (IANA zone, UTC offset in hours ignoring daylight saving, locale, share of people)
TIME_ZONES = (
    ("America/New_York", -5, "en-US", 0.34),
    ("America/Chicago", -6, "en-US", 0.20),
    ("America/Denver", -7, "en-US", 0.08),
    ("America/Los_Angeles", -8, "en-US", 0.23),
    ("Europe/London", 0, "en-GB", 0.09),
    ("Europe/Berlin", 1, "de-DE", 0.06),
)

# Share of sessions starting in each local hour: quiet nights, a lunch bump and an evening peak.
DIURNAL = (
    0.012, 0.007, 0.004, 0.003, 0.003, 0.006, 0.014, 0.026, 0.038, 0.046, 0.050, 0.055,
    0.062, 0.060, 0.052, 0.048, 0.047, 0.050, 0.060, 0.072, 0.078, 0.074, 0.054, 0.030,
)  # fmt: skip

USER_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:127.0) Gecko/20100101 Firefox/127.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
)
WEB_LIBRARY = {"name": "analytics.js", "version": "next-1.70.0"}
EXTERNAL_REFERRERS = (
    "",
    "https://www.google.com/",
    "https://www.bing.com/",
    "https://duckduckgo.com/",
    "https://t.co/",
    "https://www.facebook.com/",
    "https://newsletter.example.com/",
)
EXTERNAL_REFERRER_SHARE = (0.34, 0.36, 0.05, 0.04, 0.06, 0.07, 0.08)

# (model, screen width, screen height); the last one is the tablet families share.
IOS_MODELS = (
    ("iPhone13,2", 390, 844),
    ("iPhone14,5", 390, 844),
    ("iPhone15,2", 393, 852),
    ("iPhone15,4", 393, 852),
    ("iPhone16,1", 393, 852),
    ("iPhone16,2", 430, 932),
    ("iPad13,18", 820, 1180),
)
IOS_VERSIONS = ("16.7.8", "17.4.1", "17.5.1", "17.6", "18.0", "18.1")
IOS_APP_VERSIONS = (("5.3.0", "530"), ("5.4.1", "541"), ("5.5.0", "550"))
IOS_APP = {"name": "Example Shop", "namespace": "com.example.shop"}
IOS_LIBRARY = {"name": "analytics-ios", "version": "4.1.8"}
IOS_SCREENS = (
    "Home", "Search", "Category", "Product Detail", "Cart", "Checkout", "Account", "Order History", "Settings",
)  # fmt: skip
IOS_SCREEN_SHARE = (0.24, 0.14, 0.16, 0.20, 0.08, 0.04, 0.06, 0.05, 0.03)

SERVER_LIBRARIES = {
    "crm": {"name": "analytics-python", "version": "2.3.2"},
    "billing": {"name": "analytics-node", "version": "2.1.2"},
    "support": {"name": "analytics-python", "version": "2.3.2"},
}

# (page name, path, title, share of non-product page views)
STATIC_PAGES = (
    ("Home", "/", "Example Shop", 0.30),
    ("Search", "/search", "Search | Example Shop", 0.12),
    ("Cart", "/cart", "Your cart | Example Shop", 0.08),
    ("Checkout", "/checkout", "Checkout | Example Shop", 0.04),
    ("Pricing", "/pricing", "Membership plans | Example Shop", 0.05),
    ("Sign Up", "/signup", "Create your account | Example Shop", 0.02),
    ("Log In", "/login", "Log in | Example Shop", 0.03),
    ("Account", "/account", "Your account | Example Shop", 0.04),
    ("Help", "/help", "Help center | Example Shop", 0.03),
    ("Blog", "/blog/spring-outdoor-guide", "The spring outdoor guide | Example Shop", 0.02),
    ("Blog", "/blog/how-we-source", "How we source our products | Example Shop", 0.01),
)
SIGNUP_PAGE = 5
LOGIN_PAGE = 6

SIGNUP_METHODS = ("email", "google", "apple")
LOGIN_METHODS = ("password", "google", "apple", "magic_link")
BILLING_INTERVALS = ("month", "year")
# Monthly price in cents per paid plan (basic, pro); yearly is ten months.
PLAN_PRICE_CENTS = {"basic": 999, "pro": 2999}
TRIAL_DAYS = 14

BRANDS = (
    "Northwind", "Bluepeak", "Copperline", "Driftwood", "Evergrain", "Foxglove", "Granite Supply", "Harborline",
    "Ironbark", "Juniper Lane", "Kestrel", "Lumen", "Meridian", "Nimbus", "Oakhurst", "Pinecrest",
)  # fmt: skip
# (category, nouns, median price in cents)
CATEGORIES = (
    ("Apparel", ("Tee", "Hoodie", "Rain Jacket", "Overshirt", "Fleece", "Chinos"), 4500),
    ("Footwear", ("Trail Runner", "Sneaker", "Hiking Boot", "Sandal"), 9500),
    ("Outdoor", ("Tent", "Sleeping Bag", "Daypack", "Headlamp", "Camp Stove"), 12000),
    ("Home", ("Throw Blanket", "Table Lamp", "Planter", "Linen Set"), 6000),
    ("Kitchen", ("Chef Knife", "Dutch Oven", "Pour-Over Kit", "Cutting Board"), 5500),
    ("Electronics", ("Earbuds", "Speaker", "Power Bank", "Smart Plug"), 8000),
    ("Beauty", ("Face Serum", "Shampoo Bar", "Hand Cream"), 2200),
    ("Accessories", ("Wallet", "Beanie", "Sunglasses", "Water Bottle", "Tote"), 3000),
)  # fmt: skip
ADJECTIVES = ("Classic", "Everyday", "Alpine", "Coastal", "Urban", "Heritage", "Light", "Pro", "Essential")

TICKET_PRIORITIES = ("low", "normal", "high", "urgent")
TICKET_PRIORITY_SHARE = (0.30, 0.50, 0.15, 0.05)
TICKET_SUBJECTS = (
    "Where is my order?",
    "Item arrived damaged",
    "Refund request",
    "Wrong size delivered",
    "Cannot log in to my account",
    "Promo code not working",
    "Change my shipping address",
    "Charged twice",
)
TRIAL_TICKET_SUBJECTS = (
    "Question about my free trial",
    "How do I cancel my trial?",
    "Trial features not working",
    "What is included in Pro?",
)

COMPANY_WORDS = (
    "Acme", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Wonka", "Hooli", "Vandelay", "Soylent",
    "Cyberdyne", "Tyrell", "Massive", "Aperture", "Gringotts", "Monarch", "Oscorp", "Pied Piper",
)  # fmt: skip
COMPANY_SUFFIXES = ("Labs", "Logistics", "Retail", "Partners", "Group", "Supply", "Studios", "Foods")
INDUSTRIES = ("Retail", "Hospitality", "Education", "Healthcare", "Technology", "Construction", "Media")
