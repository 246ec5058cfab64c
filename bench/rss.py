#!/usr/bin/env python3
"""Cold-start peak RSS of our side alone, and where it goes (docs/benchmarks.md, "Footprint").

Usage: .venv/bin/python bench/rss.py [--runs N] [--warm N] [--breakdown] [--bin-dir DIR] [--c7n]

Runs `make bench`'s cold starts (bench/run.py `cold_starts`: a fresh `tagwarden replay auto-tagger` per
event against the emulator, GNU time's %M) for Tagwarden only, and prints the median peak RSS and wall time
against Cloud Custodian's figure (the last `make bench` in bench/RESULTS.md, or measured here with --c7n).
--warm N also runs bench/run.py's warm loop and floor (N events) for our side: a footprint lever must not
slow the warm path past 2.2 floors. --breakdown replays one more event under gdb, stopped at `exit_group`,
and sorts /proc/PID/smaps into the binary's segments, the heap, the stacks and the shared libraries.
Builds the release CLI and driver as `make bench` does (honours CARGO_TARGET_DIR) unless --bin-dir names
a folder that holds them already.
"""
from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run  # noqa: E402  (bench/run.py: the emulator, the worlds, `timed`, the measurements)

TARGET_RATIO = 6


def custodian_mib_from_results() -> float | None:
    """Custodian's cold-start peak RSS (MiB) in the last bench/RESULTS.md, if it is there."""
    path = run.BENCH / "RESULTS.md"
    if not path.exists():
        return None
    m = re.search(r"^\| Cold start, peak RSS[^|]*\| [\d.]+ MiB \| ([\d.]+) MiB", path.read_text(), re.M)
    return float(m.group(1)) if m else None


# ---------------------------------------------------------------------------------------------------------
# The breakdown: /proc/PID/smaps at exit_group, sorted by what each mapping holds
# ---------------------------------------------------------------------------------------------------------

def segments(binary: Path) -> tuple[list[tuple[int, int, str]], tuple[int, int] | None]:
    """The binary's LOAD segments (vaddr, end, flags) and its GNU_RELRO range, from `readelf -lW`."""
    loads, relro = [], None
    for line in subprocess.run(["readelf", "-lW", binary], capture_output=True, text=True, check=True).stdout.splitlines():
        f = line.split()
        if f and f[0] in ("LOAD", "GNU_RELRO"):
            vaddr, memsz = int(f[2], 16), int(f[5], 16)
            flags = "".join(x for x in f[6:-1] if x in ("R", "RW", "E", "RE", "RWE"))
            if f[0] == "LOAD":
                loads.append((vaddr, vaddr + memsz, flags))
            else:
                relro = (vaddr, vaddr + memsz)
    return loads, relro


SMAPS_GDB = r"""
import gdb, json, os
inf = gdb.selected_inferior()
stacks = []
for t in inf.threads():
    t.switch()
    stacks.append(int(gdb.parse_and_eval("$sp")))
status = open(f"/proc/{inf.pid}/status").read()
smaps = open(f"/proc/{inf.pid}/smaps").read()
# The binary's resident pages (pagemap bit 63), to tell its sections apart within one mapping.
exe = os.path.realpath(f"/proc/{inf.pid}/exe")
resident = []
with open(f"/proc/{inf.pid}/pagemap", "rb") as pagemap:
    for line in smaps.splitlines():
        f = line.split()
        if len(f) >= 6 and "-" in f[0] and f[5] == exe:
            start, end = (int(x, 16) for x in f[0].split("-"))
            pagemap.seek(start // 4096 * 8)
            raw = pagemap.read((end - start) // 4096 * 8)
            resident += [start + i * 4096 for i in range(len(raw) // 8)
                         if int.from_bytes(raw[i * 8:i * 8 + 8], "little") >> 63]
open(OUT, "w").write(json.dumps({"smaps": smaps, "stacks": stacks, "status": status, "resident": resident}))
"""


def smaps_at_exit(cmd: list, env: dict) -> dict:
    """Runs `cmd` under gdb until it calls exit_group; its smaps, its threads' stack pointers, its status."""
    with tempfile.TemporaryDirectory() as tmp:
        out, script = Path(tmp) / "smaps.json", Path(tmp) / "dump.py"
        script.write_text(f"OUT = {str(out)!r}\n" + SMAPS_GDB)
        subprocess.run(["gdb", "-q", "-batch", "-nx", "-ex", "set pagination off", "-ex", "set startup-with-shell off",
                        "-ex", "catch syscall exit_group", "-ex", "run", "-ex", f"source {script}", "-ex", "kill",
                        "--args", *map(str, cmd)], env=env, capture_output=True, text=True, check=True)
        if not out.exists():
            raise SystemExit("gdb did not stop the replay at exit_group")
        return json.loads(out.read_text())


