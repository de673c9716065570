#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Writes the crafted fuzz-gmem seeds (fuzz/README.md) into a directory:
  fuzz/make-gmem-crafted.py fuzz/corpus/gmem
Inputs in the target's two modes (fuzz/fuzz-gmem.c): 'sim-*' drive the
printk decoders on simulated memory (first byte 0: lockless ring, 1:
log_buf), 'elf-*' are ELF dumps with everything in the kernel image mapping
(virtual 0xffffffff80000000 + x is physical x), so no page tables."""

import os
import struct
import sys

KERNEL_MAP = 0xFFFFFFFF80000000
SYMBOLS = 0xFFFFFFFF82000000  # fuzz-gmem.c FUZZ_GMEM_SYMBOLS
RB = 0xFFFFFFFF82001000
ARRAYS = 0xFFFFFFFF82002000  # the ELF seeds' descriptors, infos, text
ID_MASK = (1 << 62) - 1
FINALIZED = 2 << 62

# tests/unit/gmem-sim.h sim_vmcoreinfo(): Linux 6.1 on x86-64, measured
LOCKLESS_INFO = """OSRELEASE=6.1.0-crafted
SYMBOL(init_top_pgt)=ffffffff82e0a000
NUMBER(phys_base)=0
SYMBOL(prb)=%x
SIZE(printk_ringbuffer)=88
OFFSET(printk_ringbuffer.desc_ring)=0
OFFSET(printk_ringbuffer.text_data_ring)=48
OFFSET(prb_desc_ring.count_bits)=0
OFFSET(prb_desc_ring.descs)=8
OFFSET(prb_desc_ring.infos)=16
OFFSET(prb_desc_ring.head_id)=24
OFFSET(prb_desc_ring.tail_id)=32
SIZE(prb_desc)=24
OFFSET(prb_desc.state_var)=0
OFFSET(prb_desc.text_blk_lpos)=8
OFFSET(prb_data_blk_lpos.begin)=0
OFFSET(prb_data_blk_lpos.next)=8
SIZE(printk_info)=88
OFFSET(printk_info.seq)=0
OFFSET(printk_info.ts_nsec)=8
OFFSET(printk_info.text_len)=16
OFFSET(printk_info.caller_id)=20
OFFSET(printk_info.dev_info)=24
OFFSET(dev_printk_info.subsystem)=0
LENGTH(printk_info_subsystem)=16
OFFSET(dev_printk_info.device)=16
LENGTH(printk_info_device)=48
OFFSET(prb_data_ring.size_bits)=0
OFFSET(prb_data_ring.data)=8
OFFSET(atomic_long_t.counter)=0
""" % SYMBOLS

LEGACY_INFO = """OSRELEASE=4.18.0-crafted
SYMBOL(init_top_pgt)=ffffffff82e0a000
SYMBOL(log_buf)=ffffffff82000000
SYMBOL(log_buf_len)=ffffffff82000008
SYMBOL(log_first_idx)=ffffffff8200000c
SYMBOL(log_next_idx)=ffffffff82000010
SIZE(printk_log)=16
OFFSET(printk_log.ts_nsec)=0
OFFSET(printk_log.len)=8
OFFSET(printk_log.text_len)=10
"""


# ---- the lockless ring (kernel/printk/printk_ringbuffer.c) ----

def ring(count_bits, size_bits, records, first_id=0x100, lpos=0):
    """descriptor, info and text arrays for @records: (text, subsystem,
    device) or a raw (begin, next, block_id) override; ids from @first_id"""
    count, size = 1 << count_bits, 1 << size_bits
    descs, infos, data = bytearray(count * 24), bytearray(count * 88), bytearray(size)
    for k, rec in enumerate(records):
        rid = (first_id + k) & ID_MASK
        d, i = (rid % count) * 24, (rid % count) * 88
        text, subsys, device = rec[:3]
        if text == b"":
            begin = nxt = 3  # NO_LPOS: an empty line
        else:
            blk = (8 + len(text) + 7) & ~7
            begin, nxt = lpos, lpos + blk
            blk_id, at = rid, begin % size
            if len(rec) > 3:  # lpos, the block's id and where it is, as given
                begin, nxt, blk_id, at = rec[3]
            data[at:at + 8] = struct.pack("<Q", blk_id)
            data[at + 8:at + 8 + len(text)] = text[:max(0, size - at - 8)]
            lpos = max(lpos, nxt)
        descs[d:d + 24] = struct.pack("<QQQ", FINALIZED | rid, begin, nxt)
        infos[i:i + 24] = struct.pack("<QQHBBI", k, 1000 * (k + 1), len(text), 0, 2 | (6 << 5),
                                      0x80000000)
        infos[i + 24:i + 40] = subsys.ljust(16, b"\0")[:16]
        infos[i + 40:i + 88] = device.ljust(48, b"\0")[:48]
    head = (first_id + len(records) - 1) & ID_MASK
    return bytes(descs), bytes(infos), bytes(data), head


def sim_lockless(count_bits, size_bits, records, override=b"", level=0xFF, tail=0xFF,
                 tail_id=0x100):
    descs, infos, data, head = ring(count_bits, size_bits, records, tail_id)
    return (bytes([0, level, tail, len(override)]) + override +
            bytes([count_bits, size_bits]) + struct.pack("<QH", tail_id, (head - tail_id) & 0xFFFF) +
            descs + infos + data)


# ---- log_buf (Linux 3.5 to 5.9) ----

def legacy_record(text, dict_=b"", level=6, ts=1000, dict_len=None, pad=True):
    length = 16 + len(text) + len(dict_)
    if pad:
        length = (length + 7) & ~7
    hdr = struct.pack("<QHHHBB", ts, length, len(text),
                      len(dict_) if dict_len is None else dict_len, 0, 2 | (level << 5))
    return (hdr + text + dict_).ljust(length, b"\0")


def sim_legacy(buf, first, nxt, override=b"", buf_len=None, level=0xFF, tail=0xFF):
    return (bytes([1, level, tail, len(override)]) + override +
            struct.pack("<III", len(buf) if buf_len is None else buf_len, first, nxt) + buf)


# ---- ELF dumps ----

def note(name, ntype, desc):
    name = name + b"\0"
    return (struct.pack("<III", len(name), len(desc), ntype) + name.ljust((len(name) + 3) & ~3, b"\0") +
            desc.ljust((len(desc) + 3) & ~3, b"\0"))


def elf(notes, loads):
    """@loads: (guest physical address, bytes) or (paddr, file offset in the
    first load's bytes, size) for a PT_LOAD aliasing them"""
    n = 1 + len(loads)
    off = 64 + 56 * n
    phdrs, body = [], bytearray()
    phdrs.append(struct.pack("<IIQQQQQQ", 4, 0, off, 0, 0, len(notes), len(notes), 4))
    body += notes
    first_load = None
    for load in loads:
        if len(load) == 3:
            paddr, at, size = load
            phdrs.append(struct.pack("<IIQQQQQQ", 1, 7, first_load + at, 0, paddr, size, size, 0))
            continue
        paddr, data = load
        if first_load is None:
            first_load = off + len(body)
        phdrs.append(struct.pack("<IIQQQQQQ", 1, 7, off + len(body), 0, paddr, len(data), len(data),
                                 0))
        body += data
    ehdr = (b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8) +
            struct.pack("<HHIQQQIHHHHHH", 4, 62, 1, 0, 64, 0, 0, 64, 56, n, 0, 0, 0))
    return ehdr + b"".join(phdrs) + bytes(body)


