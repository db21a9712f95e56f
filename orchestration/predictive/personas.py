"""Machine-found personas: k-means on standardised behaviour, k from 3 to 6 by silhouette, names read off
the centroids, small groups merged, and each persona matched to the previous run's by centroid so its
name and members stay put while behaviour does."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score
from sklearn.preprocessing import StandardScaler

K_RANGE = range(3, 7)
MIN_SHARE = 0.03  # a cluster smaller than this share of profiles joins its nearest persona
SILHOUETTE_SAMPLE = 4000
MATCH_DISTANCE = 1.0  # standardised distance within which a centroid is the previous run's persona
FIT_SAMPLE = 50_000  # k-means is fitted on at most this many profiles, then every profile is assigned

# (feature, high word, low word, how far from the mean, in standard deviations, before it names a persona)
_WORDS = (
    ("order_value", "high-value", "low-spend", 0.8),
    ("orders", "loyal", "occasional", 0.8),
    ("support", "support-heavy", None, 0.8),
    ("mobile", "mobile-first", None, 0.8),
    ("browsing", "window-shopping", None, 0.8),
    ("activity", "engaged", "dormant", 0.8),
)


class TooLittleVariety(ValueError):
    """The profiles' behaviour does not split into at least two groups (a reason to skip, not a crash)."""


def _silhouette(sample: np.ndarray, labels: np.ndarray, seed: int) -> float | None:
    """Silhouette of a labelling, or None where it is undefined (one group, or one point per group)."""
    groups = len(np.unique(labels))
    if groups < 2 or groups >= len(sample):
        return None
    return float(silhouette_score(sample, labels, random_state=seed))


