"""Reference data of the demo: locations, carriers, shipping methods, B2B accounts,
and the names, streets and ZIP codes people are made of.

Every ZIP code here is a real US ZIP code, so addresses geocode offline like real ones.
Companies, people and e-mail domains are fictional; e-mail addresses use the reserved
``example.com`` family so that nothing the demo sends can reach anyone.
"""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from customers.models import PaymentTerms
from inventory.models import LocationKind
from shipping.models import ServiceLevel

WEEKDAYS = [1, 2, 3, 4, 5]
EVERY_DAY = [1, 2, 3, 4, 5, 6, 7]


@dataclass(frozen=True)
class LocationSpec:
    code: str
    name: str
    kind: str
    line1: str
    city: str
    region: str
    postal_code: str
    phone: str
    priority: int
    daily_capacity: int | None
    cost_per_shipment: Decimal
    ships: bool = True
    pickup: bool = False
    customization: bool = False
    contact_email: str = ""
    # Where its clock runs: shipping cut-offs are read on it (the zone of its state).
    time_zone: str = ""


LOCATIONS: tuple[LocationSpec, ...] = (
    LocationSpec(
        "DC-NJ", "East Coast DC (Edison)", LocationKind.DISTRIBUTION_CENTER,
        "300 Raritan Center Pkwy", "Edison", "NJ", "08817", "+1 732-555-0140",
        priority=10, daily_capacity=2000, cost_per_shipment=Decimal("4.50"),
        customization=True, contact_email="dc-nj@example.com",
        time_zone="America/New_York",
    ),
    LocationSpec(
        "WH-TX", "Central Warehouse (Coppell)", LocationKind.WAREHOUSE,
        "1200 Freeport Pkwy", "Coppell", "TX", "75019", "+1 214-555-0172",
        priority=20, daily_capacity=1500, cost_per_shipment=Decimal("4.25"),
        contact_email="wh-tx@example.com",
        time_zone="America/Chicago",
    ),
    LocationSpec(
        "DC-NV", "West Coast DC (Reno)", LocationKind.DISTRIBUTION_CENTER,
        "4855 Longley Ln", "Reno", "NV", "89502", "+1 775-555-0118",
        priority=30, daily_capacity=1200, cost_per_shipment=Decimal("4.75"),
        contact_email="dc-nv@example.com",
        time_zone="America/Los_Angeles",
    ),
    LocationSpec(
        "ST-NYC", "Store: New York Herald Square", LocationKind.STORE,
        "151 W 34th St", "New York", "NY", "10001", "+1 212-555-0123",
        priority=70, daily_capacity=150, cost_per_shipment=Decimal("8.00"),
        pickup=True, customization=True, contact_email="store-nyc@example.com",
        time_zone="America/New_York",
    ),
    LocationSpec(
        "ST-CHI", "Store: Chicago Magnificent Mile", LocationKind.STORE,
        "520 N Michigan Ave", "Chicago", "IL", "60611", "+1 312-555-0166",
        priority=75, daily_capacity=120, cost_per_shipment=Decimal("7.50"),
        pickup=True, contact_email="store-chi@example.com",
        time_zone="America/Chicago",
    ),
    LocationSpec(
        "ST-LA", "Store: Los Angeles Fairfax", LocationKind.STORE,
        "6333 W 3rd St", "Los Angeles", "CA", "90036", "+1 323-555-0109",
        priority=80, daily_capacity=100, cost_per_shipment=Decimal("8.25"),
        pickup=True, customization=True, contact_email="store-la@example.com",
        time_zone="America/Los_Angeles",
    ),
    LocationSpec(
        "3PL-MEM", "Riverbend Logistics (3PL, Memphis)", LocationKind.THIRD_PARTY,
        "3950 Tchulahoma Rd", "Memphis", "TN", "38118", "+1 901-555-0185",
        priority=50, daily_capacity=800, cost_per_shipment=Decimal("6.25"),
        contact_email="ops@riverbend-logistics.example.com",
        time_zone="America/Chicago",
    ),
    LocationSpec(
        "VND-EVG", "Evergreen Outdoor & Home (dropship)", LocationKind.DROPSHIP_VENDOR,
        "12000 NE Airport Way", "Portland", "OR", "97230", "+1 503-555-0131",
        priority=90, daily_capacity=300, cost_per_shipment=Decimal("3.00"),
        contact_email="orders@evergreen-outdoor.example.com",
        time_zone="America/Los_Angeles",
    ),
)  # fmt: skip

