#!/usr/bin/env python3
"""Writes one go-fuzz seed file: fuzzseed.py DIR NAME < bytes."""
import json, os, sys

d, name = sys.argv[1], sys.argv[2]
data = sys.stdin.buffer.read()
os.makedirs(d, exist_ok=True)
# Go accepts a JSON string of the bytes as a []byte literal when every byte
# is ASCII; otherwise spell each byte in \x form.
if all(b < 0x80 for b in data):
    lit = json.dumps(data.decode())
else:
    lit = '"' + "".join("\\x%02x" % b for b in data) + '"'
with open(os.path.join(d, name), "w") as f:
    f.write("go test fuzz v1\n[]byte(%s)\n" % lit)
