"""Sign-in geography and velocity: impossible travel from Entra ID sign-in records.

Given a user's sign-ins (Graph `signIn` objects), `impossible_journeys` takes the successful
ones that carry `location.geoCoordinates`, orders them by time and, for each consecutive pair,
computes the great-circle distance and the speed it would take to cover it. A journey is
impossible when it is longer than `MIN_DISTANCE_KM` and faster than `MAX_SPEED_KMH` (a
little over an airliner's cruising speed). Pairs that involve a known VPN egress address are
skipped: a VPN's exit says where the VPN is, not where the person is.

Limitation: geolocation of an address is approximate and mobile networks can egress far from
the user, so a single impossible journey is one signal among several, never a verdict.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

EARTH_RADIUS_KM = 6371.0
MAX_SPEED_KMH = 1000.0
MIN_DISTANCE_KM = 500.0


@dataclass(frozen=True)
class SignInPlace:
    at: datetime
    address: str
    city: str
    country: str
    latitude: float
    longitude: float

    def label(self) -> str:
        where = ", ".join(part for part in (self.city, self.country) if part)
        return f"{where or 'unknown place'} ({self.address})"


@dataclass(frozen=True)
class Journey:
    start: SignInPlace
    end: SignInPlace
    distance_km: float
    hours: float

    @property
    def speed_kmh(self) -> float:
        if self.hours <= 0:
            return math.inf
        return self.distance_km / self.hours

    def describe(self) -> str:
        speed = "instantly" if math.isinf(self.speed_kmh) else f"at {self.speed_kmh:,.0f} km/h"
        minutes = round(self.hours * 60)
        return (
            f"successful sign-ins from {self.start.label()} at {stamp(self.start.at)} and "
            f"{self.end.label()} at {stamp(self.end.at)}: {self.distance_km:,.0f} km in "
            f"{minutes} min, {speed}"
        )


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def parse_time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def succeeded(sign_in: dict[str, Any]) -> bool:
    status = sign_in.get("status") or {}
    return status.get("errorCode", 0) in (0, None)


def great_circle_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    d_phi = phi2 - phi1
    d_lambda = math.radians(lon2 - lon1)
    a = math.sin(d_phi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(d_lambda / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a))


def place_of(sign_in: dict[str, Any]) -> SignInPlace | None:
    """Where and when a sign-in happened, or None when time or coordinates are missing."""
    at = parse_time(sign_in.get("createdDateTime"))
    location = sign_in.get("location") or {}
    coordinates = location.get("geoCoordinates") or {}
    latitude, longitude = coordinates.get("latitude"), coordinates.get("longitude")
    if at is None or latitude is None or longitude is None:
        return None

    return SignInPlace(
        at=at,
        address=str(sign_in.get("ipAddress") or ""),
        city=str(location.get("city") or ""),
        country=str(location.get("countryOrRegion") or ""),
        latitude=float(latitude),
        longitude=float(longitude),
    )


def impossible_journeys(
    sign_ins: Iterable[dict[str, Any]], is_vpn: Callable[[str], bool] = lambda _: False,
) -> list[Journey]:
    """Consecutive successful sign-ins too far apart for the time between them."""
    places = sorted(
        (place for s in sign_ins if succeeded(s) and (place := place_of(s)) is not None),
        key=lambda place: place.at,
    )

    journeys: list[Journey] = []
    for start, end in zip(places, places[1:], strict=False):
        if is_vpn(start.address) or is_vpn(end.address):
            continue
        distance = great_circle_km(start.latitude, start.longitude, end.latitude, end.longitude)
        hours = (end.at - start.at).total_seconds() / 3600
        journey = Journey(start=start, end=end, distance_km=distance, hours=hours)
        if distance > MIN_DISTANCE_KM and journey.speed_kmh > MAX_SPEED_KMH:
            journeys.append(journey)
    return journeys
