"""The worth of a kWh mined: from a miner's efficiency and the hashprice.

A miner at ``e`` J/TH running at 1 TH/s for a day uses 24·e Wh and earns the hashprice h
(sats per TH/s per day): so a kWh mined earns h / (0.024·e) sats, whatever its power.
"""
from __future__ import annotations

SATS_PER_BTC = 100_000_000


def sats_per_kwh(efficiency_j_th: float, hashprice_sats_per_th_day: float) -> float:
    if efficiency_j_th <= 0:
        return 0.0
    return hashprice_sats_per_th_day / (0.024 * efficiency_j_th)


def value_per_kwh(efficiency_j_th: float, hashprice_sats_per_th_day: float, btc_price: float) -> float:
    """Currency earned per kWh mined: the break-even import price for this miner."""
    return sats_per_kwh(efficiency_j_th, hashprice_sats_per_th_day) * btc_price / SATS_PER_BTC


def sats_for(energy_wh: float, efficiency_j_th: float, hashprice_sats_per_th_day: float) -> float:
    return energy_wh / 1000.0 * sats_per_kwh(efficiency_j_th, hashprice_sats_per_th_day)


def hashes_for(energy_wh: float, efficiency_j_th: float) -> float:
    """Total hashes computed with ``energy_wh`` at ``efficiency_j_th`` (J per TH)."""
    if efficiency_j_th <= 0:
        return 0.0
    return energy_wh * 3600.0 / efficiency_j_th * 1e12


def sats_per_hour(power_w: float, efficiency_j_th: float, hashprice_sats_per_th_day: float) -> float:
    """Sats an hour of mining at ``power_w`` earns (the value of an hour of mining, in sats)."""
    return power_w / 1000.0 * sats_per_kwh(efficiency_j_th, hashprice_sats_per_th_day)


def sats_for_hashrate(hashrate_ths: float, seconds: float, hashprice_sats_per_th_day: float) -> float:
    """Sats earned by ``hashrate_ths`` TH/s sustained for ``seconds`` (what a pool pays, FPPS-like)."""
    return hashprice_sats_per_th_day * hashrate_ths * seconds / 86400.0


def to_currency(sats: float, btc_price: float) -> float:
    return sats * btc_price / SATS_PER_BTC


def to_sats(amount: float, btc_price: float) -> float:
    return amount * SATS_PER_BTC / btc_price if btc_price > 0 else 0.0
