#!/usr/bin/env python3
"""Generates contrib/php/src/Client.php, faed's lean PHP client, from
idl/fun.thrift.

Usage: phpclient.py IDL OUT

The client speaks the same wire as the Thrift-generated FunServantClient
(framed transport, strict binary protocol) but encodes each call with one
string expression per method and decodes replies with a small reader, so a
call costs PHP a few microseconds instead of the generated stack's dozens.
Only the IDL's own shapes are supported: structs and exceptions of base
types, lists and maps, and one service.
"""
import re
import sys

TYPE_IDS = {"bool": 2, "byte": 3, "i8": 3, "double": 4, "i16": 6, "i32": 8, "i64": 10,
            "string": 11, "binary": 11}
STRUCT, MAP, LIST = 12, 13, 15
OPTIONAL = set()  # (field id, name) of optional struct fields
PACK_FORMATS = {"i32": "N", "i64": "J", "i16": "n", "byte": "c", "i8": "c", "double": "E"}  # big-endian


def strip_comments(src):
    src = re.sub(r"/\*.*?\*/", "", src, flags=re.S)
    return re.sub(r"//[^\n]*|#[^\n]*", "", src)


def parse_type(t):
    t = t.strip()
    m = re.fullmatch(r"list\s*<(.*)>", t)
    if m:
        return ("list", parse_type(m.group(1)))
    m = re.fullmatch(r"map\s*<(.*)>", t)
    if m:
        inner, depth = m.group(1), 0
        for i, c in enumerate(inner):
            depth += c == "<"
            depth -= c == ">"
            if c == "," and depth == 0:
                return ("map", parse_type(inner[:i]), parse_type(inner[i + 1:]))
        raise ValueError("bad map type " + t)
    if t in TYPE_IDS or t == "void":
        return (t,)
    return ("struct", t)


def split_fields(s):
    parts, depth, cur = [], 0, ""
    for c in s:
        depth += c in "<("
        depth -= c in ">)"
        if c in ",\n;" and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += c
    parts.append(cur)
    fields = []
    for p in parts:
        p = p.strip()
        if not p:
            continue
        m = re.fullmatch(r"(\d+)\s*:\s*(required\s+|optional\s+)?(.+?)\s+(\w+)", p, re.S)
        if not m:
            raise ValueError("bad field: " + p)
        fields.append((int(m.group(1)), parse_type(m.group(3)), m.group(4)))
        if (m.group(2) or "").strip() == "optional":
            OPTIONAL.add((int(m.group(1)), m.group(4)))
    return fields


def parse(src):
    src = strip_comments(src)
    ns = re.search(r"namespace\s+php\s+([\w.]+)", src).group(1).replace(".", "\\")
    structs = {}
    for kind, name, body in re.findall(r"(struct|exception)\s+(\w+)\s*\{(.*?)\}", src, re.S):
        structs[name] = (kind, split_fields(body))
    svc = re.search(r"service\s+(\w+)\s*\{(.*)\}", src, re.S)
    methods = []
    for m in re.finditer(r"([\w<>, ]+?)\s+(\w+)\s*\(([^)]*)\)\s*(?:throws\s*\(([^)]*)\))?", svc.group(2)):
        methods.append((m.group(2), parse_type(m.group(1)), split_fields(m.group(3)),
                        split_fields(m.group(4) or "")))
    return ns, svc.group(1), structs, methods


def type_id(t):
    if t[0] == "struct":
        return STRUCT
    if t[0] == "list":
        return LIST
    if t[0] == "map":
        return MAP
    return TYPE_IDS[t[0]]


def mangle(t):
    return "_".join(mangle(x) if isinstance(x, tuple) else x for x in t)


