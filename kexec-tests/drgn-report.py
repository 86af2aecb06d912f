# SPDX-License-Identifier: GPL-2.0
"""Report what a vmcore holds, for the harness's dump assertions, with drgn.

Run with the python3 of the sid tools rootfs:

    python3 drgn-report.py VMCORE VMLINUX LOG_FILE [ARCH]

ARCH is the guest's architecture as ARCHES names it (x86_64, the default,
or arm64).

The report on stdout has the lines kexec-tests/lib/readers.sh reads for every
reader ("key: value"); the kernel log goes to LOG_FILE. Used for the bases
no packaged crash can open (7.3: see scripts/rootfs.sh).

The notes in the kdump-compressed header (what makedumpfile and QEMU's
dump-guest-memory write) carry no CPU number: a CPU whose registers were
not saved has no note, and every later note would be taken for the CPU
before it. So a CPU's registers are read where the kernel saved them, its
own per-CPU crash_notes buffer in the dump, as drgn itself does: a CPU
counts as having saved registers when that note's program counter is set. The
backtraces come from drgn, which unwinds each CPU's current task from
those registers.
"""
import re
import struct
import sys

import drgn
from drgn.helpers.linux.cpumask import for_each_present_cpu
from drgn.helpers.linux.percpu import per_cpu_ptr
from drgn.helpers.linux.printk import get_dmesg
from drgn.helpers.linux.sched import cpu_curr

NT_PRSTATUS = 1
# struct elf_prstatus on 64-bit Linux: pr_reg starts at 112.
PRSTATUS_REGS = 112
# A crash_notes buffer: the ELF note header (namesz, descsz, type), then
# "CORE" padded to 8 bytes, then the elf_prstatus.
CRASH_NOTE_DESC = 12 + 8
# Per guest architecture: drgn's name for it, named rather than taken from
# the dump (QEMU's dump-guest-memory kdump header leaves libkdumpfile
# without an arch), and which register of pr_reg is the program counter:
# RIP, the 17th of x86_64's pt_regs; PC, the 33rd of arm64's user_pt_regs
# (x0-x30, sp, pc, pstate).
ARCHES = {
    "x86_64": (drgn.Architecture.X86_64, 16),
    "arm64": (drgn.Architecture.AARCH64, 32),
}
# What crash calls the panic, in its order of preference.
PANIC_PATTERNS = (
    re.compile(r"Kernel panic - not syncing: (.*)"),
    re.compile(r"(kernel BUG at .*)"),
    re.compile(r"(Oops: .*)"),
)
FRAMES_SHOWN = 8
FLAT_HEADER_SIZE = 4096


def flattened_reader(f):
    """read(offset, size) for makedumpfile's flattened format (what
    "makedumpfile -F" and QEMU's dump-guest-memory to a pipe write): a
    4 KiB header, then (offset, size) big-endian records, each with data."""
    records, pos = [], FLAT_HEADER_SIZE
    while True:
        f.seek(pos)
        head = f.read(16)
        if len(head) < 16:
            break
        offset, size = struct.unpack(">qq", head)
        if offset < 0:
            break
        records.append((offset, size, pos + 16))
        pos += 16 + size

    def read(offset, size):
        out = bytearray(size)
        for start, length, data_pos in records:
            lo, hi = max(start, offset), min(start + length, offset + size)
            if lo < hi:
                f.seek(data_pos + lo - start)
                out[lo - offset:hi - offset] = f.read(hi - lo)
        return bytes(out)
    return read


def plain_reader(f):
    def read(offset, size):
        f.seek(offset)
        return f.read(size)
    return read


def kdump_notes(path):
    """(name, type, desc) of every ELF note in a kdump-compressed file."""
    with open(path, "rb") as f:
        magic = f.read(16)
        if magic.startswith(b"makedumpfile"):
            read = flattened_reader(f)
        else:
            read = plain_reader(f)
        header = read(0, 464)
        if header[:8] != b"KDUMP   ":
            raise SystemExit(f"{path}: not a kdump-compressed dump")
        (block_size,) = struct.unpack_from("<i", header, 428)
        offset_note, size_note = struct.unpack("<qQ", read(block_size + 48, 16))
        data = read(offset_note, size_note)
    notes, pos = [], 0
    while pos + 12 <= len(data):
        namesz, descsz, ntype = struct.unpack_from("<III", data, pos)
        pos += 12
        name = data[pos:pos + namesz].rstrip(b"\0").decode(errors="replace")
        pos += (namesz + 3) & ~3
        desc = data[pos:pos + descsz]
        pos += (descsz + 3) & ~3
        notes.append((name, ntype, desc))
    return notes