DROPSHIP_VENDOR_CODE = "VND-EVG"


@dataclass(frozen=True)
class CarrierSpec:
    code: str
    name: str
    tracking_url_template: str
    offers_return_pickup: bool = False


# Only the simulated carrier is "real" in the demo (it also collects returns); the
# others carry familiar-sounding names marked as demo and track nowhere that exists.
CARRIERS: tuple[CarrierSpec, ...] = (
    CarrierSpec(
        "SIM",
        "Simulated Carrier",
        "https://tracking.example.com/sim/{tracking_number}",
        offers_return_pickup=True,
    ),
    CarrierSpec(
        "PARCELX", "ParcelExpress (demo)", "https://tracking.example.com/px/{tracking_number}"
    ),
    CarrierSpec(
        "FASTAIR", "FastAir Freight (demo)", "https://tracking.example.com/fa/{tracking_number}"
    ),
    CarrierSpec(
        "METRO", "Metro Courier (demo)", "https://tracking.example.com/mc/{tracking_number}"
    ),
)


@dataclass(frozen=True)
class ShippingMethodSpec:
    code: str
    name: str
    service_level: str
    carrier_code: str | None
    transit_days: tuple[int, int]
    cutoff: dt.time
    operating_days: list[int]
    price: Decimal


SHIPPING_METHODS: tuple[ShippingMethodSpec, ...] = (
    ShippingMethodSpec(
        "STANDARD", "Standard (5–7 business days)", ServiceLevel.STANDARD, "PARCELX",
        (5, 7), dt.time(16, 0), WEEKDAYS, Decimal("5.99"),
    ),
    ShippingMethodSpec(
        "ECONOMY", "Economy (simulated, 5–7 business days)", ServiceLevel.STANDARD, "SIM",
        (5, 7), dt.time(17, 0), WEEKDAYS, Decimal("3.99"),
    ),
    ShippingMethodSpec(
        "EXPRESS", "Express (2–3 business days)", ServiceLevel.EXPRESS, "FASTAIR",
        (2, 3), dt.time(15, 0), WEEKDAYS, Decimal("14.99"),
    ),
    ShippingMethodSpec(
        "NEXT_DAY", "Next day", ServiceLevel.NEXT_DAY, "FASTAIR",
        (1, 1), dt.time(13, 0), WEEKDAYS, Decimal("29.99"),
    ),
    ShippingMethodSpec(
        "SAME_DAY", "Same day (metro areas)", ServiceLevel.SAME_DAY, "METRO",
        (0, 0), dt.time(11, 0), [1, 2, 3, 4, 5, 6], Decimal("19.99"),
    ),
    ShippingMethodSpec(
        "WEEKEND", "Weekend delivery", ServiceLevel.WEEKEND, "SIM",
        (1, 2), dt.time(12, 0), [5, 6, 7], Decimal("24.99"),
    ),
    ShippingMethodSpec(
        "PICKUP", "Store pickup", ServiceLevel.PICKUP, None,
        (0, 0), dt.time(17, 0), EVERY_DAY, Decimal("0.00"),
    ),
)  # fmt: skip


@dataclass(frozen=True)
class CompanySpec:
    account_number: str
    name: str
    email_domain: str
    payment_terms: str
    credit_limit: Decimal
    postal_code: str
    city: str
    region: str
    line1: str
    contract_discount: Decimal  # off list price on its orders
    tax_exemption_number: str = ""
    po_required: bool = False
    approval_threshold: Decimal | None = None
    allow_backorders: bool = False
    default_shipping_method: str = ""  # a method's code; drafts start with it


