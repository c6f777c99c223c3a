"""Property tests of the SunSpec decoder against the SunSpec Alliance's own implementation
(pysunspec2's computed values), and of what a device's garbage registers can do to a reading.

A register block is drawn per model (scale factors within the spec's -10..10 or 'not implemented';
values anywhere, biased to the 'not implemented' markers): every scaled point must equal what
pysunspec2 computes from the same words. Outside the spec (a scale factor of 12345, NaN or inf
floats, a length that does not fit the definition) a reading is a number or an error, never an
exception and never a value scaled by 10^12345."""
from __future__ import annotations

import math
import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytest.importorskip("sunspec2")

from edgemining_tui.clock import VirtualClock  # noqa: E402
from edgemining_tui.energy.local_config import SunSpecConfig  # noqa: E402
from edgemining_tui.energy.sunspec import PRESETS, SunSpecSource  # noqa: E402
from edgemining_tui.energy.sunspec_models import decode, model_def  # noqa: E402

SETTINGS = settings(max_examples=40, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])
# the models whose values become readings: inverters (int + SF, float, DER), meters, storage, MPPT
MODELS = (101, 103, 111, 113, 203, 213, 124, 802, 160, 701)
NI_WORDS = (0x8000, 0xFFFF, 0x0000, 0x7FFF, 0x7FC0)


def _length(mid: int, modules: int) -> int:
    md = model_def(mid)
    return md.fixed_len + (modules * md.repeat[2] if md.repeat else 0)


@st.composite
def blocks(draw, mid: int, sf_in_spec: bool = True):
    """(registers from the model's ID on) with the scale factors drawn apart."""
    md = model_def(mid)
    modules = draw(st.integers(0, 4)) if md.repeat else 0
    length = _length(mid, modules)
    words = draw(st.lists(st.one_of(st.sampled_from(NI_WORDS), st.integers(0, 0xFFFF)),
                          min_size=length, max_size=length))
    sf_values = st.sampled_from([*range(-10, 11), -0x8000]) if sf_in_spec else st.integers(-0x8000, 0x7FFF)
    for p in md.points.values():
        if p.type == "sunssf":
            words[p.offset - 2] = draw(sf_values) & 0xFFFF
    return [mid, length, *words]


def _pysunspec2(mid: int, regs: list[int]) -> dict:
    import sunspec2.device as ssd
    m = ssd.Model(model_id=mid, model_len=regs[1], data=struct.pack(f">{len(regs)}H", *regs))
    return m.get_dict(computed=True)


def _same(ours, ref) -> bool:
    if isinstance(ref, float) and math.isnan(ref):
        ref = None                           # any NaN is 'no value' to us, not only the marker 0x7FC00000
    if ours is None or ref is None:
        return ours is None and ref is None
    if isinstance(ours, str) or isinstance(ref, str):
        return True                          # labels; not a reading
    if isinstance(ours, float) and math.isinf(ours):
        return ours == ref
    return math.isclose(ours, ref, rel_tol=1e-6, abs_tol=1e-9)


def _numeric_points(group: dict, ref: dict, points, sf_unset: set[str]) -> list[tuple[str, object, object]]:
    """(name, ours, pysunspec2's) per number. Where the scale factor is 'not implemented'
    pysunspec2 returns the raw word unscaled; we call the value unknown (expected None)."""
    return [(name, group.get(name), None if p.sf in sf_unset else ref.get(name)) for name, p in points.items()
            if p.type not in ("string", "pad", "sunssf")]


@pytest.mark.parametrize("mid", MODELS)
def test_scaled_values_equal_pysunspec2s(mid):
    md = model_def(mid)

    @SETTINGS
    @given(blocks(mid))
    def check(regs):
        ours = decode(regs, md)
        ref = _pysunspec2(mid, regs)
        sf_unset = {n for n, p in md.points.items() if p.type == "sunssf" and regs[p.offset] == 0x8000}
        pairs = _numeric_points(ours, ref, md.points, sf_unset)
        if md.repeat is not None:
            name, gpoints, _ = md.repeat
            assert len(ours[name]) == len(ref.get(name) or [])
            for og, rg in zip(ours[name], ref.get(name) or []):
                pairs += _numeric_points(og, rg, gpoints, sf_unset)
        bad = [(n, o, r) for n, o, r in pairs if not _same(o, r)]
        assert not bad, bad
    check()


@pytest.mark.parametrize("mid", MODELS)
def test_scale_factors_outside_the_spec_never_scale_a_reading(mid):
    md = model_def(mid)

    @SETTINGS
    @given(blocks(mid, sf_in_spec=False), st.integers(0, 12))
    def check(regs, cut):
        regs = regs[: max(2, len(regs) - cut)]              # a block shorter than its definition, too
        values = decode(regs, md)
        sfs = {n: regs[p.offset] for n, p in md.points.items() if p.type == "sunssf" and p.offset < len(regs)}
        for name, p in md.points.items():
            v = values.get(name)
            if p.sf in sfs and v is not None:
                raw_sf = sfs[p.sf] - 0x10000 if sfs[p.sf] >= 0x8000 else sfs[p.sf]
                assert -10 <= raw_sf <= 10, (name, raw_sf, v)
        for cfg in (SunSpecConfig(host="h"), *(SunSpecConfig(host="h", preset=k) for k in PRESETS)):
            src = SunSpecSource(cfg, VirtualClock(0))
            for field, r in src._from_models({mid: values}, 0.0).items():
                assert (r.value is None) != (r.error is None), (field, r)
                assert r.value is None or math.isfinite(r.value), (field, r)
    check()


@st.composite
def fronius_modules(draw):
    """A Fronius model 160's modules in any order: 1-4 named strings ('MPPT n', DCW or 'not
    implemented' for an unused tracker) and, or not, the battery's 'StCha n' / 'StDisCha n'."""
    n_strings = draw(st.integers(1, 4))
    watts = st.one_of(st.none(), st.integers(0, 12_000).map(float))
    mods = [{"IDStr": f"MPPT {i + 1}", "DCW": draw(watts)} for i in range(n_strings)]
    if draw(st.booleans()):
        mods += [{"IDStr": f"StCha {n_strings + 1}", "DCW": draw(watts)},
                 {"IDStr": f"StDisCha {n_strings + 2}", "DCW": draw(watts)}]
    return draw(st.permutations(mods))


@SETTINGS
@given(fronius_modules())
def test_fronius_modules_read_the_same_in_any_position(mods):
    """Where a module sits says nothing (a GEN24 has two trackers before the battery, a Verto
    three): PV is the named strings' sum on a hybrid (without battery modules the AC W stands),
    the battery charge minus discharge, whatever the order; and no battery value is made up from a
    module that is not the battery's."""
    src = SunSpecSource(SunSpecConfig(host="127.0.0.1", preset="fronius"), VirtualClock(0))
    out = src._fronius_modules(mods, 0.0)
    strings = [m["DCW"] for m in mods if m["IDStr"].startswith("MPPT") and m["DCW"] is not None]
    hybrid = any(m["IDStr"].startswith("St") for m in mods)
    if strings and hybrid:
        assert out["pv_w"].value == pytest.approx(sum(strings))
    else:
        assert "pv_w" not in out
    cha = next((m["DCW"] for m in mods if m["IDStr"].startswith("StCha")), None)
    dis = next((m["DCW"] for m in mods if m["IDStr"].startswith("StDisCha")), None)
    if cha is not None and dis is not None:
        assert out["battery_charge_w"].value == pytest.approx(cha - dis)
    else:
        assert "battery_charge_w" not in out
