"""The demo catalogue: about 200 SKUs expanded from base products and their variants.

SKUs are stable (base code + variant code), so they serve as natural keys when the
seed runs again. Personalised items are non-returnable, as most shops have it; large
outdoor furniture ships from the dropship vendor.
"""

from dataclasses import dataclass
from decimal import Decimal
from itertools import product as cartesian

# (code, label, price difference to the base price)
Variant = tuple[str, str, Decimal]

Z = Decimal("0")


def _plain(*pairs: tuple[str, str]) -> tuple[Variant, ...]:
    return tuple((code, label, Z) for code, label in pairs)


def _cross(first: tuple[Variant, ...], second: tuple[Variant, ...]) -> tuple[Variant, ...]:
    return tuple(
        (f"{a[0]}-{b[0]}", f"{a[1]}, {b[1]}", a[2] + b[2]) for a, b in cartesian(first, second)
    )


BLACK, NAVY, GREY, WHITE = ("BLK", "Black"), ("NVY", "Navy"), ("GRY", "Grey"), ("WHT", "White")
OLIVE, SAGE, TAN, RED = ("OLV", "Olive"), ("SGE", "Sage"), ("TAN", "Tan"), ("RED", "Red")
APPAREL_SIZES = _plain(("S", "Small"), ("M", "Medium"), ("L", "Large"), ("XL", "X-Large"))
BED_SIZES = (
    ("TW", "Twin", Z),
    ("QN", "Queen", Decimal("30")),
    ("KG", "King", Decimal("50")),
)


@dataclass(frozen=True)
class BaseProduct:
    code: str
    name: str
    description: str
    price: Decimal
    weight_grams: int
    variants: tuple[Variant, ...] = ()
    customization_fields: tuple[str, ...] = ()
    returnable: bool = True
    backorder: bool = False
    dropship: bool = False


@dataclass(frozen=True)
class ProductSpec:
    sku: str
    name: str
    description: str
    price: Decimal
    weight_grams: int
    category: str
    customization_fields: tuple[str, ...]
    returnable: bool
    backorder: bool
    dropship: bool


