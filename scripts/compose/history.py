#!/usr/bin/env python3
"""Slot-grid analysis of stored samples, for scripts/compose-smoke.sh.

Reads `target_id|slot|prober` lines (psql -At) on stdin: the samples of the given targets with
slot in [--from, --to]. Every target probes on the grid offset + k * interval, where the offset is
the low 64 bits of its id modulo the interval (shared/domain/src/schedule.rs). Prints one JSON
object: for each target the slots the grid expects in the window, those present, those missing
(outside any --allow window of that target), those missing inside one, and samples off the grid.

  --allow TARGET:FROM_MS:TO_MS   slots of TARGET in (FROM, TO] may be missing (a documented
                                 take-over window); repeatable
"""

import argparse
import json
import sys
import uuid


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--interval-ms", type=int, required=True)
    parser.add_argument("--from", dest="start", type=int, required=True)
    parser.add_argument("--to", dest="end", type=int, required=True)
    parser.add_argument("--target", action="append", default=[], help="a target that must be there")
    parser.add_argument("--allow", action="append", default=[])
    args = parser.parse_args()

    interval = args.interval_ms
    allowed = {}
    for spec in args.allow:
        target, low, high = spec.split(":")
        allowed.setdefault(target, []).append((int(low), int(high)))

    present = {target: {} for target in args.target}
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        target, slot, prober = line.split("|")
        present.setdefault(target, {})
        slots = present[target]
        slots[int(slot)] = slots.get(int(slot), 0) + 1

    report = {"targets": {}, "expected": 0, "present": 0, "missing": 0, "missing_allowed": 0,
              "off_grid": 0, "repeated": 0, "largest_gap_ms": 0}
    for target, slots in sorted(present.items()):
        offset = (uuid.UUID(target).int & (2**64 - 1)) % interval
        first = args.start + (offset - args.start) % interval
        expected = list(range(first, args.end + 1, interval))
        missing, missing_allowed = [], []
        for slot in expected:
            if slot in slots:
                continue
            windows = allowed.get(target, [])
            (missing_allowed if any(low < slot <= high for low, high in windows) else missing).append(slot)
        off_grid = [slot for slot in slots if (slot - offset) % interval != 0]
        repeated = sum(count - 1 for count in slots.values())
        on_grid = sorted(slot for slot in slots if (slot - offset) % interval == 0)
        gaps = [b - a - interval for a, b in zip(on_grid, on_grid[1:])]
        largest = max(gaps, default=0)
        report["targets"][target] = {
            "expected": len(expected), "present": len(on_grid), "missing": missing,
            "missing_allowed": len(missing_allowed), "off_grid": len(off_grid), "repeated": repeated,
            "largest_gap_ms": largest,
        }
        report["expected"] += len(expected)
        report["present"] += len(on_grid)
        report["missing"] += len(missing)
        report["missing_allowed"] += len(missing_allowed)
        report["off_grid"] += len(off_grid)
        report["repeated"] += repeated
        report["largest_gap_ms"] = max(report["largest_gap_ms"], largest)
    json.dump(report, sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
