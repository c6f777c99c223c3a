"""The owner's state as observers get it: ``serialize.plain`` gives exactly what
``dataclasses.asdict`` gave (it only stops deep-copying leaves), and the state survives the round
trip through the store's JSON."""
from __future__ import annotations

import json
from dataclasses import asdict, replace

from edgemining_tui.energy.snapshot import ALL_FIELDS
from edgemining_tui.engine.serialize import plain, state_from_dict, state_to_dict
from edgemining_tui.miners.model import Board
from edgemining_tui.ui.fixtures import build_owner, close, run_cycles


async def test_plain_is_asdict_for_every_part_of_a_real_state(tmp_path):
    rt = build_owner(tmp_path / "data", n_miners=6)
    try:
        await run_cycles(rt, 8)
        st = rt.engine.state
        # boards, pools and errors as a miner reports them, so the nested parts are exercised too
        name = next(iter(st.samples))
        st.samples[name] = replace(st.samples[name], boards=(Board(0, 71.5, 33.1), Board(1, None, 0.0)),
                                   pools=("stratum+tcp://pool:3333",), errors=("fan 2 slow",))
        for s in st.samples.values():
            assert plain(s) == asdict(s)
        for c in st.caps.values():
            assert plain(c) == asdict(c)
        for f in ALL_FIELDS:
            assert plain(getattr(st.snapshot, f)) == asdict(getattr(st.snapshot, f))
        d = state_to_dict(st)
        back = state_from_dict(json.loads(json.dumps(d)))
        assert back.samples[name].boards == st.samples[name].boards
        assert {n: s.power_w for n, s in back.samples.items()} == {n: s.power_w for n, s in st.samples.items()}
        assert back.decision.miners.keys() == st.decision.miners.keys()
    finally:
        await close(rt)