D = Decimal
COMPANIES: tuple[CompanySpec, ...] = (
    CompanySpec("ACC-10001", "Blue Ridge Hospitality Group", "blueridgehg.example.com",
                PaymentTerms.NET_30, D("150000"), "28202", "Charlotte", "NC",
                "210 N Tryon St", D("0.12"), po_required=True, approval_threshold=D("5000")),
    CompanySpec("ACC-10002", "Harborview Medical Center", "harborview-mc.example.com",
                PaymentTerms.NET_60, D("250000"), "98101", "Seattle", "WA",
                "1100 Ninth Ave", D("0.10"), tax_exemption_number="WA-EX-4471902",
                po_required=True, default_shipping_method="EXPRESS"),
    CompanySpec("ACC-10003", "Lakeside Unified School District", "lakeside-usd.example.com",
                PaymentTerms.NET_30, D("80000"), "55401", "Minneapolis", "MN",
                "800 Washington Ave N", D("0.15"), tax_exemption_number="MN-ES-0031877",
                po_required=True, approval_threshold=D("2500")),
    CompanySpec("ACC-10004", "Copperline Architects", "copperline.example.com",
                PaymentTerms.NET_30, D("40000"), "80202", "Denver", "CO",
                "1600 Wynkoop St", D("0.05"), approval_threshold=D("2500")),
    CompanySpec("ACC-10005", "Sunbelt Property Management", "sunbeltpm.example.com",
                PaymentTerms.NET_15, D("60000"), "85004", "Phoenix", "AZ",
                "2 N Central Ave", D("0.08")),
    CompanySpec("ACC-10006", "Northwind Coffee Roasters", "northwindcoffee.example.com",
                PaymentTerms.NET_30, D("30000"), "97205", "Portland", "OR",
                "1001 SW Morrison St", D("0.10"), allow_backorders=True),
    CompanySpec("ACC-10007", "Keystone Law Partners", "keystonelaw.example.com",
                PaymentTerms.NET_30, D("25000"), "19103", "Philadelphia", "PA",
                "1735 Market St", D("0.05"), po_required=True),
    CompanySpec("ACC-10008", "Lone Star Event Co.", "lonestarevents.example.com",
                PaymentTerms.NET_15, D("50000"), "78701", "Austin", "TX",
                "500 W 2nd St", D("0.10"), allow_backorders=True),
    CompanySpec("ACC-10009", "Gulf Coast Marine Supply", "gulfcoastmarine.example.com",
                PaymentTerms.NET_30, D("75000"), "70112", "New Orleans", "LA",
                "1250 Poydras St", D("0.07")),
    CompanySpec("ACC-10010", "Prairie State University Bookstore", "psu-bookstore.example.com",
                PaymentTerms.NET_60, D("120000"), "52240", "Iowa City", "IA",
                "125 N Madison St", D("0.15"), tax_exemption_number="IA-EX-2290415",
                po_required=True, approval_threshold=D("10000")),
    CompanySpec("ACC-10011", "Redwood Realty Partners", "redwoodrealty.example.com",
                PaymentTerms.PREPAID, D("0"), "94103", "San Francisco", "CA",
                "1355 Market St", D("0.03")),
    CompanySpec("ACC-10012", "Great Lakes Dental Group", "greatlakesdental.example.com",
                PaymentTerms.NET_30, D("45000"), "48201", "Detroit", "MI",
                "440 Burroughs St", D("0.06")),
    CompanySpec("ACC-10013", "Silver State Hotels & Resorts", "silverstatehotels.example.com",
                PaymentTerms.NET_60, D("200000"), "89101", "Las Vegas", "NV",
                "300 S 4th St", D("0.14"), po_required=True, approval_threshold=D("15000")),
    CompanySpec("ACC-10014", "Peachtree Creative Agency", "peachtreecreative.example.com",
                PaymentTerms.NET_15, D("20000"), "30309", "Atlanta", "GA",
                "1375 Peachtree St NE", D("0.05")),
    CompanySpec("ACC-10015", "Bay Colony Catering", "baycolonycatering.example.com",
                PaymentTerms.NET_30, D("35000"), "02116", "Boston", "MA",
                "100 Huntington Ave", D("0.08"), allow_backorders=True),
    CompanySpec("ACC-10016", "Mile High Fitness Clubs", "milehighfitness.example.com",
                PaymentTerms.NET_30, D("55000"), "80302", "Boulder", "CO",
                "1942 Broadway", D("0.07")),
    CompanySpec("ACC-10017", "Magnolia Community Foundation", "magnoliafoundation.example.com",
                PaymentTerms.NET_30, D("15000"), "39201", "Jackson", "MS",
                "210 E Capitol St", D("0.10"), tax_exemption_number="MS-501C3-77120"),
    CompanySpec("ACC-10018", "Ironworks Manufacturing", "ironworksmfg.example.com",
                PaymentTerms.NET_60, D("180000"), "15222", "Pittsburgh", "PA",
                "600 Grant St", D("0.12"), po_required=True, approval_threshold=D("20000")),
    CompanySpec("ACC-10019", "Cascade Outfitters Co-op", "cascadeoutfitters.example.com",
                PaymentTerms.NET_30, D("90000"), "98109", "Seattle", "WA",
                "400 Fairview Ave N", D("0.09")),
    CompanySpec("ACC-10020", "Pacific Rim Trading Co.", "pacificrimtrading.example.com",
                PaymentTerms.PREPAID, D("0"), "92612", "Irvine", "CA",
                "2 Park Plaza", D("0.04")),
)  # fmt: skip


