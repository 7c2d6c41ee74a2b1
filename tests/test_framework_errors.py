"""k4run's configuration errors, in-process (k4run's main() is what the console script calls)."""

from __future__ import annotations

import sys
import textwrap

import pytest

from k4mlinference.framework import cli


def _run(tmp_path, monkeypatch, text: str, *args: str) -> int:
    opts = tmp_path / "opts.py"
    opts.write_text(textwrap.dedent(text))
    monkeypatch.chdir(tmp_path)
    return cli.main([str(opts), *args])


GUN = """
from Configurables import ParticleGun, EventDataSvc
from k4FWCore import ApplicationMgr, IOSvc
io = IOSvc("IOSvc")
io.Output = "out.root"
gun = ParticleGun("Gun", EnergyMin=1.0)
ApplicationMgr(TopAlg=[gun], EvtMax=2, ExtSvc=[EventDataSvc("EventDataSvc")])
"""


def test_unknown_algorithm_suggests(tmp_path, monkeypatch, capsys):
    rc = _run(tmp_path, monkeypatch, "from Configurables import PartcleGun\n")
    err = capsys.readouterr().err
    assert rc == 1 and "unknown algorithm 'PartcleGun'" in err and "Did you mean 'ParticleGun'" in err


def test_unknown_property_in_options_file(tmp_path, monkeypatch, capsys):
    rc = _run(tmp_path, monkeypatch, GUN.replace("EnergyMin=1.0", "EnergyMn=1.0"))
    err = capsys.readouterr().err
    assert rc == 1 and "ParticleGun/Gun has no property 'EnergyMn'" in err and "Did you mean 'EnergyMin'" in err


def test_wrong_type_on_command_line(tmp_path, monkeypatch, capsys):
    rc = _run(tmp_path, monkeypatch, GUN, "--Gun.ParticlesPerEvent=2.5")
    err = capsys.readouterr().err
    assert rc == 2 and "--Gun.ParticlesPerEvent: property 'ParticlesPerEvent' expects int, got '2.5'" in err
    rc = _run(tmp_path, monkeypatch, GUN, "--Gun.PDG", "11", "x")
    assert rc == 2 and "property 'PDG' expects int, got 'x'" in capsys.readouterr().err


def test_bad_values_name_the_property_or_option(tmp_path, monkeypatch, capsys):
    rc = _run(tmp_path, monkeypatch, GUN, "--Gun.ParticlesPerEvent=-3")
    err = capsys.readouterr().err
    assert rc == 2 and "property 'ParticlesPerEvent' must be >= 0, got -3" in err
    rc = _run(tmp_path, monkeypatch, GUN.replace("EnergyMin=1.0", "ParticlesPerEvent=-3"))
    assert rc == 1 and "ParticleGun/Gun: property 'ParticlesPerEvent' must be >= 0" in capsys.readouterr().err
    rc = _run(tmp_path, monkeypatch, GUN, "-n", "-5")
    err = capsys.readouterr().err
    assert rc == 2 and "-n -5" in err and "EvtMax = -1" not in err


def test_dry_run_checks_that_the_model_exists(tmp_path, monkeypatch, capsys):
    text = GUN.replace("from Configurables import ParticleGun,", "from Configurables import MLInference, ParticleGun,")
    text = text.replace(
        "TopAlg=[gun]",
        "TopAlg=[gun, MLInference('PID', ModelPath='missing.onnx', InputCollections=['X'], OutputCollections=['Y'])]",
    )
    rc = _run(tmp_path, monkeypatch, text, "--dry-run")
    err = capsys.readouterr().err
    assert rc == 1 and "property 'ModelPath': file 'missing.onnx' does not exist" in err


def test_wrong_type_in_options_file(tmp_path, monkeypatch, capsys):
    rc = _run(tmp_path, monkeypatch, GUN.replace("EnergyMin=1.0", "EnergyMin='1'"))
    assert rc == 1 and "ParticleGun/Gun: property 'EnergyMin' expects float, got str '1'" in capsys.readouterr().err


