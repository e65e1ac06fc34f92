"""native_sim runtime test of the echo firmware with the real Linux RPMsg stack (twister pytest).

The peer is User-Mode Linux 6.1 with its unmodified virtio_rpmsg_bus, rpmsg_client_sample,
rpmsg_tty and rpmsg_char; the Linux-side programs are the same `mcore` binary as on an i.MX
target. One boot runs the whole workload; the tests read its console.
"""
import re
import subprocess
from pathlib import Path

import pytest

from mcore_sim import Firmware, Vdev, build_host_tool

SCRIPT = r"""
set -u
M={mcore}
insmod "$MCORE_MODDIR/kernel/samples/rpmsg/rpmsg_client_sample.ko"
n=0; until dmesg | grep -q 'goodbye!'; do n=$((n+1)); [ $n -ge 300 ] && break; sleep 0.1; done
echo "@@ list"
$M list --wait rpmsg-tty; echo "@@ rc list $?"
echo "@@ echo"
$M echo rpmsg-client-sample -n 100 --min 1 --max 496 --quiet; echo "@@ rc echo $?"
echo "@@ too large"
$M send rpmsg-client-sample "$(printf '%497s' '' | tr ' ' x)"; echo "@@ rc 497 $?"
$M echo rpmsg-client-sample -n 2 --min 496 --max 496 --quiet; echo "@@ rc after-497 $?"
echo "@@ tty"
stty -F /dev/ttyRPMSG0 raw -echo
timeout 5 head -n 1 /dev/ttyRPMSG0 > /mnt/out/tty.txt &
sleep 0.3
echo "hello from linux" > /dev/ttyRPMSG0
wait
echo "@@ tty got: $(cat /mnt/out/tty.txt)"
$M send rpmsg-tty "hello via rpmsg_char"; echo "@@ rc tty-char $?"
"""


@pytest.fixture(scope="module")
def console(board, mcore):
    """The console of one Linux boot that ran the whole workload."""
    board.firmware.wait_log("mcore-rs echo")
    return board.run(SCRIPT.format(mcore=mcore), timeout=180)


def rc(console, step):
    m = re.search(rf"@@ rc {step} (\d+)", console)
    assert m, f"step {step} did not run:\n{console}"
    return int(m.group(1))


def test_linux_creates_both_channels(console, board):
    assert "virtio_rpmsg_bus virtio0: rpmsg host is online" in console, console
    assert re.search(r"creating channel rpmsg-client-sample addr 0x400", console), console
    assert re.search(r"creating channel rpmsg-tty addr 0x401", console), console
    assert rc(console, "list") == 0
    assert re.search(r"channel rpmsg-client-sample\s+remote 0x0400", console), console
    board.firmware.wait_log("rpmsg: vdev up")


def test_rpmsg_client_sample_100_messages_to_goodbye(console):
    assert re.search(r"rpmsg_client_sample virtio0\.rpmsg-client-sample\.-1\.1024: "
                     r"incoming msg 100 \(src: 0x400\)", console), console
    assert "goodbye!" in console, console


def test_rpmsg_char_echo_1_to_496_bytes(console):
    assert rc(console, "echo") == 0, console
    assert "100 messages, 1..496 bytes, all identical and in order" in console, console


def test_497_bytes_refused_by_linux_then_echo_works(console, board):
    assert rc(console, "497") == 1, console
    assert "Linux refused a 497-byte RPMsg payload with EMSGSIZE (at most 496 bytes fit)" \
        in console, console
    # The firmware's own API refuses it the same way, before taking a buffer.
    assert "a 497-byte send is refused: message of 497 bytes exceeds the maximum of 496 bytes" \
        in board.firmware.log()
    assert rc(console, "after-497") == 0, console


def test_tty_round_trip_with_prefix(console):
    assert "@@ tty got: TTY 0x0401: hello from linux" in console, console
    assert rc(console, "tty-char") == 0, console
    assert "TTY 0x0401: hello via rpmsg_char" in console, console


def test_firmware_exits_cleanly_when_its_device_goes_away(firmware_exe, tmp_path):
    """--mcore-exit-on-close: the run ends with the device; exit code 0, nothing left behind."""
    fw = Firmware(firmware_exe, tmp_path, ["--mcore-exit-on-close"]).start()
    vdev = Vdev(build_host_tool("mcore-vdev"), fw, tmp_path).start()
    fw.wait_log("virtio device connected")
    assert vdev.stop() == 0, vdev.log()
    assert fw.wait_exit(timeout=10) == 0, fw.log()
    assert "virtio device disconnected" in fw.log()
    assert fw.cleaned_up()


RESTART_SCRIPT = r"""
insmod "$MCORE_MODDIR/kernel/samples/rpmsg/rpmsg_client_sample.ko"
n=0; until dmesg | grep -q 'goodbye!'; do n=$((n+1)); [ $n -ge 300 ] && break; sleep 0.1; done
echo "@@ client sample done"
{tail}
"""


def test_client_sample_after_three_kernel_restarts(console, board):
    """A kernel that crashes (its process group killed: nothing written to the vdev), again,
    then an orderly poweroff: each new kernel resets the vdev, the firmware brings the link up
    again and announces its endpoints, and rpmsg_client_sample reaches goodbye!. The firmware
    is never restarted."""
    for i, how in enumerate(["crash", "crash", "poweroff", "last"]):
        uml = board.boot(RESTART_SCRIPT.format(tail="sleep 600" if how == "crash" else ""),
                         name=f"restart-{how}")
        uml.wait_for("@@ client sample done", timeout=90)
        text = uml.console()
        assert re.search(r"rpmsg_client_sample virtio0\.rpmsg-client-sample\.-1\.1024: "
                         r"incoming msg 100 \(src: 0x400\)", text), text
        assert "goodbye!" in text, text
        if how == "crash":
            uml.kill()
        else:
            assert uml.wait_exit(60) == 0, uml.console()
    log = board.firmware.log()
    assert log.count("mcore-rs echo 0.1.0 on") == 1, log
    # The first boot plus the four here; each new kernel was seen as a reset.
    assert log.count("rpmsg: vdev up") == 5, log
    assert log.count("endpoints: rpmsg-client-sample 0x400, rpmsg-tty 0x401") == 5, log
    assert board.firmware.alive()