@dataclass
class Personas:
    labels: np.ndarray  # persona index per profile
    names: list[str]
    centroids: np.ndarray  # in the features' own units (so the next run can standardise them its way)
    scores: np.ndarray  # affinity of every profile to every persona, rows sum to 1
    silhouette: float
    silhouettes: dict[int, float] = field(default_factory=dict)
    matched: int = 0  # personas carried over from the previous run
    scaler: StandardScaler | None = None

    def assign(self, features: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """(persona index, affinity to every persona) of other profiles, against these centroids."""
        z = self.scaler.transform(features)
        centroids = self.scaler.transform(pd.DataFrame(self.centroids, columns=features.columns))
        return _nearest(z, centroids), affinities(z, centroids)

    @property
    def sizes(self) -> dict[str, int]:
        return {name: int((self.labels == i).sum()) for i, name in enumerate(self.names)}

    def state(self) -> dict[str, Any]:
        """What the next run matches against (stored in model_runs)."""
        return {"names": self.names, "centroids": self.centroids.round(6).tolist()}


def _ranked_words(z: pd.Series) -> list[str]:
    """The words a standardised centroid earns, strongest deviation first."""
    words = []
    for feature, high, low, threshold in _WORDS:
        value = float(z[feature])
        if high and value >= threshold:
            words.append((value, high))
        elif low and value <= -threshold:
            words.append((-value, low))
    words.sort(key=lambda item: -item[0])
    return [word for _, word in words]


def name_centroid(z: pd.Series) -> str:
    """Up to two words for the strongest deviations of a standardised centroid: "high-value loyal"."""
    return " ".join(_ranked_words(z)[:2]) or "typical"


def name_centroids(centroids: pd.DataFrame) -> list[str]:
    """A readable name per centroid; two that earn the same words are told apart by their next word
    (then by a number)."""
    ranked = [_ranked_words(row) for _, row in centroids.iterrows()]
    names = [name_centroid(row) for _, row in centroids.iterrows()]
    for i, words in enumerate(ranked):
        clashes = [j for j, other in enumerate(ranked) if j != i and set(other[:2]) == set(words[:2])]
        if clashes and len(words) > 2:
            names[i] = " ".join(words[:3])
    return _unique(names)


def _unique(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    result = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        result.append(name if seen[name] == 1 else f"{name} {seen[name]}")
    return result


def find_personas(features: pd.DataFrame, seed: int, previous: dict[str, Any] | None = None) -> Personas:
    """Personas of the profiles in `features` (one row each, columns as features.PERSONA_FEATURES)."""
    scaler = StandardScaler().fit(features)
    z = scaler.transform(features)
    rng = np.random.default_rng(seed)
    fit_rows = z if len(z) <= FIT_SAMPLE else z[rng.choice(len(z), FIT_SAMPLE, replace=False)]
    sample = fit_rows[rng.choice(len(fit_rows), min(SILHOUETTE_SAMPLE, len(fit_rows)), replace=False)]
    previous_z = (
        scaler.transform(pd.DataFrame(previous["centroids"], columns=features.columns)) if previous else None
    )

    silhouettes, fits = {}, {}
    for k in K_RANGE:
        if k >= len(sample):
            break
        # The previous run's centroids seed k-means when their number fits, so members stay put.
        init = previous_z if previous_z is not None and len(previous_z) == k else "k-means++"
        fitted = KMeans(n_clusters=k, init=init, n_init=4 if isinstance(init, str) else 1, random_state=seed)
        fitted.fit(fit_rows)
        score = _silhouette(sample, fitted.predict(sample), seed)
        if score is not None:
            fits[k], silhouettes[k] = fitted, score
    if not silhouettes:
        distinct = len(np.unique(fit_rows.round(9), axis=0))
        raise TooLittleVariety(f"behaviour does not split into groups: {distinct} distinct feature rows")
    best = max(silhouettes, key=lambda k: (silhouettes[k], -k))
    centroids_z = fits[best].cluster_centers_

    # Merge small groups into their nearest remaining persona.
    labels = _nearest(z, centroids_z)
    shares = np.bincount(labels, minlength=len(centroids_z)) / len(z)
    keep = shares >= MIN_SHARE
    if keep.sum() < len(keep) and keep.sum() >= 1:
        centroids_z = centroids_z[keep]
        labels = _nearest(z, centroids_z)
        centroids_z = np.vstack([z[labels == i].mean(axis=0) for i in range(len(centroids_z))])

    names = name_centroids(pd.DataFrame(centroids_z, columns=features.columns))
    order = list(range(len(centroids_z)))
    matched = 0
    if previous_z is not None:
        distance = np.linalg.norm(centroids_z[:, None, :] - previous_z[None, :, :], axis=2)
        rows, cols = linear_sum_assignment(distance)
        for row, col in zip(rows, cols, strict=True):
            if distance[row, col] <= MATCH_DISTANCE:
                names[row] = previous["names"][col]
                matched += 1
        names = _unique(names)
        # Keep the previous run's order for matched personas (stable indices and colours in the UI).
        position = {
            row: col for row, col in zip(rows, cols, strict=True) if distance[row, col] <= MATCH_DISTANCE
        }
        order = sorted(order, key=lambda i: position.get(i, len(previous_z) + i))
    else:
        order = sorted(order, key=lambda i: names[i])
    centroids_z = centroids_z[order]
    names = [names[i] for i in order]
    labels = _nearest(z, centroids_z)

    scores = affinities(z, centroids_z)
    silhouette = _silhouette(sample, _nearest(sample, centroids_z), seed) or 0.0
    return Personas(
        labels=labels,
        names=names,
        centroids=scaler.inverse_transform(centroids_z),
        scores=scores,
        silhouette=silhouette,
        silhouettes=silhouettes,
        matched=matched,
        scaler=scaler,
    )


def affinities(z: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """A soft assignment: softmax of minus half the squared standardised distance to each centroid."""
    logits = -0.5 * ((z[:, None, :] - centroids[None, :, :]) ** 2).sum(axis=2)
    logits -= logits.max(axis=1, keepdims=True)
    scores = np.exp(logits)
    return scores / scores.sum(axis=1, keepdims=True)


def _nearest(z: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    squared = (z**2).sum(axis=1)[:, None] - 2 * z @ centroids.T + (centroids**2).sum(axis=1)[None, :]
    return np.argmin(squared, axis=1)