def pc_offset(arch):
    """Where the program counter is in the desc of ARCH's NT_PRSTATUS."""
    return PRSTATUS_REGS + ARCHES[arch][1] * 8


def prstatus_pcs(notes, pc_at):
    """The saved program counter of every NT_PRSTATUS note, in the order
    of the file."""
    return [struct.unpack_from("<Q", desc, pc_at)[0]
            for name, ntype, desc in notes
            if name == "CORE" and ntype == NT_PRSTATUS and len(desc) >= pc_at + 8]


def crash_notes_pc(prog, cpu, pc_at):
    """The program counter of CPU's NT_PRSTATUS note in its crash_notes
    buffer, or 0."""
    size = CRASH_NOTE_DESC + pc_at + 8
    try:
        note = prog.read(per_cpu_ptr(prog["crash_notes"], cpu).value_(), size)
    except drgn.FaultError:  # a page left out of the dump holds no note
        return 0
    (ntype,) = struct.unpack_from("<I", note, 8)
    (pc,) = struct.unpack_from("<Q", note, CRASH_NOTE_DESC + pc_at)
    return pc if ntype == NT_PRSTATUS else 0


def cpus_with_regs(prog, pcs, pc_at):
    """The present CPUs whose registers were saved. A kdump vmcore: those
    whose crash_notes buffer holds a note with a program counter. A dump
    taken from the host (QEMU's dump-guest-memory) finds every crash_notes
    buffer empty and writes one note per vCPU itself, in vCPU order: PCS."""
    cpus = list(for_each_present_cpu(prog))
    saved = [cpu for cpu in cpus if crash_notes_pc(prog, cpu, pc_at)]
    if saved:
        return saved
    return [cpu for cpu, pc in zip(cpus, pcs) if pc]


def panic_string(log):
    for pattern in PANIC_PATTERNS:
        for line in log.splitlines():
            match = pattern.search(line)
            if match:
                return match.group(1).strip()
    return ""


def open_vmcore(vmcore, vmlinux, arch):
    platform = drgn.Platform(arch, drgn.PlatformFlags.IS_64_BIT
                             | drgn.PlatformFlags.IS_LITTLE_ENDIAN)
    program = drgn.Program(platform)
    program.set_core_dump(vmcore)
    program.load_debug_info([vmlinux])
    return program


def cpu_frames(prog, cpu):
    """Function names of CPU's stack, innermost first, from its registers."""
    trace = prog.stack_trace(cpu_curr(prog, cpu))
    names = []
    for frame in trace:
        names.append(frame.name or hex(frame.pc))
    return trace, names


def report_cpus(prog):
    listed, with_bt, lines = [], [], []
    # Present, not online: a CPU that redirected a panic (panic_force_cpu=)
    # marked itself offline, and is in the dump all the same.
    for cpu in for_each_present_cpu(prog):
        listed.append(cpu)
        try:
            trace, names = cpu_frames(prog, cpu)
        except Exception as err:  # a CPU drgn cannot unwind is reported
            lines.append(f"bt {cpu}: error: {err}")
            continue
        if names:
            with_bt.append(cpu)
        lines.append(f"bt {cpu}: {' '.join(names[:FRAMES_SHOWN])}")
    return listed, with_bt, lines


def symbol_at(prog, cpu):
    try:
        trace, names = cpu_frames(prog, cpu)
    except Exception:
        return ""
    return names[0] if names else ""


def main():
    vmcore, vmlinux, log_file = sys.argv[1:4]
    arch = sys.argv[4] if len(sys.argv) > 4 else "x86_64"
    pc_at = pc_offset(arch)
    prog = open_vmcore(vmcore, vmlinux, ARCHES[arch][0])
    log = get_dmesg(prog).decode(errors="replace")
    with open(log_file, "w") as f:
        f.write(log)
    pcs = prstatus_pcs(kdump_notes(vmcore), pc_at)
    listed, with_bt, lines = report_cpus(prog)
    panic_cpu = prog["panic_cpu"].counter.value_()
    print("reader: drgn")
    print(f"release: {prog['init_uts_ns'].name.release.string_().decode()}")
    print(f"panic: {panic_string(log)}")
    print(f"prstatus_notes: {len(pcs)}")
    print("cpus_listed:", " ".join(map(str, listed)))
    print("cpus_regs:", " ".join(map(str, cpus_with_regs(prog, pcs, pc_at))))
    print("cpus_bt:", " ".join(map(str, with_bt)))
    print(f"panic_cpu: {panic_cpu}")
    print(f"panic_cpu_symbol: {symbol_at(prog, panic_cpu) if panic_cpu >= 0 else ''}")
    print("\n".join(lines))


main()