def parse_smaps(text: str) -> list[dict]:
    maps, cur = [], None
    for line in text.splitlines():
        head = re.match(r"^([0-9a-f]+)-([0-9a-f]+) (\S+) [0-9a-f]+ \S+ \d+\s*(.*)$", line)
        if head:
            cur = {"start": int(head.group(1), 16), "end": int(head.group(2), 16), "perms": head.group(3),
                   "path": head.group(4).strip()}
            maps.append(cur)
        elif cur is not None and (kv := re.match(r"^(\w+):\s+(\d+) kB$", line)):
            cur[kv.group(1)] = int(kv.group(2))
    return maps


def breakdown(binary: Path, dump: dict) -> list[tuple[str, int, int]]:
    """(what, RSS KiB, of which dirty KiB) per part of the process at exit."""
    maps = parse_smaps(dump["smaps"])
    loads, relro = segments(binary)
    real = str(binary.resolve())
    ours = [m for m in maps if m["path"] == real]
    base = ours[0]["start"] - (loads[0][0] & ~0xFFF) if ours else 0
    parts: dict[str, list[int]] = {}

    def add(what: str, m: dict) -> None:
        p = parts.setdefault(what, [0, 0])
        p[0] += m.get("Rss", 0)
        p[1] += m.get("Private_Dirty", 0) + m.get("Shared_Dirty", 0)

    last_binary_end = max((m["end"] for m in ours), default=0)
    for m in maps:
        if m["path"] == real:
            vaddr = m["start"] - base
            if relro and relro[0] & ~0xFFF <= vaddr < relro[1]:
                add("binary: relro (.data.rel.ro, .got), relocated at load", m)
            elif "x" in m["perms"]:
                add("binary: .text", m)
            elif "w" in m["perms"]:
                add("binary: .data", m)
            elif loads and vaddr < loads[0][1]:
                add("binary: ELF headers, .dynsym, .rela.dyn (first segment)", m)
            else:
                add("binary: .rodata, .eh_frame", m)
        elif m["path"] == "" and m["start"] == last_binary_end:
            add("binary: .bss", m)
        elif m["path"] == "[heap]":
            add("heap: brk", m)
        elif m["path"] == "[stack]":
            add("stacks: main thread", m)
        elif m["path"] == "":
            is_stack = any(m["start"] <= sp < m["end"] for sp in dump["stacks"])
            add("stacks: other threads" if is_stack else "heap: anonymous mmap (malloc arenas, large blocks)", m)
        elif m["path"].startswith("/"):
            add(f"shared: {Path(m['path']).name}", m)
        else:
            add(f"other: {m['path']}", m)
    return sorted(((k, v[0], v[1]) for k, v in parts.items()), key=lambda r: (r[0].split(":")[0], -r[1]))


def sections(binary: Path, dump: dict) -> list[tuple[str, int]]:
    """(section, resident KiB) of the binary at exit, from its resident pages: a page counts for the
    section that holds its first byte (or, between sections, the next one)."""
    secs = []
    for line in subprocess.run(["readelf", "-SW", binary], capture_output=True, text=True, check=True).stdout.splitlines():
        m = re.match(r"^\s*\[\s*\d+\]\s+(\S+)\s+\S+\s+([0-9a-f]+)\s+[0-9a-f]+\s+([0-9a-f]+)", line)
        if m and int(m.group(2), 16):
            secs.append((int(m.group(2), 16), int(m.group(2), 16) + int(m.group(3), 16), m.group(1)))
    secs.sort()
    loads, _ = segments(binary)
    real = str(binary.resolve())
    first = min(m["start"] for m in parse_smaps(dump["smaps"]) if m["path"] == real)
    base = first - (loads[0][0] & ~0xFFF)
    counts: dict[str, int] = {}
    for page in dump.get("resident", []):
        vaddr = page - base
        inside = [n for lo, hi, n in secs if lo <= vaddr < hi]
        after = [n for lo, _, n in secs if lo > vaddr]
        owner = inside[0] if inside else after[0] if after else "(past the last section)"
        counts[owner] = counts.get(owner, 0) + 4
    return sorted(counts.items(), key=lambda kv: -kv[1])