def phys(vaddr):
    return vaddr - KERNEL_MAP


def elf_lockless(count_bits, size_bits, records, info=LOCKLESS_INFO, extra_notes=b""):
    descs, infos, data, head = ring(count_bits, size_bits, records)
    count = 1 << count_bits
    symbols = struct.pack("<Q", RB).ljust(4096, b"\0")
    rb = bytearray(88)
    rb[0:4] = struct.pack("<I", count_bits)
    rb[8:40] = struct.pack("<QQQQ", ARRAYS, ARRAYS + count * 24, head, 0x100)
    rb[48:52] = struct.pack("<I", size_bits)
    rb[56:64] = struct.pack("<Q", ARRAYS + count * 112)
    notes = extra_notes + note(b"VMCOREINFO", 0, info.encode())
    return elf(notes, [(phys(SYMBOLS), symbols), (phys(RB), bytes(rb).ljust(4096, b"\0")),
                       (phys(ARRAYS), descs + infos + data)])


def elf_legacy(buf, first, nxt, info=LEGACY_INFO, loads=()):
    symbols = struct.pack("<QIII", ARRAYS, len(buf), first, nxt)
    return elf(note(b"VMCOREINFO", 0, info.encode()),
               [(phys(SYMBOLS), symbols.ljust(4096, b"\0")), (phys(ARRAYS), buf)] + list(loads))


