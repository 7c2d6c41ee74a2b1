"""Options files written for real k4FWCore run unchanged: multithreaded-Gaudi services and the older
k4DataSvc / PodioInput / PodioOutput I/O style."""

from __future__ import annotations

import textwrap
from pathlib import Path

from test_framework_k4run import k4run

from k4mlinference.io import Reader

MT_OPTIONS = """
from Gaudi.Configuration import INFO, WARNING
from Configurables import (AvalancheSchedulerSvc, EventDataSvc, HiveSlimEventLoopMgr, HiveWhiteBoard,
                           ParticleGun, SimpleCalorimeterSim)
from k4FWCore import ApplicationMgr, IOSvc

whiteboard = HiveWhiteBoard("EventDataSvc", EventSlots=6, ForceLeaves=True)
slimeventloopmgr = HiveSlimEventLoopMgr("HiveSlimEventLoopMgr", SchedulerName="AvalancheSchedulerSvc", OutputLevel=WARNING)
scheduler = AvalancheSchedulerSvc(ThreadPoolSize=6, ShowDataFlow=True, OutputLevel=WARNING)
iosvc = IOSvc("IOSvc")
iosvc.Output = "mt.root"
gun = ParticleGun("Gun", PDG=[11], Seed=3)
sim = SimpleCalorimeterSim("Sim")
ApplicationMgr(TopAlg=[gun, sim], EvtSel="NONE", EvtMax=4, ExtSvc=[whiteboard], EventLoop=slimeventloopmgr,
               MessageSvcType="InertMessageSvc", OutputLevel=INFO)
"""

LEGACY_OPTIONS = """
from Gaudi.Configuration import INFO
from Configurables import ApplicationMgr, k4DataSvc, PodioInput, PodioOutput

podioevent = k4DataSvc("EventDataSvc", input="mt.root")
inp = PodioInput("InputReader", collections=["MCParticles"])
out = PodioOutput("out", filename="legacy.root")
out.outputCommands = ["keep *"]
ApplicationMgr(TopAlg=[inp, out], EvtSel="NONE", EvtMax=-1, ExtSvc=[podioevent], OutputLevel=INFO)
"""


def test_multithreaded_gaudi_options_run_and_older_io_style_reads_them(tmp_path: Path) -> None:
    (tmp_path / "mt.py").write_text(textwrap.dedent(MT_OPTIONS))
    (tmp_path / "legacy.py").write_text(textwrap.dedent(LEGACY_OPTIONS))
    k4run("mt.py", cwd=tmp_path)
    frames = Reader(str(tmp_path / "mt.root")).get("events")
    assert len(frames) == 4 and "SimCalorimeterHits" in frames[0].getAvailableCollections()

    k4run("legacy.py", cwd=tmp_path)
    legacy = Reader(str(tmp_path / "legacy.root")).get("events")
    assert len(legacy) == 4
    assert legacy[0].getAvailableCollections() == ["MCParticles"]  # PodioInput.collections limited the read
    assert list(legacy[2].get("MCParticles").view("PDG")) == list(frames[2].get("MCParticles").view("PDG"))


def test_compatibility_services_still_reject_typos_in_algorithms(tmp_path: Path) -> None:
    (tmp_path / "bad.py").write_text(
        textwrap.dedent(
            """
            from Configurables import HiveWhiteBoard, ParticleGun
            from k4FWCore import ApplicationMgr
            wb = HiveWhiteBoard("EventDataSvc", EventSlots=2)
            ApplicationMgr(TopAlg=[ParticleGun("Gun", Sed=3)], EvtSel="NONE", EvtMax=1)
            """
        )
    )
    res = k4run("bad.py", cwd=tmp_path, check=False)
    assert res.returncode != 0
    assert "ParticleGun/Gun has no property 'Sed'" in res.stderr + res.stdout and "Seed" in res.stderr + res.stdout