def print_breakdown(binary: Path, dump: dict) -> None:
    rows = breakdown(binary, dump)
    hwm = re.search(r"VmHWM:\s+(\d+) kB", dump["status"])
    total = sum(r[1] for r in rows)
    print(f"\nWhere `{binary.name} replay` holds its pages at exit_group (smaps; VmHWM "
          f"{int(hwm.group(1)) / 1024 if hwm else 0:.1f} MiB, sum {total / 1024:.1f} MiB):\n")
    print("| part | RSS MiB | of which dirty MiB |\n|---|---|---|")
    for what, rss, dirty in rows:
        if rss:
            print(f"| {what} | {rss / 1024:.2f} | {dirty / 1024:.2f} |")
    print(f"\nThe binary's resident pages by section:\n\n| section | resident MiB |\n|---|---|")
    for name, kib in sections(binary, dump):
        print(f"| {name} | {kib / 1024:.2f} |")


# ---------------------------------------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7, help="measured cold starts (after one warm-up; default 7)")
    parser.add_argument("--warm", type=int, default=0, metavar="N",
                        help="also run the warm loop and the floor with N events (make bench: 200)")
    parser.add_argument("--breakdown", action="store_true", help="one more replay under gdb: smaps at exit")
    parser.add_argument("--bin-dir", type=Path, help="folder holding tagwarden and tagwarden-bench (no build)")
    parser.add_argument("--c7n", action="store_true", help="measure Custodian's side too (bench/.venv-c7n)")
    args = parser.parse_args()
    run.WORK.mkdir(exist_ok=True)
    if args.bin_dir:
        cli, driver = args.bin_dir / "tagwarden", args.bin_dir / "tagwarden-bench"
    else:
        cli, driver = run.build(release=True)
    lambda_dir = None
    if args.c7n:
        run.ensure_c7n()
        lambda_dir = Path(json.loads(subprocess.run(
            [run.C7N_PY, run.BENCH / "c7n_side.py", "package", run.BENCH / "c7n-policy.yml", run.WORK / "c7n"],
            capture_output=True, text=True, check=True).stdout)["lambda_dir"])
    sides = run.Sides(cli, driver, lambda_dir)
    which = ("rs", "py") if args.c7n else ("rs",)
    with run.emulator(0) as emu:
        cold = run.cold_starts(sides, emu, args.runs, which)
        warm = run.warm_loops(sides, emu, args.warm, args.warm, ("rs",)) if args.warm else None
        dump = None
        if args.breakdown:
            run.seed(sides, emu, "rss-gdb", 1, run.CALLER_TAG)
            event = run.write_event(run.name("rss-gdb", 1))
            dump = smaps_at_exit([cli, "replay", "auto-tagger", "--policy", run.TAG_POLICY, "--event", event],
                                 emu.env())

    rs = cold["rs"]
    custodian = cold["py"]["rss"]["median"] if args.c7n else custodian_mib_from_results()
    print(f"binary: {cli} ({cli.stat().st_size / 1e6:.1f} MB)")
    print(f"cold start, ours: peak RSS {rs['rss']['median']:.1f} MiB (min {rs['rss']['min']:.1f}, max "
          f"{rs['rss']['max']:.1f}, n={rs['rss']['n']}), wall {run.fmt_ms(rs['ms'], 0)}; tagged {rs['tagged']}")
    if custodian:
        ratio = custodian / rs["rss"]["median"]
        source = "measured here" if args.c7n else "bench/RESULTS.md"
        print(f"Custodian: {custodian:.1f} MiB ({source}) -> 1/{ratio:.1f}; target <= 1/{TARGET_RATIO} "
              f"(<= {custodian / TARGET_RATIO:.1f} MiB): {'met' if ratio >= TARGET_RATIO else 'NOT met'}")
    if warm:
        w, floor = warm["rs"], warm["floor"]
        print(f"warm: median {w['median']:.2f} ms (p90 {w['p90']:.2f}), floor {floor['median']:.2f} ms -> "
              f"{w['median'] / floor['median']:.2f}x floor (target <= 2.2x)")
    if dump:
        print_breakdown(cli, dump)


if __name__ == "__main__":
    main()
