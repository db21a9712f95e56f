"""The shop's product catalogue and web pages, generated once per seed.

Products carry a brand, a category and a price; page views and product views point into the same table, so
the product a person looks at and the brand they buy come from one place.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from orchestration.generator import vocabulary as vocab

PRODUCTS_PER_BRAND = 24


@dataclass(frozen=True)
class Catalog:
    product_id: list[str]
    sku: list[str]
    name: list[str]
    brand: np.ndarray  # index into vocab.BRANDS
    category: np.ndarray  # index into vocab.CATEGORIES
    price_cents: np.ndarray
    popularity: np.ndarray  # probability of being viewed or bought, heavy-tailed
    cheap: np.ndarray  # product indices in the cheapest 40 %
    premium: np.ndarray  # product indices in the dearest 30 %
    brand_offsets: np.ndarray  # products of brand b: brand_products[brand_offsets[b]:brand_offsets[b + 1]]
    brand_products: np.ndarray
    # Pages: the static pages first, then one product page per product.
    page_name: list[str]
    page_path: list[str]
    page_title: list[str]
    static_page_share: np.ndarray

    @property
    def products(self) -> int:
        return len(self.product_id)

    def product_page(self, product: np.ndarray) -> np.ndarray:
        return len(vocab.STATIC_PAGES) + product


def build_catalog(rng: np.random.Generator) -> Catalog:
    brands = np.repeat(np.arange(len(vocab.BRANDS)), PRODUCTS_PER_BRAND)
    n = len(brands)
    category = rng.integers(0, len(vocab.CATEGORIES), n)
    median = np.array([c[2] for c in vocab.CATEGORIES])[category]
    price = np.round(median * rng.lognormal(0.0, 0.45, n) / 100) * 100 - 1  # shop prices end in .99
    price = np.maximum(price, 499).astype(np.int64)
    noun_pick = rng.integers(0, 1000, n)
    adjective = rng.integers(0, len(vocab.ADJECTIVES), n)
    names, skus, paths = [], [], []
    for i in range(n):
        cat_name, nouns, _ = vocab.CATEGORIES[category[i]]
        noun = nouns[noun_pick[i] % len(nouns)]
        brand = vocab.BRANDS[brands[i]]
        names.append(f"{brand} {vocab.ADJECTIVES[adjective[i]]} {noun}")
        skus.append(f"{brand[:3].upper()}-{cat_name[:3].upper()}-{i:04d}")
        paths.append("/p/" + names[-1].lower().replace(" ", "-") + f"-{i:04d}")
    popularity = 1.0 / np.arange(1, n + 1) ** 1.05
    popularity = popularity[rng.permutation(n)]
    order = np.argsort(price, kind="stable")
    by_brand = np.argsort(brands, kind="stable")
    static = vocab.STATIC_PAGES
    share = np.array([p[3] for p in static])
    return Catalog(
        product_id=[f"P{10000 + i}" for i in range(n)],
        sku=skus,
        name=names,
        brand=brands,
        category=category,
        price_cents=price,
        popularity=popularity / popularity.sum(),
        cheap=order[: int(n * 0.4)],
        premium=order[int(n * 0.7) :],
        brand_offsets=np.searchsorted(brands[by_brand], np.arange(len(vocab.BRANDS) + 1)),
        brand_products=by_brand,
        page_name=[p[0] for p in static] + ["Product"] * n,
        page_path=[p[1] for p in static] + paths,
        page_title=[p[2] for p in static] + [f"{name} | Example Shop" for name in names],
        static_page_share=share / share.sum(),
    )


def pick_products(
    rng: np.random.Generator,
    catalog: Catalog,
    favorite_brand: np.ndarray,
    brand_share: np.ndarray,
    bargain: np.ndarray,
    premium: np.ndarray,
) -> np.ndarray:
    """One product per row: popular products by default, bent by each row's shopper's taste.

    `favorite_brand` (-1 for none) wins with probability `brand_share`; otherwise bargain hunters mostly
    pick from the cheap end and big spenders from the premium end.
    """
    n = len(favorite_brand)
    product = rng.choice(catalog.products, n, p=catalog.popularity)
    u = rng.random(n)
    cheap_pick = catalog.cheap[rng.integers(0, len(catalog.cheap), n)]
    premium_pick = catalog.premium[rng.integers(0, len(catalog.premium), n)]
    product = np.where(bargain & (u < 0.7), cheap_pick, product)
    product = np.where(premium & (u < 0.8), premium_pick, product)
    brand = np.maximum(favorite_brand, 0)
    start = catalog.brand_offsets[brand]
    count = catalog.brand_offsets[brand + 1] - start
    brand_pick = catalog.brand_products[start + np.floor(rng.random(n) * count).astype(np.int64)]
    return np.where((favorite_brand >= 0) & (rng.random(n) < brand_share), brand_pick, product)