# (ZIP, city, state, area code) — real ZIP codes across the country, for customer
# addresses. The area code makes phone numbers look local.
ZIP_CODES: tuple[tuple[str, str, str, str], ...] = (
    ("10011", "New York", "NY", "212"), ("10025", "New York", "NY", "212"),
    ("11215", "Brooklyn", "NY", "718"), ("11201", "Brooklyn", "NY", "718"),
    ("12207", "Albany", "NY", "518"), ("14202", "Buffalo", "NY", "716"),
    ("07030", "Hoboken", "NJ", "201"), ("02116", "Boston", "MA", "617"),
    ("02139", "Cambridge", "MA", "617"), ("06103", "Hartford", "CT", "860"),
    ("04101", "Portland", "ME", "207"), ("03101", "Manchester", "NH", "603"),
    ("05401", "Burlington", "VT", "802"), ("19103", "Philadelphia", "PA", "215"),
    ("19147", "Philadelphia", "PA", "215"), ("15222", "Pittsburgh", "PA", "412"),
    ("17101", "Harrisburg", "PA", "717"), ("16801", "State College", "PA", "814"),
    ("21201", "Baltimore", "MD", "410"), ("20001", "Washington", "DC", "202"),
    ("22201", "Arlington", "VA", "703"), ("23220", "Richmond", "VA", "804"),
    ("27601", "Raleigh", "NC", "919"), ("28202", "Charlotte", "NC", "704"),
    ("29201", "Columbia", "SC", "803"), ("30303", "Atlanta", "GA", "404"),
    ("30309", "Atlanta", "GA", "404"), ("32801", "Orlando", "FL", "407"),
    ("33139", "Miami Beach", "FL", "305"), ("33602", "Tampa", "FL", "813"),
    ("35203", "Birmingham", "AL", "205"), ("36104", "Montgomery", "AL", "334"),
    ("39201", "Jackson", "MS", "601"), ("37203", "Nashville", "TN", "615"),
    ("40202", "Louisville", "KY", "502"), ("43215", "Columbus", "OH", "614"),
    ("44113", "Cleveland", "OH", "216"), ("45202", "Cincinnati", "OH", "513"),
    ("46204", "Indianapolis", "IN", "317"), ("47906", "West Lafayette", "IN", "765"),
    ("48201", "Detroit", "MI", "313"), ("49503", "Grand Rapids", "MI", "616"),
    ("53202", "Milwaukee", "WI", "414"), ("55401", "Minneapolis", "MN", "612"),
    ("55104", "Saint Paul", "MN", "651"), ("60614", "Chicago", "IL", "773"),
    ("60657", "Chicago", "IL", "773"), ("63101", "Saint Louis", "MO", "314"),
    ("64105", "Kansas City", "MO", "816"), ("66101", "Kansas City", "KS", "913"),
    ("67202", "Wichita", "KS", "316"), ("68102", "Omaha", "NE", "402"),
    ("50309", "Des Moines", "IA", "515"), ("52240", "Iowa City", "IA", "319"),
    ("57104", "Sioux Falls", "SD", "605"), ("58102", "Fargo", "ND", "701"),
    ("70112", "New Orleans", "LA", "504"), ("72201", "Little Rock", "AR", "501"),
    ("73102", "Oklahoma City", "OK", "405"), ("74103", "Tulsa", "OK", "918"),
    ("75201", "Dallas", "TX", "214"), ("77002", "Houston", "TX", "713"),
    ("77005", "Houston", "TX", "713"), ("78701", "Austin", "TX", "512"),
    ("78204", "San Antonio", "TX", "210"), ("79901", "El Paso", "TX", "915"),
    ("80202", "Denver", "CO", "303"), ("80302", "Boulder", "CO", "303"),
    ("84101", "Salt Lake City", "UT", "801"), ("83702", "Boise", "ID", "208"),
    ("59601", "Helena", "MT", "406"), ("82001", "Cheyenne", "WY", "307"),
    ("85004", "Phoenix", "AZ", "602"), ("85251", "Scottsdale", "AZ", "480"),
    ("87102", "Albuquerque", "NM", "505"), ("89101", "Las Vegas", "NV", "702"),
    ("92101", "San Diego", "CA", "619"), ("92612", "Irvine", "CA", "949"),
    ("94103", "San Francisco", "CA", "415"), ("94110", "San Francisco", "CA", "415"),
    ("94607", "Oakland", "CA", "510"), ("95814", "Sacramento", "CA", "916"),
    ("97205", "Portland", "OR", "503"), ("98101", "Seattle", "WA", "206"),
    ("98109", "Seattle", "WA", "206"), ("99201", "Spokane", "WA", "509"),
    ("96813", "Honolulu", "HI", "808"), ("99501", "Anchorage", "AK", "907"),
)  # fmt: skip