def test_unknown_component_on_command_line(tmp_path, monkeypatch, capsys):
    rc = _run(tmp_path, monkeypatch, GUN, "--Gn.Seed=3")
    err = capsys.readouterr().err
    assert rc == 2 and "no component named 'Gn'" in err and "Did you mean 'Gun'" in err


def test_missing_input_collection(tmp_path, monkeypatch, capsys):
    text = GUN.replace(
        "gun = ParticleGun",
        "from Configurables import SimpleCalorimeterSim\nsim = SimpleCalorimeterSim('Sim', InputCollection='MCParticle')\ngun = ParticleGun",
    ).replace("TopAlg=[gun]", "TopAlg=[gun, sim]")
    rc = _run(tmp_path, monkeypatch, text)
    err = capsys.readouterr().err
    assert rc == 1
    assert "SimpleCalorimeterSim/Sim: input collection 'MCParticle' is produced by no algorithm" in err
    assert "Did you mean 'MCParticles'" in err


def test_two_producers_of_one_collection(tmp_path, monkeypatch, capsys):
    rc = _run(tmp_path, monkeypatch, GUN.replace("TopAlg=[gun]", "TopAlg=[gun, ParticleGun('Gun2')]"))
    assert rc == 1 and "'MCParticles' is produced by two algorithms: ParticleGun/Gun and ParticleGun/Gun2" in (
        capsys.readouterr().err
    )


def test_k4fwcore_import_check(tmp_path, monkeypatch, capsys):
    text = GUN.replace("from k4FWCore import ApplicationMgr, IOSvc", "from Configurables import ApplicationMgr, IOSvc")
    rc = _run(tmp_path, monkeypatch, text)
    assert rc == 1 and "import them from k4FWCore" in capsys.readouterr().err


def test_no_events_without_input(tmp_path, monkeypatch, capsys):
    rc = _run(tmp_path, monkeypatch, GUN.replace("EvtMax=2", "EvtMax=-1"))
    assert rc == 1 and "give the number of events with -n N" in capsys.readouterr().err


def test_dry_run_and_help(tmp_path, monkeypatch, capsys):
    assert _run(tmp_path, monkeypatch, GUN, "--dry-run", "--Gun.Seed", "9") == 0
    out = capsys.readouterr().out
    assert 'Gun.Seed = "9"' in out and 'IOSvc.Output = "out.root"' in out and not (tmp_path / "out.root").exists()
    assert _run(tmp_path, monkeypatch, GUN, "--help") == 0
    out = capsys.readouterr().out
    assert "--Gun.EnergyMin" in out and "--EnergyMin.Gun" in out and "--ncpus" in out


def test_shims_only_inside_k4run(tmp_path, monkeypatch, capsys):
    assert _run(tmp_path, monkeypatch, GUN) == 0
    assert str(cli.SHIMS) not in sys.path and "Configurables" not in sys.modules
    with pytest.raises(ImportError):
        import Configurables  # noqa: F401


def test_output_levels(tmp_path, monkeypatch, capsys):
    text = """
    from Gaudi.Configuration import DEBUG, WARNING
    from Configurables import ParticleGun
    from k4FWCore import ApplicationMgr
    from k4mlinference.framework import Consumer, Input

    class Talk(Consumer):
        InputCollection = Input("MCParticles", type="edm4hep::MCParticleCollection")

        def __call__(self, mcps):
            self.debug(f"event {self.event_number}: {len(mcps)} particles")
            self.warning("careful") if self.event_number == 0 else None

    ApplicationMgr(TopAlg=[ParticleGun("Gun"), Talk("Talk")], EvtMax=2, OutputLevel=WARNING)
    """
    assert _run(tmp_path, monkeypatch, text) == 0
    out = capsys.readouterr().out
    assert "Talk                 WARNING careful" in out and " INFO " not in out and "DEBUG" not in out
    assert _run(tmp_path, monkeypatch, text, "--Talk.OutputLevel=2") == 0  # DEBUG for this algorithm only
    out = capsys.readouterr().out
    assert "Talk                   DEBUG event 1: 1 particles" in out and "ApplicationMgr" not in out
