"""The catalogue shipped with the product: common clothing categories, brands, sizes, colours
and the phrases Vinted's rules forbid. All rows are editable in the admin.

Ids: catalog 5 (men's jeans), 1187 (women's jeans) and brands 53 Levi's, 54 Nike, 14 adidas
are the ones public automation projects agree on (see VINTED.md); the rest follow the same
projects' scraped catalogue and should be checked against the live site by an admin, which
is why they are data, not code."""

from django.db import migrations

# (vinted_id, name, parent vinted_id, size group)
CATEGORIES = [
    (1904, "Women", None, ""),
    (2050, "Men", None, ""),
    (1193, "Kids", None, ""),
    # Women
    (4, "Clothing", 1904, ""),
    (12, "Tops & t-shirts", 4, "women-clothing"),
    (13, "Jumpers & sweaters", 4, "women-clothing"),
    (10, "Dresses", 4, "women-clothing"),
    (11, "Skirts", 4, "women-clothing"),
    (1187, "Jeans", 4, "women-jeans"),
    (9, "Trousers & leggings", 4, "women-clothing"),
    (1037, "Coats & jackets", 4, "women-clothing"),
    (16, "Shoes", 1904, "shoes-eu"),
    (19, "Bags", 1904, ""),
    (1920, "Accessories", 1904, ""),
    # Men
    (2051, "Clothing", 2050, ""),
    (76, "T-shirts", 2051, "men-clothing"),
    (79, "Jumpers & sweaters", 2051, "men-clothing"),
    (77, "Shirts", 2051, "men-clothing"),
    (5, "Jeans", 2051, "men-jeans"),
    (34, "Trousers", 2051, "men-clothing"),
    (1206, "Coats & jackets", 2051, "men-clothing"),
    (80, "Shorts", 2051, "men-clothing"),
    (1231, "Shoes", 2050, "shoes-eu"),
    (82, "Accessories", 2050, ""),
    # Kids
    (1195, "Girls' clothing", 1193, "kids"),
    (1194, "Boys' clothing", 1193, "kids"),
]

BRANDS = [
    (53, "Levi's"), (54, "Nike"), (14, "adidas"), (12, "Zara"), (7, "H&M"), (88, "Mango"),
    (304, "Tommy Hilfiger"), (255, "Ralph Lauren"), (2319, "The North Face"), (162, "Puma"),
    (359, "Calvin Klein"), (1798, "Uniqlo"), (20, "Bershka"), (15, "Pull&Bear"), (117, "Primark"),
    (345, "Lacoste"), (190, "Converse"), (1195, "Vans"), (73, "New Balance"), (2703, "Carhartt"),
    (6, "Stradivarius"), (10, "Massimo Dutti"), (463, "Guess"), (1144, "Patagonia"), (1023, "Dr. Martens"),
]

SIZES = {
    "women-clothing": [(2, "XS"), (3, "S"), (4, "M"), (5, "L"), (6, "XL"), (7, "XXL"), (1226, "One size")],
    "men-clothing": [(206, "S"), (207, "M"), (208, "L"), (209, "XL"), (210, "XXL"), (211, "XXXL")],
    "women-jeans": [(1621, "W24"), (1622, "W25"), (1623, "W26"), (1624, "W27"), (1625, "W28"),
                    (1626, "W29"), (1627, "W30"), (1628, "W31"), (1629, "W32")],
    "men-jeans": [(1650, "W28"), (1651, "W29"), (1652, "W30"), (1653, "W31"), (1654, "W32"),
                  (1655, "W33"), (1656, "W34"), (1657, "W36"), (1658, "W38")],
    "shoes-eu": [(55, "36"), (56, "37"), (57, "38"), (58, "39"), (59, "40"), (60, "41"), (61, "42"),
                 (62, "43"), (63, "44"), (64, "45"), (65, "46")],
    "kids": [(1001, "2 years"), (1002, "4 years"), (1003, "6 years"), (1004, "8 years"),
             (1005, "10 years"), (1006, "12 years"), (1007, "14 years")],
}

COLOURS = [
    (1, "Black", "#000000"), (3, "Grey", "#808080"), (12, "White", "#ffffff"), (20, "Cream", "#f4eee0"),
    (4, "Beige", "#d8c3a5"), (2, "Brown", "#6b4226"), (7, "Red", "#c62828"), (23, "Burgundy", "#800020"),
    (24, "Pink", "#f48fb1"), (11, "Orange", "#ef6c00"), (8, "Yellow", "#fdd835"), (10, "Green", "#2e7d32"),
    (16, "Khaki", "#8a8a5c"), (9, "Blue", "#1e63c7"), (27, "Navy", "#1a2a4f"), (26, "Light blue", "#90caf9"),
    (6, "Purple", "#6a1b9a"), (13, "Silver", "#c0c0c0"), (14, "Gold", "#d4af37"), (15, "Multicolour", "#999999"),
]

FORBIDDEN = [
    # (pattern, kind, reason)
    (r"\b(ebay|depop|leboncoin|vestiaire|etsy|marketplace|paypal)\b", "regex",
     "Vinted's rules forbid promoting another marketplace or paying outside Vinted."),
    (r"[\w.+-]+@[\w-]+\.[\w.]+", "regex", "Contact details (an e-mail address) are not allowed."),
    (r"(?:\+|\b0)\d(?:[\s.-]?\d){7,12}\b", "regex", "Contact details (a phone number) are not allowed."),
    ("whatsapp", "phrase", "Contact details (messaging apps) are not allowed."),
    ("not nike not adidas", "phrase", "Keyword stuffing with brands the item is not is not allowed."),
    (r"\b(like|similar to|style of|not)\s+\w+\s*(/|,|and)\s*\w+\s*(/|,|and)\s*\w+", "regex",
     "Listing several brands the item is not ('multiple brands' keyword stuffing) is not allowed."),
]


def load(apps, schema_editor):
    db = schema_editor.connection.alias  # the database being migrated (migrate --database)
    Category = apps.get_model("vinted", "Category")
    by_id = {}
    for vinted_id, name, parent_id, size_group in CATEGORIES:
        by_id[vinted_id] = Category.objects.using(db).create(
            vinted_id=vinted_id, name=name, parent=by_id.get(parent_id), size_group=size_group)
    Brand = apps.get_model("vinted", "Brand")
    Brand.objects.using(db).bulk_create([Brand(vinted_id=i, name=n) for i, n in BRANDS])
    Size = apps.get_model("vinted", "Size")
    Size.objects.using(db).bulk_create([Size(vinted_id=i, name=n, group=group, order=order)
                              for group, rows in SIZES.items() for order, (i, n) in enumerate(rows)])
    Colour = apps.get_model("vinted", "Colour")
    Colour.objects.using(db).bulk_create([Colour(vinted_id=i, name=n, hex=h) for i, n, h in COLOURS])
    ForbiddenPhrase = apps.get_model("vinted", "ForbiddenPhrase")
    ForbiddenPhrase.objects.using(db).bulk_create([ForbiddenPhrase(pattern=p, kind=k, reason=r) for p, k, r in FORBIDDEN])


def unload(apps, schema_editor):
    db = schema_editor.connection.alias
    for name in ("ForbiddenPhrase", "Colour", "Size", "Brand"):
        apps.get_model("vinted", name).objects.using(db).all().delete()
    Category = apps.get_model("vinted", "Category").objects.using(db)
    while Category.exists():
        Category.filter(children__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("vinted", "0001_initial")]
    operations = [migrations.RunPython(load, unload)]