def seeds():
    msgs = [(b"Linux version 6.1.0-crafted", b"", b""), (b"", b"", b""),
            (b"virtio_blk virtio1: [vda] 2097152 512-byte logical blocks", b"virtio", b"+virtio:virtio1"),
            (b"tab\there \\ ctl \x01 utf8 \xc3\xa9 bad \xff", b"pci", b"+pci:0000:00:01.0")]
    yield "sim-lockless-basic", sim_lockless(4, 10, msgs)
    yield "sim-lockless-filter", sim_lockless(4, 10, msgs, level=6, tail=1)
    # ids running over the 2^62 mask, as DESC0_ID() starts them close to it
    yield "sim-lockless-id-wrap", sim_lockless(3, 9, msgs * 2, tail_id=ID_MASK - 3)
    # two descriptors claiming overlapping text, one with the other's id
    overlap = [(b"A" * 40, b"", b""), (b"B" * 40, b"", b"", (24, 72, 0x101, 24)),
               (b"C" * 16, b"", b"", (0, 48, 0x102, 0))]
    yield "sim-lockless-overlap", sim_lockless(3, 8, overlap)
    # a block that wraps to the ring's start, one that ends it exactly
    wrap = [(b"W" * 100, b"", b"", (192, 256 + 112, 0x100, 0)),
            (b"E" * 56, b"", b"", (192, 256, 0x101, 192))]
    yield "sim-lockless-block-wrap", sim_lockless(2, 8, wrap)
    # 2^24 descriptors, 2^30 bytes of text: what the reader allocates
    yield "sim-lockless-huge-counts", sim_lockless(4, 10, msgs)[:4] + bytes([24, 30]) + \
        struct.pack("<QH", 0x100, 0xFFFF)
    # VMCOREINFO overrides: offsets at the edge of their structures
    yield "sim-lockless-override", sim_lockless(
        4, 10, msgs, override=b"OFFSET(printk_info.caller_id)=4096\nLENGTH(printk_info_device)=4096\n"
                              b"OFFSET(printk_info.dev_info)=24\nSIZE(prb_desc)=32\n")

    # log_buf
    recs = (legacy_record(b"first") + legacy_record(b"dev", b"SUBSYSTEM=pci\0DEVICE=+pci:0000:00:01.0") +
            legacy_record(b"last", level=3))
    yield "sim-legacy-basic", sim_legacy(recs + bytes(32), 0, len(recs))
    yield "sim-legacy-filter", sim_legacy(recs + bytes(32), 0, len(recs), level=5, tail=1)
    # the walk wraps: first near the end, a zero len there, then from 0
    tail_rec = legacy_record(b"x" * 40)
    buf = bytearray(256)
    buf[0:len(recs)] = recs
    buf[160:160 + len(tail_rec)] = tail_rec
    yield "sim-legacy-wrap", sim_legacy(bytes(buf), 160, len(recs))
    # a walk that never meets next: it wraps until its bound
    yield "sim-legacy-loop", sim_legacy(legacy_record(b"loop").ljust(64, b"\0"), 0, 40)
    # dictionaries ending at log_buf's very end: the last record ends it,
    # the walk starts there (first 24) and wraps to next 0
    pad = legacy_record(b"pad")
    for key in (b"SUBSYSTEM=", b"DEVICE="):
        name = key[:-1].lower().decode()
        for kind, rec in (("end", legacy_record(b"t", key, pad=False)),
                          # the dictionary's length stops before the '=' log_buf still has
                          ("short", legacy_record(b"t", key, dict_len=len(key) - 1, pad=False)),
                          ("noeq", legacy_record(b"t", key[:-1], pad=False)),
                          ("value", legacy_record(b"t", key + b"x", pad=False))):
            yield "sim-legacy-dict-%s-%s" % (kind, name), sim_legacy(pad + rec, len(pad), 0)
    # the same key twice: each value replaces the last
    rep = legacy_record(b"rep", b"SUBSYSTEM=a\0SUBSYSTEM=b\0DEVICE=c\0DEVICE=d")
    yield "sim-legacy-dict-repeated", sim_legacy(rep + bytes(32), 0, len(rep))
    yield "sim-legacy-huge-len", sim_legacy(recs, 0, 24, buf_len=1 << 30)

    # ELF dumps
    yield "elf-lockless", elf_lockless(4, 10, msgs)
    yield "elf-legacy", elf_legacy(recs + bytes(64), 0, len(recs))
    yield "elf-legacy-dict-end", elf_legacy(pad + legacy_record(b"t", b"DEVICE", pad=False) + b"=", len(pad), 0)
    yield "elf-legacy-dict-repeated", elf_legacy(rep + bytes(32), 0, len(rep))
    # other notes first (CORE, QEMU, an odd name size), then VMCOREINFO
    planted = (note(b"CORE", 1, bytes(336)) + note(b"QEMU", 0, bytes(0x1b8)) +
               note(b"VMCOREINF", 0, b"OSRELEASE=wrong\n"))
    yield "elf-notes", elf_lockless(4, 10, msgs, extra_notes=planted)
    # a note planted in RAM as the kernel keeps it (what the RAM scan finds)
    ram_note = note(b"VMCOREINFO", 0, LEGACY_INFO.encode())
    yield "elf-ram-note", elf_legacy(recs + bytes(32), 0, len(recs), loads=[(0x100000, bytes(100) + ram_note)])
    # a note whose size runs past its segment
    yield "elf-note-too-long", elf(struct.pack("<III", 11, 0xFFFFFFF0, 0) + b"VMCOREINFO\0\0", [])
    # one page of log_buf shown 64 times by aliasing PT_LOADs, a walk that
    # never meets its next index: 256 KiB of records from 4 KiB of dump
    symbols = struct.pack("<QIII", ARRAYS, 1 << 18, 0, 4).ljust(4096, b"\0")
    yield "elf-aliased-loads", elf(note(b"VMCOREINFO", 0, LEGACY_INFO.encode()),
                                   [(phys(SYMBOLS), symbols), (phys(ARRAYS), recs.ljust(4096, b"\0"))] +
                                   [(phys(ARRAYS) + 4096 * k, 4096, 4096) for k in range(1, 64)])


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: make-gmem-crafted.py DIR")
    os.makedirs(sys.argv[1], exist_ok=True)
    for name, data in seeds():
        with open(os.path.join(sys.argv[1], name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