class Gen:
    def __init__(self, ns, structs):
        self.ns, self.structs, self.writers = ns, structs, {}

    def value(self, t, v):
        """A PHP expression encoding value v (never null) of type t."""
        k = t[0]
        if k in ("string", "binary"):
            # most strings are short: their length's four bytes from a table
            return f"(self::U32[strlen({v})] ?? pack('N', strlen({v}))) . {v}"
        if k in PACK_FORMATS:
            return f"pack('{PACK_FORMATS[k]}', {v})"
        if k == "bool":
            return f"({v} ? \"\\x01\" : \"\\x00\")"
        if t == ("struct", "Context"):  # the same one, call after call
            self.writers["w_struct_Context"] = t
            return (f"($this->cx === {v} && {v}->rid === $this->cxRid && {v}->reason === $this->cxReason"
                    f" && {v}->uid === $this->cxUid && {v}->sticky === null ? $this->cxBytes : $this->context({v}))")
        name = "w_" + mangle(t)
        self.writers[name] = t
        return f"self::{name}({v})"

    def field(self, fid, t, v):
        """A PHP expression for field fid, or '' when v is null (absent)."""
        head = "\"\\x%02x\\x%02x\\x%02x\"" % (type_id(t), fid >> 8, fid & 0xff)
        return f"({v} === null ? '' : {head} . {self.value(t, v)})"

    def writer(self, name, t):
        k = t[0]
        if k == "struct":
            fields = self.structs[t[1]][1]
            parts = [self.field(fid, ft, f"$o->{fn}") for fid, ft, fn in fields]
            return (f"    private static function {name}($o): string\n    {{\n"
                    f"        return " + "\n            . ".join(parts + ['"\\x00"']) + ";\n    }\n")
        if k == "list":
            e = t[1]
            return (f"    private static function {name}($l): string\n    {{\n"
                    f"        $b = pack('CN', {type_id(e)}, count($l));\n"
                    f"        foreach ($l as $v) {{\n            $b .= {self.value(e, '$v')};\n        }}\n"
                    f"        return $b;\n    }}\n")
        if k == "map":
            kt, vt = t[1], t[2]
            return (f"    private static function {name}($m): string\n    {{\n"
                    f"        $b = pack('CCN', {type_id(kt)}, {type_id(vt)}, count($m));\n"
                    f"        foreach ($m as $k => $v) {{\n"
                    f"            $b .= {self.value(kt, '$k')} . {self.value(vt, '$v')};\n        }}\n"
                    f"        return $b;\n    }}\n")
        raise ValueError(t)

    def assign(self, fid, t, an, var):
        """Statements setting var to field fid's bytes ('' when absent)."""
        v = "$" + an
        head = "\\x%02x\\x%02x\\x%02x" % (type_id(t), fid >> 8, fid & 0xff)
        if t[0] == "list" and t[1][0] in ("string", "binary"):
            # inlined: a list of strings is on most calls (rd_call, my_query)
            return (f"        if ({v} === null) {{\n            {var} = '';\n        }} else {{\n"
                    f"            {var} = \"{head}\\x0b\" . (self::U32[count({v})] ?? pack('N', count({v})));\n"
                    f"            foreach ({v} as $el) {{\n"
                    f"                {var} .= (self::U32[strlen($el)] ?? pack('N', strlen($el))) . $el;\n"
                    f"            }}\n        }}\n")
        return f"        {var} = {v} === null ? '' : \"{head}\" . {self.value(t, v)};\n"

    def method(self, name, ret, args, throws):
        params = ", ".join("$" + a[2] for a in args)
        if ret[0] == "void":
            result = "null"
        elif ret[0] == "struct":
            result = "'" + ("\\" + self.ns + "\\" + ret[1]).replace("\\", "\\\\") + "'"
        else:
            result = "true"
        exc = ", ".join(f"{fid} => '" + ("\\" + self.ns + "\\" + t[1]).replace("\\", "\\\\") + "'"
                        for fid, t, _ in throws)
        header = "\\x%02x\\x%02x\\x%02x\\x%02x" % tuple(len(name).to_bytes(4, "big")) + name
        encode = "".join(self.assign(fid, t, an, f"$f{fid}") for fid, t, an in args)
        rope = "".join("{$f%d}" % fid for fid, _, _ in args) + "\\x00"
        call = f"$this->call(\"{header}\", \"{rope}\", {result}, [{exc}])"
        if not any(a[2] == "sql" for a in args):
            return f"    public function {name}({params})\n    {{\n{encode}        return {call};\n    }}\n"
        # Statements may open or end the session's transaction: see txEffect.
        return (f"    public function {name}({params})\n    {{\n{encode}"
                f"        $tx = $sql === null ? 0 : self::txEffect($sql);\n"
                f"        $this->inTx = $this->inTx || $tx > 0;\n"
                f"        $r = {call};\n"
                f"        $this->inTx = $this->inTx && $tx >= 0;\n"
                f"        return $r;\n    }}\n")


def u32_table():
    rows = []
    for i in range(0, 256, 8):
        rows.append("        " + " ".join('"\\x00\\x00\\x00\\x%02x",' % j for j in range(i, i + 8)))
    return "\n".join(rows)


def struct_names(ns, structs):
    lines = []
    for name, (_, fields) in sorted(structs.items()):
        fq = ("\\" + ns + "\\" + name).replace("\\", "\\\\")
        names = ", ".join(f"{fid} => '{fn}'" for fid, _, fn in fields)
        lines.append(f"        '{fq}' => [{names}],")
    return "\n".join(lines)


def main():
    idl, out = sys.argv[1:]
    ns, service, structs, methods = parse(open(idl).read())
    g = Gen(ns, structs)
    bodies = [g.method(*m) for m in methods]
    done, writers = set(), []
    while set(g.writers) - done:  # writers may ask for more writers
        for name in sorted(set(g.writers) - done):
            writers.append(g.writer(name, g.writers[name]))
            done.add(name)
    template = open(__file__.replace("phpclient.py", "phpclient.php.in")).read()
    code = (template.replace("@NS@", ns).replace("@SERVICE@", service)
            .replace("@STRUCTS@", struct_names(ns, structs))
            .replace("@U32@", u32_table())
            .replace("@METHODS@", "\n".join(bodies).rstrip("\n"))
            .replace("@WRITERS@", "\n".join(writers).rstrip("\n")))
    open(out, "w").write(code)


if __name__ == "__main__":
    main()
