"""What Python's str.lower does with each Unicode scalar value, one line per value where it does
anything, in the same form as rust_lower.rs: `<hex>\t<lowercase, hex, space-separated>\t<role>`
(role: `cased` when Σ after it is final, `ignorable` when Σ after `A` and it still is, else `-`).
Run with Python 3.11 (unicodedata 14.0.0), the Python SDK's runtime; see generate.sh.
"""

import sys
import unicodedata


def main():
    out = [f"# python {sys.version.split()[0]} unicodedata {unicodedata.unidata_version}\n"]
    for cp in range(0x110000):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        c = chr(cp)
        lower = c.lower()
        if (c + "\u03a3").lower().endswith("\u03c2"):
            role = "cased"
        elif ("A" + c + "\u03a3").lower().endswith("\u03c2"):
            role = "ignorable"
        else:
            role = "-"
        if lower != c or role != "-":
            out.append(f"{cp:04X}\t{' '.join(f'{ord(l):04X}' for l in lower)}\t{role}\n")
    sys.stdout.write("".join(out))


if __name__ == "__main__":
    main()