# Approximate combined state and average local sales tax rates. Historical orders carry
# them as imported; the seed also stores them as ``TaxRate`` rows, which live orders
# are taxed by. Demo figures, not tax advice.
SALES_TAX_RATES: dict[str, Decimal] = {
    state: Decimal(rate)
    for state, rate in {
        "AK": "0.0182", "AL": "0.0924", "AR": "0.0945", "AZ": "0.0837", "CA": "0.0882",
        "CO": "0.0781", "CT": "0.0635", "DC": "0.0600", "FL": "0.0702", "GA": "0.0742",
        "HI": "0.0450", "IA": "0.0694", "ID": "0.0603", "IL": "0.0886", "IN": "0.0700",
        "KS": "0.0869", "KY": "0.0600", "LA": "0.0955", "MA": "0.0625", "MD": "0.0600",
        "ME": "0.0550", "MI": "0.0600", "MN": "0.0804", "MO": "0.0839", "MS": "0.0706",
        "MT": "0.0000", "NC": "0.0700", "ND": "0.0696", "NE": "0.0697", "NH": "0.0000",
        "NJ": "0.0660", "NM": "0.0762", "NV": "0.0824", "NY": "0.0853", "OH": "0.0724",
        "OK": "0.0899", "OR": "0.0000", "PA": "0.0634", "SC": "0.0749", "SD": "0.0611",
        "TN": "0.0955", "TX": "0.0820", "UT": "0.0719", "VA": "0.0577", "VT": "0.0636",
        "WA": "0.0938", "WI": "0.0543", "WY": "0.0544",
    }.items()
}  # fmt: skip

# States that tax the delivery charge along with taxable goods (a simplification: the
# real rules depend on how shipping is invoiced).
TAX_SHIPPING_STATES = frozenset({"GA", "MN", "NC", "NJ", "NY", "OH", "PA", "TN", "TX", "WA"})


@dataclass(frozen=True)
class PriceListSpec:
    """A contract price list: ``sku_count`` of the most popular SKUs whose code starts
    with one of ``sku_prefixes``, at ``discount`` off list price from one unit, and
    deeper ``breaks`` (min quantity, discount) on some of them."""

    code: str
    name: str
    sku_prefixes: tuple[str, ...]
    sku_count: int
    discount: Decimal
    breaks: tuple[tuple[int, Decimal], ...]
    companies: tuple[str, ...]  # account numbers that buy on it


