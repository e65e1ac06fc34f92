"""native_sim runtime test of the echo firmware against the `mcore` host tool (twister pytest)."""
import re
import signal
import subprocess
import time
from pathlib import Path

from mcore_sim import Firmware


def run(mcore, fw, *args, timeout=60, check=True):
    r = subprocess.run([str(mcore), *fw.host_args(), "--timeout", "10", *args],
                       capture_output=True, text=True, timeout=timeout)
    if check and r.returncode != 0:
        raise AssertionError(f"mcore {' '.join(args)} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}\n"
                             f"firmware log:\n{fw.log()}")
    return r


def test_boot_and_name_service(mcore, firmware):
    firmware.wait_log("mcore-rs echo")
    out = run(mcore, firmware, "list").stdout
    assert re.search(r"channel rpmsg-client-sample\s+remote 0x0400", out), out
    assert re.search(r"channel rpmsg-tty\s+remote 0x0401", out), out
    firmware.wait_log("rpmsg: vdev up")


def test_client_sample_100_messages_1_to_496_bytes(mcore, firmware):
    out = run(mcore, firmware, "echo", "rpmsg-client-sample", "-n", "100", "--min", "1",
              "--max", "496", "--quiet").stdout
    assert "100 messages, 1..496 bytes, all identical and in order" in out, out


def test_tty_prefix(mcore, firmware):
    out = run(mcore, firmware, "send", "rpmsg-tty", "hello from linux").stdout
    assert out.strip() == "TTY 0x0401: hello from linux", out


def test_497_bytes_refused_with_typed_error(mcore, firmware):
    r = run(mcore, firmware, "send", "rpmsg-client-sample", "x" * 497, check=False)
    assert r.returncode == 1
    assert "RPMsg payload of 497 bytes exceeds the maximum of 496 bytes" in r.stderr, r.stderr
    # The firmware's own API refuses it the same way, before taking a buffer.
    assert "a 497-byte send is refused: message of 497 bytes exceeds the maximum of 496 bytes" \
        in firmware.log()
    # Nothing was lost or wedged: a 496-byte message still echoes.
    out = run(mcore, firmware, "echo", "rpmsg-client-sample", "-n", "2", "--min", "496",
              "--max", "496", "--quiet").stdout
    assert "all identical and in order" in out


def test_host_restart_then_echo_again(mcore, firmware):
    # A host that is killed while attached (SIGKILL: no clean-up at all)...
    cat = subprocess.Popen([str(mcore), *firmware.host_args(), "cat", "rpmsg-client-sample"],
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    cat.stdin.write("before the crash\n")
    cat.stdin.flush()
    assert cat.stdout.readline().strip() == "before the crash"
    cat.send_signal(signal.SIGKILL)
    cat.wait()
    time.sleep(0.2)
    assert firmware.alive(), firmware.log()
    # ...and a new host re-attaches to the running firmware and works.
    r = run(mcore, firmware, "echo", "rpmsg-client-sample", "-n", "50", "--quiet")
    assert "resumed earlier host state" in r.stderr, r.stderr
    assert "50 messages, 1..496 bytes, all identical and in order" in r.stdout
    out = run(mcore, firmware, "send", "rpmsg-tty", "again").stdout
    assert out.strip() == "TTY 0x0401: again"
    firmware.wait_log("rpmsg-client-sample: rx ")


def test_firmware_stops_cleanly_when_its_host_goes_away(mcore, request, tmp_path):
    """--mcore-exit-on-close: the run ends with the host; exit code 0, nothing left behind."""
    exe = Path(request.config.getoption("--build-dir")) / "zephyr" / "zephyr.exe"
    fw = Firmware(exe, tmp_path, ["--mcore-exit-on-close"]).start()
    run(mcore, fw, "list")  # attaches, lists, closes its connection
    assert fw.wait_exit(timeout=10) == 0, fw.log()
    assert "host disconnected" in fw.log()
    assert fw.cleaned_up()