D = Decimal
CATEGORIES: dict[str, tuple[BaseProduct, ...]] = {
    "Kitchen & dining": (
        BaseProduct("KIT-1001", "Chef's knife 8\"", "Forged high-carbon steel, full tang, "
                    "walnut handle.", D("89.00"), 280, customization_fields=("engraving",)),
        BaseProduct("KIT-1002", "Santoku knife 7\"", "Hollow-edge blade for thin slicing.",
                    D("74.00"), 230, customization_fields=("engraving",)),
        BaseProduct("KIT-1003", "Paring knife set of 3", "Three sizes, stainless steel.",
                    D("29.00"), 180),
        BaseProduct("KIT-1004", "End-grain cutting board", "Hand-finished hardwood, "
                    "18 x 12 in.", D("119.00"), 3200,
                    _plain(("WAL", "Walnut"), ("MAP", "Maple"), ("CHY", "Cherry")),
                    customization_fields=("engraving",)),
        BaseProduct("KIT-1005", "Cast-iron skillet", "Pre-seasoned, oven safe.", D("39.00"),
                    2600, (("10", "10-inch", Z), ("12", "12-inch", D("10")))),
        BaseProduct("KIT-1006", "Enameled Dutch oven 5.5 qt", "Enameled cast iron with a "
                    "tight-fitting lid.", D("249.00"), 5400,
                    _plain(RED, ("BLU", "Blue"), ("GRN", "Green"), WHITE), backorder=True),
        BaseProduct("KIT-1007", "Stainless saucepan 2 qt", "Tri-ply, induction ready.",
                    D("59.00"), 1100),
        BaseProduct("KIT-1008", "Nonstick frying pan set", "8 and 10 inch, PFOA-free coating.",
                    D("79.00"), 1900),
        BaseProduct("KIT-1009", "Pour-over coffee kit", "Glass carafe, dripper and filters.",
                    D("45.00"), 800),
        BaseProduct("KIT-1010", "Burr coffee grinder", "40 grind settings, conical burrs.",
                    D("149.00"), 2700, _plain(BLACK, ("SLV", "Silver"))),
        BaseProduct("KIT-1011", "French press 34 oz", "Borosilicate glass, steel frame.",
                    D("35.00"), 900),
        BaseProduct("KIT-1012", "Stoneware dinner plates, set of 4", "Reactive glaze, "
                    "dishwasher safe.", D("64.00"), 4200,
                    _plain(("SND", "Sand"), ("SLT", "Slate"), WHITE)),
        BaseProduct("KIT-1013", "Glass storage containers, 10 pieces", "Leak-proof lids, "
                    "oven safe without lids.", D("42.00"), 3100),
        BaseProduct("KIT-1014", "Linen apron", "Stonewashed linen, adjustable neck strap.",
                    D("32.00"), 250, _plain(("NAT", "Natural"), ("CHR", "Charcoal"), OLIVE),
                    customization_fields=("monogram",)),
        BaseProduct("KIT-1015", "Olive wood spoon set", "Four hand-carved spoons.", D("24.00"),
                    300),
        BaseProduct("KIT-1016", "Digital kitchen scale", "1 g resolution up to 5 kg.",
                    D("28.00"), 600),
        BaseProduct("KIT-1017", "Stand mixer 5 qt", "10 speeds, tilt head, steel bowl.",
                    D("399.00"), 10800, _plain(RED, ("SLV", "Silver"), BLACK), backorder=True),
        BaseProduct("KIT-1018", "Espresso cups, set of 4", "Double-walled glass.", D("36.00"),
                    700),
        BaseProduct("KIT-1019", "Canvas knife roll", "Eight slots, leather straps.", D("54.00"),
                    700, customization_fields=("monogram",)),
        BaseProduct("KIT-1020", "Copper mugs, set of 2", "Solid copper, lacquered inside.",
                    D("44.00"), 800, customization_fields=("engraving",)),
    ),
    "Home & living": (
        BaseProduct("HOM-2001", "Soy candle 8 oz", "Hand-poured, 50-hour burn.", D("24.00"),
                    450, _plain(("FIG", "Fig"), ("CED", "Cedar & sage"), ("CIT", "Citrus"),
                                ("LAV", "Lavender"))),
        BaseProduct("HOM-2002", "Wool throw blanket", "Lambswool, 50 x 60 in.", D("129.00"),
                    1400, _plain(("OAT", "Oatmeal"), ("CHR", "Charcoal"), ("RST", "Rust"),
                                 SAGE)),
        BaseProduct("HOM-2003", "Linen duvet cover", "European flax linen, button closure.",
                    D("179.00"), 1800, BED_SIZES),
        BaseProduct("HOM-2004", "Percale sheet set", "400-thread-count cotton percale.",
                    D("139.00"), 1700, _cross(BED_SIZES[1:], _plain(WHITE, ("SKY", "Sky")))),
        BaseProduct("HOM-2005", "Down pillow", "Responsible down, medium fill.", D("89.00"),
                    1200, (("STD", "Standard", Z), ("KG", "King", D("20")))),
        BaseProduct("HOM-2006", "Ceramic table lamp", "Linen shade, E26 bulb.", D("149.00"),
                    3500, _plain(WHITE, BLACK, ("TER", "Terracotta"))),
        BaseProduct("HOM-2007", "Woven storage basket", "Seagrass with handles.", D("38.00"),
                    900, (("S", "Small", Z), ("M", "Medium", D("10")), ("L", "Large", D("20")))),
        BaseProduct("HOM-2008", "Turkish cotton towel set", "Two bath, two hand, two wash.",
                    D("68.00"), 2100, _plain(WHITE, GREY, NAVY, SAGE)),
        BaseProduct("HOM-2009", "Framed botanical print", "Archival print, oak frame.",
                    D("59.00"), 1600, (("1216", "12 x 16 in", Z), ("1824", "18 x 24 in",
                                                                   D("40")))),
        BaseProduct("HOM-2010", "Wall clock", "Silent sweep movement, 12 in.", D("55.00"),
                    1200),
        BaseProduct("HOM-2011", "Personalised doormat", "Coir, printed with your text.",
                    D("45.00"), 2300, customization_fields=("text",), returnable=False),
        BaseProduct("HOM-2012", "Jute area rug 5 x 8 ft", "Hand-woven natural jute.",
                    D("229.00"), 9000, dropship=True),
        BaseProduct("HOM-2013", "Linen napkins, set of 4", "Stonewashed, 20 x 20 in.",
                    D("36.00"), 300, _plain(("NAT", "Natural"), WHITE, SAGE, ("CHR", "Charcoal")),
                    customization_fields=("monogram",)),
    ),
    "Outdoor & garden": (
        BaseProduct("OUT-3001", "Teak patio chair", "Grade-A teak, stackable.", D("289.00"),
                    11000, dropship=True),
        BaseProduct("OUT-3002", "Teak dining table, 6 seats", "Grade-A teak, 72 in.",
                    D("1249.00"), 42000, dropship=True),
        BaseProduct("OUT-3003", "Outdoor cushion set", "Solution-dyed acrylic, set of 2.",
                    D("89.00"), 2500, _plain(NAVY, ("SND", "Sand"), ("TER", "Terracotta")),
                    dropship=True),
        BaseProduct("OUT-3004", "Charcoal kettle grill 22\"", "Porcelain-enameled bowl.",
                    D("179.00"), 15000, dropship=True),
        BaseProduct("OUT-3005", "Grill tool set", "Spatula, tongs and fork, stainless.",
                    D("49.00"), 1300, customization_fields=("engraving",)),
        BaseProduct("OUT-3006", "Insulated water bottle 24 oz", "Keeps cold 24 hours.",
                    D("34.00"), 400, _plain(BLACK, SAGE, ("SKY", "Sky"), RED, WHITE),
                    customization_fields=("engraving",)),
        BaseProduct("OUT-3007", "Camping hammock", "Parachute nylon with straps.", D("59.00"),
                    600, _plain(OLIVE, NAVY)),
        BaseProduct("OUT-3008", "Cedar raised garden bed 4 x 8 ft", "Untreated western red "
                    "cedar.", D("199.00"), 18000, dropship=True),
        BaseProduct("OUT-3009", "Garden hose 50 ft", "Kink-resistant rubber.", D("45.00"), 2800),
        BaseProduct("OUT-3010", "Solar path lights, 8-pack", "Warm white, auto on at dusk.",
                    D("39.00"), 1500),
        BaseProduct("OUT-3011", "Steel fire pit 30\"", "With spark screen and poker.",
                    D("329.00"), 22000, dropship=True, backorder=True),
        BaseProduct("OUT-3012", "Adirondack chair", "Recycled HDPE, weatherproof.",
                    D("259.00"), 16000, _plain(WHITE, NAVY, ("GRN", "Green")), dropship=True),
        BaseProduct("OUT-3013", "Outdoor string lights 48 ft", "Shatterproof LED bulbs.",
                    D("42.00"), 1800),
    ),
    "Office": (
        BaseProduct("OFF-4001", "Leather notebook A5", "Full-grain leather, refillable.",
                    D("42.00"), 350, _plain(TAN, BLACK, ("OXB", "Oxblood")),
                    customization_fields=("monogram",)),
        BaseProduct("OFF-4002", "Notebook refill A5", "Three signatures, 120 gsm.", D("12.00"),
                    200, _plain(("RUL", "Ruled"), ("DOT", "Dotted"), ("BLN", "Blank"))),
        BaseProduct("OFF-4003", "Fountain pen", "Steel nib, converter included.", D("65.00"), 60,
                    _plain(BLACK, NAVY, ("BUR", "Burgundy")),
                    customization_fields=("engraving",)),
        BaseProduct("OFF-4004", "Bottled ink 50 ml", "Water-based, fast drying.", D("16.00"),
                    150, _plain(BLACK, ("BLU", "Blue")), returnable=False),
        BaseProduct("OFF-4005", "Ergonomic desk chair", "Mesh back, adjustable lumbar.",
                    D("449.00"), 19000, _plain(BLACK, GREY), dropship=True),
        BaseProduct("OFF-4006", "Standing desk converter", "Gas-spring lift, 32 in wide.",
                    D("279.00"), 14000),
        BaseProduct("OFF-4007", "Monitor arm", "Single arm, VESA 75/100.", D("119.00"), 3200),
        BaseProduct("OFF-4008", "Walnut desk organiser", "Solid walnut, three trays.",
                    D("58.00"), 1400, customization_fields=("engraving",)),
        BaseProduct("OFF-4009", "LED desk lamp", "Dimmable, USB-C charging port.", D("79.00"),
                    1600, _plain(BLACK, WHITE)),
        BaseProduct("OFF-4010", "Wireless keyboard", "Low-profile keys, three devices.",
                    D("99.00"), 700),
        BaseProduct("OFF-4012", "Wool felt desk mat", "Merino felt, 36 x 12 in.", D("38.00"),
                    600, _plain(GREY, ("CHR", "Charcoal"))),
        BaseProduct("OFF-4011", "Laptop sleeve", "Felt with leather trim.", D("49.00"), 400,
                    (("13", "13-inch", Z), ("15", "15-inch", D("5")), ("16", "16-inch", D("8"))),
                    customization_fields=("monogram",)),
    ),
    "Personal care": (
        BaseProduct("PER-5001", "Safety razor", "Chrome-plated brass, double edge.", D("38.00"),
                    120, returnable=False),
        BaseProduct("PER-5002", "Razor blades, 100-pack", "Stainless double-edge blades.",
                    D("18.00"), 100, returnable=False),
        BaseProduct("PER-5003", "Shaving soap", "Tallow-free, in a tin.", D("16.00"), 150,
                    _plain(("SAN", "Sandalwood"), ("BAY", "Bay rum")), returnable=False),
        BaseProduct("PER-5004", "Hand cream 75 ml", "Shea butter, non-greasy.", D("14.00"), 100,
                    _plain(("UNS", "Unscented"), ("LAV", "Lavender"), ("CIT", "Citrus")),
                    returnable=False),
        BaseProduct("PER-5005", "Electric toothbrush", "Sonic, two-minute timer.", D("89.00"),
                    400, _plain(WHITE, BLACK), returnable=False),
        BaseProduct("PER-5006", "Bamboo hairbrush", "Cushioned pad, bamboo pins.", D("22.00"),
                    150),
        BaseProduct("PER-5007", "Beard oil 30 ml", "Jojoba and argan oils.", D("19.00"), 90,
                    _plain(("CED", "Cedarwood"), ("UNS", "Unscented")), returnable=False),
    ),
    "Gifts & jewellery": (
        BaseProduct("GFT-6001", "Sterling silver pendant", "18 in chain included.", D("129.00"),
                    20, customization_fields=("engraving",)),
        BaseProduct("GFT-6002", "Leather bifold wallet", "Vegetable-tanned leather.",
                    D("69.00"), 120, _plain(TAN, BLACK, ("BRN", "Brown")),
                    customization_fields=("monogram",)),
        BaseProduct("GFT-6003", "Wooden watch box", "Six slots, glass lid.", D("95.00"), 1400,
                    customization_fields=("engraving",)),
        BaseProduct("GFT-6004", "Brass photo frame 5 x 7", "Solid brass, easel back.",
                    D("39.00"), 500, customization_fields=("engraving",)),
        BaseProduct("GFT-6005", "Engraved whiskey glasses, set of 2", "Lead-free crystal, "
                    "engraved to order.", D("48.00"), 900, customization_fields=("engraving",),
                    returnable=False),
        BaseProduct("GFT-6006", "Cufflinks", "Polished, gift boxed.", D("85.00"), 40,
                    _plain(("SLV", "Silver"), ("GLD", "Gold tone")),
                    customization_fields=("engraving",)),
        BaseProduct("GFT-6007", "Gourmet gift box", "Chocolates, nuts and preserves.",
                    D("75.00"), 2200, customization_fields=("gift_message",), returnable=False),
        BaseProduct("GFT-6008", "Custom name necklace", "Gold-plated silver, made to order.",
                    D("99.00"), 15, customization_fields=("name",), returnable=False),
        BaseProduct("GFT-6009", "Leather keychain", "Bridle leather, brass ring.", D("24.00"),
                    30, _plain(TAN, BLACK), customization_fields=("monogram",)),
    ),
    "Apparel": (
        BaseProduct("APP-7001", "Merino crew sweater", "Extra-fine merino, machine washable.",
                    D("128.00"), 450,
                    _cross(_plain(NAVY, ("OAT", "Oatmeal"), ("CHR", "Charcoal")), APPAREL_SIZES)),
        BaseProduct("APP-7002", "Organic cotton tee", "Midweight jersey, relaxed fit.",
                    D("32.00"), 200,
                    _cross(_plain(WHITE, BLACK, ("HTH", "Heather"), OLIVE), APPAREL_SIZES)),
        BaseProduct("APP-7003", "Waxed canvas tote", "Leather handles, inner pocket.",
                    D("78.00"), 900, _plain(OLIVE, TAN), customization_fields=("monogram",)),
        BaseProduct("APP-7004", "Leather belt", "Full-grain, solid brass buckle.", D("58.00"),
                    300, _plain(("32", "Size 32"), ("34", "Size 34"), ("36", "Size 36"),
                                ("38", "Size 38"))),
        BaseProduct("APP-7005", "Wool beanie", "Ribbed merino.", D("28.00"), 100,
                    _plain(NAVY, GREY, ("MUS", "Mustard"), BLACK)),
        BaseProduct("APP-7006", "Rain jacket", "Waterproof, breathable, packable hood.",
                    D("149.00"), 600, _cross(_plain(NAVY, ("YEL", "Yellow")), APPAREL_SIZES)),
        BaseProduct("APP-7007", "Cotton crew socks, 3 pairs", "Combed cotton, reinforced heel.",
                    D("24.00"), 150,
                    _cross(_plain(NAVY, GREY, BLACK), _plain(("M", "Medium"), ("L", "Large")))),
        BaseProduct("APP-7008", "Flannel shirt", "Brushed cotton flannel.", D("78.00"), 400,
                    _cross(_plain(("RPL", "Red plaid"), ("GPL", "Green plaid")), APPAREL_SIZES)),
    ),
}  # fmt: skip


def product_specs() -> list[ProductSpec]:
    """Every SKU of the demo catalogue, in SKU order."""
    specs = []
    for category, bases in CATEGORIES.items():
        for base in bases:
            variants: tuple[Variant, ...] = base.variants or (("", "", Z),)
            for code, label, price_diff in variants:
                specs.append(
                    ProductSpec(
                        sku=f"{base.code}-{code}" if code else base.code,
                        name=f"{base.name}, {label}" if label else base.name,
                        description=base.description,
                        price=base.price + price_diff,
                        weight_grams=base.weight_grams,
                        category=category,
                        customization_fields=base.customization_fields,
                        returnable=base.returnable,
                        backorder=base.backorder,
                        dropship=base.dropship,
                    )
                )
    return sorted(specs, key=lambda spec: spec.sku)