PRICE_LISTS: tuple[PriceListSpec, ...] = (
    PriceListSpec(
        "CONTRACT-HOSP", "Hospitality contract 2026", ("KIT-", "HOM-"), 15, D("0.15"),
        ((12, D("0.20")), (48, D("0.25"))),
        ("ACC-10001", "ACC-10006", "ACC-10013", "ACC-10015"),
    ),
    PriceListSpec(
        "CONTRACT-EDU", "Education & non-profit contract 2026", ("OFF-", "APP-"), 12,
        D("0.18"), ((24, D("0.22")), (100, D("0.28"))),
        ("ACC-10003", "ACC-10010", "ACC-10017"),
    ),
    PriceListSpec(
        "CONTRACT-CORP", "Corporate gifting & office 2026", ("GFT-", "OUT-300"), 13,
        D("0.10"), ((10, D("0.14")), (50, D("0.20"))),
        ("ACC-10004", "ACC-10007", "ACC-10012", "ACC-10018"),
    ),
)  # fmt: skip

CANCEL_REASONS: tuple[str, ...] = (
    "Customer changed their mind",
    "Ordered twice by mistake",
    "Found it cheaper elsewhere",
    "Delivery date too late for the customer",
)
PARTIAL_CANCEL_REASONS: tuple[str, ...] = (
    "Customer no longer needs all the units",
    "Wrong size ordered; customer reorders",
    "Customer removed an item by phone",
)
CUSTOMIZATION_VALUES: dict[str, tuple[str, ...]] = {
    "engraving": ("For J.", "Est. 2019", "Happy 10th", "M & R"),
    "monogram": ("JRS", "AKL", "MHB", "EO"),
    "text": ("Welcome home", "The Garcias", "Hello friend"),
    "gift_message": ("Happy birthday!", "Congratulations on the new job", "With thanks"),
    "name": ("Maya", "Olivia", "Sofia", "Noah"),
}

FIRST_NAMES: tuple[str, ...] = (
    "James", "Maria", "Robert", "Linda", "Michael", "Patricia", "David", "Jennifer",
    "William", "Elizabeth", "Carlos", "Sofia", "Daniel", "Emily", "Matthew", "Olivia",
    "Anthony", "Ava", "Andrew", "Isabella", "Joshua", "Mia", "Kevin", "Charlotte",
    "Brian", "Amelia", "Jason", "Harper", "Ryan", "Evelyn", "Luis", "Camila",
    "Jamal", "Aaliyah", "Wei", "Mei", "Hiroshi", "Yuki", "Priya", "Arjun",
    "Fatima", "Omar", "Ngozi", "Kwame", "Elena", "Mateo", "Grace", "Ethan",
    "Chloe", "Noah", "Hannah", "Lucas", "Zoe", "Owen", "Nora", "Caleb",
    "Leah", "Isaac", "Ruby", "Diego",
)  # fmt: skip

LAST_NAMES: tuple[str, ...] = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis",
    "Rodriguez", "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson",
    "Thomas", "Taylor", "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson",
    "White", "Harris", "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson", "Walker",
    "Young", "Allen", "King", "Wright", "Scott", "Torres", "Nguyen", "Hill", "Flores",
    "Green", "Adams", "Nelson", "Baker", "Hall", "Rivera", "Campbell", "Mitchell",
    "Carter", "Roberts", "Chen", "Patel", "Kim", "Okoye", "Kowalski", "Novak",
    "Schmidt", "Rossi", "Murphy", "O'Brien",
)  # fmt: skip

STREET_NAMES: tuple[str, ...] = (
    "Main St", "Oak Ave", "Maple St", "Cedar Ln", "Elm St", "Pine St", "Washington Ave",
    "Lake Dr", "Hillcrest Rd", "Park Ave", "Sunset Blvd", "Highland Ave", "Church St",
    "Spring St", "Ridge Rd", "Meadow Ln", "River Rd", "Chestnut St", "Walnut St",
    "Franklin St", "Jefferson Ave", "Madison Ave", "Lincoln Ave", "Broadway",
    "Willow Way", "Birch Ct", "Summit Ave", "Forest Dr", "Prospect St", "Union St",
    "Grove St", "Mill Rd", "College Ave", "Harbor Dr", "Orchard Ln", "Valley View Rd",
)  # fmt: skip
